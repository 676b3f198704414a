"""Lock files and Pipfiles: ``poetry.lock``, ``uv.lock``, ``pylock.toml`` (PEP 751),
``Pipfile.lock`` and ``Pipfile``.

A lock file pins every package, so each one can be checked; a package locked from a
VCS, a URL or a local folder cannot. The project's own packages (uv's editable and
virtual members) are not dependencies and are left out.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from dozor.findings import Location
from dozor.scan.deps.model import (
    MAX_DEPENDENCIES,
    Dependency,
    LineIndex,
    ParseProblem,
    ParseResult,
    redact,
    specifier,
    valid_version,
    with_specifier,
)
from dozor.scan.deps.pyproject import toml_problem


def _load_toml(text: str, what: str) -> tuple[dict[str, Any] | None, list[ParseProblem]]:
    try:
        return tomllib.loads(text), []
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        return None, [toml_problem(what, exc, text)]


def _locked(name: str, version: object, loc: Location, unchecked: str = "") -> Dependency:
    if unchecked:
        return Dependency(name, loc, name, unchecked=unchecked)
    if not isinstance(version, str) or not version:
        return Dependency(name, loc, name, unchecked="locked without a version")
    if not valid_version(version):
        return Dependency(name, loc, f"{name} {version}",
                          unchecked=f"version {version!r} is not a PEP 440 version")
    return Dependency(name, loc, f"{name}=={version}", version=version)


def _entries(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = doc.get(key)
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)][
        :MAX_DEPENDENCIES
    ]


def _malformed(what: str, doc: dict[str, Any], key: str) -> list[ParseProblem]:
    items = doc.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        return [ParseProblem(f"{what}: [[{key}]] is not a list of tables")]
    bad = sum(1 for i in items if not (isinstance(i, dict) and isinstance(i.get("name"), str)))
    return [ParseProblem(f"{what}: {bad} [[{key}]] entries have no name", None, bad)] if bad \
        else []


_SOURCE_KINDS = {"git": "a VCS URL", "url": "a URL", "path": "a local path",
                 "directory": "a local folder", "file": "a local file", "vcs": "a VCS URL",
                 "archive": "an archive URL or file"}


def parse_poetry_lock(text: str, location: Location) -> ParseResult:
    doc, problems = _load_toml(text, "poetry.lock")
    if doc is None:
        return [], problems
    lines = LineIndex(text)
    deps = []
    for pkg in _entries(doc, "package"):
        name = pkg["name"]
        loc = location.at(line=lines.find(f'name = "{name}"'))
        source = pkg.get("source")
        kind = source.get("type") if isinstance(source, dict) else None
        unchecked = f"locked from {_SOURCE_KINDS[kind]}" if kind in _SOURCE_KINDS else ""
        deps.append(_locked(name, pkg.get("version"), loc, unchecked))
    return deps, problems + _malformed("poetry.lock", doc, "package")


def parse_uv_lock(text: str, location: Location) -> ParseResult:
    doc, problems = _load_toml(text, "uv.lock")
    if doc is None:
        return [], problems
    lines = LineIndex(text)
    deps = []
    for pkg in _entries(doc, "package"):
        name = pkg["name"]
        loc = location.at(line=lines.find(f'name = "{name}"'))
        source = pkg.get("source") if isinstance(pkg.get("source"), dict) else {}
        assert isinstance(source, dict)
        if "editable" in source or "virtual" in source:
            continue  # a member of the project itself
        kind = next((k for k in ("git", "url", "path", "directory") if k in source), None)
        unchecked = f"locked from {_SOURCE_KINDS[kind]}" if kind else ""
        deps.append(_locked(name, pkg.get("version"), loc, unchecked))
    return deps, problems + _malformed("uv.lock", doc, "package")


def parse_pylock(text: str, location: Location) -> ParseResult:
    doc, problems = _load_toml(text, "pylock.toml")
    if doc is None:
        return [], problems
    lines = LineIndex(text)
    deps = []
    for pkg in _entries(doc, "packages"):
        name = pkg["name"]
        loc = location.at(line=lines.find(f'name = "{name}"'))
        kind = next((k for k in ("vcs", "directory", "archive") if k in pkg), None)
        unchecked = f"locked from {_SOURCE_KINDS[kind]}" if kind else ""
        deps.append(_locked(name, pkg.get("version"), loc, unchecked))
    return deps, problems + _malformed("pylock.toml", doc, "packages")


def parse_pipfile_lock(text: str, location: Location) -> ParseResult:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        return [], [ParseProblem(f"Pipfile.lock is not valid JSON: {str(exc)[:160]}", line)]
    if not isinstance(doc, dict):
        return [], [ParseProblem("Pipfile.lock is not a JSON object", 1)]
    lines = LineIndex(text)
    deps: list[Dependency] = []
    for section, packages in doc.items():
        if section == "_meta" or not isinstance(packages, dict):
            continue
        for name, entry in packages.items():
            if len(deps) >= MAX_DEPENDENCIES:
                break
            loc = location.at(line=lines.find(f'"{name}": {{', f'"{name}"'))
            if not isinstance(entry, dict):
                deps.append(_locked(name, None, loc))
                continue
            kind = next((k for k in ("git", "path", "file") if k in entry), None)
            if kind:
                deps.append(_locked(name, None, loc, f"locked from {_SOURCE_KINDS[kind]}"))
                continue
            version = entry.get("version")
            if isinstance(version, str) and version.startswith("=="):
                version = version[2:]
            deps.append(_locked(name, version, loc))
    return deps, []


_PIPFILE_TABLES_NOT_PACKAGES = {"source", "requires", "scripts", "pipenv"}


def parse_pipfile(text: str, location: Location) -> ParseResult:
    doc, problems = _load_toml(text, "Pipfile")
    if doc is None:
        return [], problems
    lines = LineIndex(text)
    deps: list[Dependency] = []
    bad: list[int | None] = []
    for table, packages in doc.items():
        if table in _PIPFILE_TABLES_NOT_PACKAGES or not isinstance(packages, dict):
            continue
        for name, value in packages.items():
            if len(deps) >= MAX_DEPENDENCIES:
                break
            loc = location.at(line=lines.find(f"\n{name} =", f'\n"{name}" =', f"\n{name}="))
            shown = f"{name} = {redact(str(value))[:200]}"
            entry = value if isinstance(value, dict) else {"version": value}
            kind = next((k for k in ("git", "path", "file") if k in entry), None)
            if kind:
                deps.append(Dependency(name, loc, shown,
                                       unchecked=f"installed from {_SOURCE_KINDS[kind]}"))
                continue
            version = entry.get("version", "*")
            if not isinstance(version, str):
                bad.append(loc.line)
                continue
            version = version.strip()
            if version in ("", "*"):
                deps.append(Dependency(name, loc, shown))
                continue
            spec = specifier(version if not valid_version(version) else f"=={version}")
            if spec is None:
                deps.append(Dependency(name, loc, shown,
                                       unchecked=f"the version {version!r} cannot be read"))
                continue
            deps.append(with_specifier(name, spec, loc, shown))
    if bad:
        problems.append(ParseProblem(f"Pipfile: {len(bad)} package entries cannot be read",
                                     bad[0], len(bad)))
    return deps, problems
