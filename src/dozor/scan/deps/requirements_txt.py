"""pip requirements files: ``requirements*.txt``, ``*.in`` and constraints files.

Handled as pip reads them: ``\\`` line continuations, ``#`` comments, ``-r``/``-c``
includes relative to the including file (followed on disk up to `MAX_DEPTH` levels and
`MAX_FILES` files), ``-e`` editable installs, per-requirement options such as
``--hash``, PEP 508 requirements with extras and markers, and bare URLs, VCS links,
archives and local paths. A ``-c`` constraint pins a requirement that the file itself
leaves open. Nothing is fetched: a URL include is reported as not followed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from dozor.findings import Location
from dozor.scan.base import printable
from dozor.scan.deps.model import (
    MAX_DEPENDENCIES,
    MAX_TEXT,
    Dependency,
    ParseProblem,
    ParseResult,
    from_pep508,
    redact,
)

MAX_DEPTH = 5
"""Nested ``-r``/``-c`` includes followed."""
MAX_FILES = 64
"""Files read through includes from one top-level file."""

_COMMENT = re.compile(r"(^|\s+)#.*$")
_OPTION = re.compile(r"^(--[A-Za-z][\w-]*|-[A-Za-z])(?:=|\s+)?(.*)$")
# options that may follow a requirement on its line: --hash=..., --config-settings ...
_TRAILING_OPTION = re.compile(r"\s--?[A-Za-z]")
_URLISH = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|/|\\)|^[A-Za-z]:[\\/]")
_ARCHIVE = re.compile(r"\.(whl|zip|tar\.gz|tgz|tar\.bz2|tar\.xz|tar)$", re.I)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_INCLUDE = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each line after joining ``\\`` continuations."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = number
        if raw.endswith("\\") and not raw.lstrip().startswith("#"):
            buf.append(raw[:-1])
            continue
        buf.append(raw)
        out.append((start, "".join(buf)))
        buf = []
    if buf:
        out.append((start, "".join(buf)))
    return out


@dataclass
class _State:
    files: set[str] = field(default_factory=set)
    count: int = 0


def _name_of_target(target: str) -> str:
    """A package name for a URL, archive or path requirement, for the report."""
    egg = _EGG.search(target)
    if egg:
        return egg.group(1)
    base = re.split(r"[#?]", target)[0].rstrip("/\\")
    base = re.split(r"[/\\]", base)[-1] or target
    if _ARCHIVE.search(base):
        return re.split(r"-\d", base, maxsplit=1)[0]  # dist-1.0.tar.gz, dist-1.0-py3-none-any.whl
    return base.removesuffix(".git")


class RequirementsReader:
    """Reads one requirements file and what it includes."""

    def __init__(self, location: Location, disk_path: str | None) -> None:
        self.top = location
        self.disk_path = disk_path
        self.state = _State()
        self.deps: list[Dependency] = []
        self.constraints: dict[str, Dependency] = {}
        self.problems: list[ParseProblem] = []

    def read(self, text: str) -> ParseResult:
        if self.disk_path:
            self.state.files.add(os.path.realpath(self.disk_path))
        self._read(text, self.top, self.disk_path, depth=0, constraint=False)
        deps = [self._constrained(d) for d in self.deps]
        return deps, self.problems

    def _constrained(self, dep: Dependency) -> Dependency:
        pin = self.constraints.get(dep.key)
        if dep.version is not None or dep.unchecked or pin is None or pin.version is None:
            return dep
        return Dependency(dep.name, dep.location,
                          f"{dep.text} (pinned to {pin.version} by {pin.location})",
                          version=pin.version, marker=dep.marker)

    def _read(self, text: str, where: Location, disk: str | None, *, depth: int,
              constraint: bool) -> None:
        bad: list[int] = []
        for number, raw in logical_lines(text):
            line = _COMMENT.sub("", raw).strip()
            if not line:
                continue
            if self.state.count >= MAX_DEPENDENCIES:
                self.problems.append(ParseProblem(
                    f"more than {MAX_DEPENDENCIES} requirements; the rest were not read", number))
                return
            loc = where.at(line=number)
            if line.startswith("-"):
                self._option(line, loc, disk, depth)
                continue
            dep = self._requirement(line, loc)
            if dep is None:
                bad.append(number)
                continue
            self.state.count += 1
            if constraint:
                if dep.version is not None:
                    self.constraints.setdefault(dep.key, dep)
            else:
                self.deps.append(dep)
        if bad:
            first = bad[0]
            shown = ""
            if depth == 0:  # show text only from the file being scanned, not from includes
                shown = ": " + printable(logical_text(text, first), 100)
            more = f" ({len(bad)} such lines)" if len(bad) > 1 else ""
            self.problems.append(ParseProblem(
                f"line {first} is not a requirement{more}{shown}", first, len(bad),
                where if depth else None))

    def _requirement(self, line: str, loc: Location) -> Dependency | None:
        cut = _TRAILING_OPTION.search(line)
        req = (line[: cut.start()] if cut else line).strip()
        if not req:
            return None
        shown = redact(req)
        if "${" in req:
            name = re.split(r"[^A-Za-z0-9._-]", req, maxsplit=1)[0] or shown
            return Dependency(name, loc, shown, unchecked="the version comes from an "
                              "environment variable")
        if _URLISH.match(req) or req.startswith((".", "/", "~")) or (
            _ARCHIVE.search(req.split(";")[0].strip()) and "@" not in req
        ):
            kind = "a VCS URL" if re.match(r"^(git|hg|svn|bzr)\+", req) else (
                "a URL" if "://" in req else "a local path or archive")
            return Dependency(_name_of_target(req.split(";")[0].strip()), loc, shown,
                              unchecked=f"installed from {kind}")
        return from_pep508(req, loc)

    def _option(self, line: str, loc: Location, disk: str | None, depth: int) -> None:
        match = _OPTION.match(line)
        if not match:
            return
        opt, arg = match.group(1), match.group(2).strip()
        if opt in ("-e", "--editable"):
            shown = redact(arg)
            self.deps.append(Dependency(_name_of_target(arg) if arg else "?", loc, shown,
                                        unchecked="an editable install from a path or VCS"))
            self.state.count += 1
        elif opt in _INCLUDE and arg:
            self._include(arg, loc, disk, depth, constraint=_INCLUDE[opt])
        # index, binary and hash-checking options do not name packages

    def _include(self, arg: str, loc: Location, disk: str | None, depth: int, *,
                 constraint: bool) -> None:
        what = "constraints" if constraint else "requirements"
        shown = redact(arg)

        def not_followed(why: str) -> None:
            self.deps.append(Dependency(shown, loc, f"{'-c' if constraint else '-r'} {shown}",
                                        unchecked=f"the included {what} file {why}"))

        if "://" in arg:
            not_followed("is a URL, and dozor works offline")
            return
        if disk is None:
            not_followed("was not read: the including file is not on disk")
            return
        if depth + 1 > MAX_DEPTH:
            not_followed(f"was not read: includes nest deeper than {MAX_DEPTH}")
            return
        target = os.path.join(os.path.dirname(disk), os.path.expanduser(arg))
        real = os.path.realpath(target)
        if real in self.state.files:
            return  # already read: an include cycle or a diamond
        if len(self.state.files) >= MAX_FILES:
            not_followed(f"was not read: more than {MAX_FILES} files are included")
            return
        if not os.path.isfile(real):
            not_followed("was not found")
            return
        try:
            if os.path.getsize(real) > MAX_TEXT:
                not_followed(f"was not read: it is larger than {MAX_TEXT >> 20} MiB")
                return
            with open(real, "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
        except OSError as exc:
            not_followed(f"could not be read ({exc.strerror or exc})")
            return
        self.state.files.add(real)
        shown_path = os.path.normpath(os.path.join(os.path.dirname(loc.path), arg)) \
            if not os.path.isabs(arg) else arg
        self._read(text, Location(shown_path), target, depth=depth + 1, constraint=constraint)


def logical_text(text: str, number: int) -> str:
    for start, line in logical_lines(text):
        if start == number:
            return line.strip()
    return ""


def parse_requirements(text: str, location: Location, disk_path: str | None = None
                       ) -> ParseResult:
    """Dependencies declared in requirements-file `text`; `disk_path` (the file on disk,
    if it is one) lets ``-r``/``-c`` includes be followed."""
    return RequirementsReader(location, disk_path).read(text)
