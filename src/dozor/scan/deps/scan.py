"""The ``deps`` format handler: audit one dependency file against the advisory database.

The engine routes requirements files, ``pyproject.toml``, ``setup.cfg``, lock files and
Pipfiles here by name (`dozor.scan.sniff.text_kinds`). The database loads only when a
file declares something that can be checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from dozor.findings import Finding, Location
from dozor.scan.base import Blob, ScanContext
from dozor.scan.deps import audit
from dozor.scan.deps.locks import (
    parse_pipfile,
    parse_pipfile_lock,
    parse_poetry_lock,
    parse_pylock,
    parse_uv_lock,
)
from dozor.scan.deps.model import MAX_TEXT, ParseProblem, ParseResult
from dozor.scan.deps.pyproject import parse_pyproject, parse_setup_cfg
from dozor.scan.deps.requirements_txt import parse_requirements

Parser = Callable[[str, Location], ParseResult]

_BY_NAME: dict[str, Parser] = {
    "pyproject.toml": parse_pyproject,
    "setup.cfg": parse_setup_cfg,
    "poetry.lock": parse_poetry_lock,
    "uv.lock": parse_uv_lock,
    "pylock.toml": parse_pylock,
    "pipfile.lock": parse_pipfile_lock,
    "pipfile": parse_pipfile,
}


def parse_dependency_file(name: str, text: str, location: Location,
                          disk_path: str | None = None) -> ParseResult:
    """Dependencies declared in a file, chosen by its name (requirements format when the
    name is none of the known project and lock files)."""
    low = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if low.startswith("pylock.") and low.endswith(".toml"):
        low = "pylock.toml"  # PEP 751 allows pylock.<name>.toml
    parser = _BY_NAME.get(low)
    try:
        if parser is not None:
            return parser(text, location)
        return parse_requirements(text, location, disk_path)
    except RecursionError:
        return [], [ParseProblem("the file nests too deeply to be read")]


def scan_dependency_file(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Findings DZ-DEP-001..006 for one dependency file."""
    if blob.size > MAX_TEXT:
        yield audit.cannot_parse(ParseProblem(
            f"the file is larger than {MAX_TEXT >> 20} MiB and was not read"), blob.location)
        return
    text = bytes(blob.data).decode("utf-8", "replace").removeprefix("\ufeff")
    path = blob.location.path
    disk = path if not blob.location.members and os.path.isfile(path) else None
    deps, problems = parse_dependency_file(blob.name or path, text, blob.location, disk)
    for problem in problems:
        yield audit.cannot_parse(problem, blob.location)
    db = None
    if any(not d.unchecked for d in deps):
        from dozor.scan.deps.database import AdvisorySourceError, load_database

        try:
            db = load_database(ctx.options.get("advisory_db") or None)
        except AdvisorySourceError as exc:
            yield audit.database_unreadable(str(exc), blob.location)
    for f in audit.audit(deps, db):
        ctx.check_time()
        yield f
    if db is not None:
        yield audit.database_used(db, blob.location)
