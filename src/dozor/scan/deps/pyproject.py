"""Declared dependencies in ``pyproject.toml`` and ``setup.cfg``.

``pyproject.toml``: ``[project]`` dependencies and optional-dependencies, PEP 735
``[dependency-groups]``, ``[tool.poetry]`` dependencies, dev-dependencies and groups
(caret, tilde and wildcard constraints are read as PEP 440 ranges), and the
development lists of uv and PDM. ``setup.cfg``: ``[options] install_requires`` and
``[options.extras_require]``. Build requirements are not audited.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from typing import Any

from packaging.specifiers import SpecifierSet

from dozor.findings import Location
from dozor.scan.deps.model import (
    MAX_DEPENDENCIES,
    Dependency,
    LineIndex,
    ParseProblem,
    ParseResult,
    from_pep508,
    redact,
    specifier,
    valid_version,
)
from dozor.scan.deps.osv import normalise

_TOML_LINE = re.compile(r"line (\d+)")


def toml_problem(what: str, exc: Exception, text: str) -> ParseProblem:
    match = _TOML_LINE.search(str(exc))
    if match:
        line: int | None = int(match.group(1))
    elif "end of document" in str(exc):
        line = text.count("\n") + (0 if text.endswith("\n") else 1)
    else:
        line = None
    return ParseProblem(f"{what} is not valid TOML: {str(exc)[:160]}", line)


class _Collector:
    def __init__(self, text: str, location: Location, own_name: str = "") -> None:
        self.lines = LineIndex(text)
        self.location = location
        self.own = normalise(own_name) if own_name else ""
        self.deps: list[Dependency] = []
        self.problems: list[ParseProblem] = []
        self.bad = 0
        self.first_bad: int | None = None

    def at(self, *needles: str) -> Location:
        return self.location.at(line=self.lines.find(*needles))

    def pep508(self, items: object, section: str) -> None:
        if not isinstance(items, list):
            return
        for item in items:
            if len(self.deps) >= MAX_DEPENDENCIES:
                return
            if isinstance(item, dict):
                continue  # {include-group = "..."}: the group is read on its own
            if not isinstance(item, str):
                self._bad(None)
                continue
            loc = self.at(f'"{item}"', f"'{item}'")
            dep = from_pep508(item, loc)
            if dep is None:
                self._bad(loc.line)
            elif dep.key != self.own:  # "mypkg[extra]" refers to the project itself
                self.deps.append(dep)

    def _bad(self, line: int | None) -> None:
        self.bad += 1
        if self.first_bad is None:
            self.first_bad = line

    def finish(self, what: str) -> ParseResult:
        if self.bad:
            self.problems.append(ParseProblem(
                f"{what}: {self.bad} entr{'y is' if self.bad == 1 else 'ies are'} not "
                "PEP 508 requirements", self.first_bad, self.bad))
        return self.deps, self.problems


def parse_pyproject(text: str, location: Location) -> ParseResult:
    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        return [], [toml_problem("pyproject.toml", exc, text)]
    project = _table(doc, "project")
    tool = _table(doc, "tool")
    poetry = _table(tool, "poetry")
    own = project.get("name") or poetry.get("name")
    own = own if isinstance(own, str) else ""
    c = _Collector(text, location, own)
    c.pep508(project.get("dependencies"), "project.dependencies")
    for _, items in _table_items(project.get("optional-dependencies")):
        c.pep508(items, "project.optional-dependencies")
    for _, items in _table_items(doc.get("dependency-groups")):
        c.pep508(items, "dependency-groups")
    uv = tool.get("uv")
    if isinstance(uv, dict):
        c.pep508(uv.get("dev-dependencies"), "tool.uv.dev-dependencies")
    pdm = tool.get("pdm")
    if isinstance(pdm, dict):
        for _, items in _table_items(pdm.get("dev-dependencies")):
            c.pep508(items, "tool.pdm.dev-dependencies")
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    for _, group in _table_items(poetry.get("group")):
        if isinstance(group, dict):
            tables.append(group.get("dependencies"))
    for table in tables:
        for name, value in _table_items(table):
            if normalise(name) in ("python", c.own) or len(c.deps) >= MAX_DEPENDENCIES:
                continue
            dep = poetry_dependency(name, value, c.at(f"\n{name} =", f'\n"{name}" =',
                                                      f"\n{name}="))
            if dep is None:
                c._bad(c.at(f"\n{name} =").line)
            else:
                c.deps.append(dep)
    return c.finish("pyproject.toml")


def _table(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _table_items(table: object) -> list[tuple[str, Any]]:
    return list(table.items()) if isinstance(table, dict) else []


def poetry_ranges(text: str) -> list[SpecifierSet] | None:
    """A Poetry version constraint (``^1.2``, ``~1.2``, ``1.2.*``, ``>=1,<2 || 3.0``) as
    PEP 440 specifier sets, any of which may hold; None if it cannot be read."""
    out: list[SpecifierSet] = []
    for alternative in text.split("||"):
        parts: list[str] = []
        for token in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", alternative.strip()):
            token = token.replace(" ", "")
            if not token or token == "*":
                continue
            converted = _poetry_token(token)
            if converted is None:
                return None
            parts.extend(converted)
        spec = specifier(",".join(parts))
        if spec is None:
            return None
        out.append(spec)
    return out


def _poetry_token(token: str) -> list[str] | None:
    if token[0] in "^~" and not token.startswith("~="):
        base = token[1:]
        if not valid_version(base):
            return None
        release = [int(x) for x in re.findall(r"\d+", base.split("+")[0])[:4]] or [0]
        release = release[: len(base.split("."))]
        if token[0] == "^":
            i = next((k for k, v in enumerate(release) if v), len(release) - 1)
        else:
            i = 0 if len(release) == 1 else 1
        upper = [*release[:i], release[i] + 1]
        return [f">={base}", f"<{'.'.join(map(str, upper))}"]
    if token[0].isdigit():
        return [f"=={token}"]
    return [token]


def poetry_dependency(name: str, value: object, loc: Location) -> Dependency | None:
    """A Dependency from one entry of a Poetry dependencies table."""
    entries = value if isinstance(value, list) else [value]
    allowed: list[SpecifierSet] = []
    shown = f"{name} = {redact(str(value))[:200]}"
    for entry in entries:
        if isinstance(entry, str):
            entry = {"version": entry}
        if not isinstance(entry, dict):
            return None
        for key, kind in (("git", "a VCS URL"), ("path", "a local path"), ("url", "a URL")):
            if key in entry:
                return Dependency(name, loc, shown, unchecked=f"installed from {kind}")
        version = entry.get("version", "*")
        if not isinstance(version, str):
            return None
        ranges = poetry_ranges(version)
        if ranges is None:
            return Dependency(name, loc, shown,
                              unchecked=f"the constraint {version!r} cannot be read")
        allowed.extend(ranges)
    exact = _single_pin(allowed)
    if exact:
        return Dependency(name, loc, shown, version=exact)
    return Dependency(name, loc, shown, allowed=tuple(allowed))


def _single_pin(allowed: list[SpecifierSet]) -> str | None:
    if len(allowed) != 1:
        return None
    specs = list(allowed[0])
    if len(specs) == 1 and specs[0].operator in ("==", "===") and \
            not specs[0].version.endswith(".*"):
        return specs[0].version if valid_version(specs[0].version) else None
    return None


def parse_setup_cfg(text: str, location: Location) -> ParseResult:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        return [], [ParseProblem(f"setup.cfg cannot be read: {str(exc).splitlines()[0][:160]}",
                                 line if isinstance(line, int) else None)]
    c = _Collector(text, location, parser.get("metadata", "name", fallback=""))
    values: list[str] = []
    if parser.has_option("options", "install_requires"):
        values.append(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        values.extend(v for _, v in parser.items("options.extras_require"))
    for value in values:
        if value.strip().startswith("file:"):
            c.deps.append(Dependency(value.strip(), c.at(value.strip()), value.strip(),
                                     unchecked="the requirements are read from another file"))
            continue
        items = [s.split(" #")[0].strip() for s in value.splitlines()]
        c.pep508([s for s in items if s and not s.startswith("#")], "setup.cfg")
    return c.finish("setup.cfg")
