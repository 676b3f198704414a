"""What every dependency-file parser produces: `Dependency` records, or a `ParseProblem`.

A parser reads text only (tomllib, json, configparser, PEP 508 through `packaging`),
never runs a build backend or a setup script, and never raises on bad input: what it
cannot read becomes a `ParseProblem`, a requirement it cannot pin becomes a
`Dependency` with a reason it cannot be checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from dozor.findings import Location
from dozor.scan.deps.osv import normalise

MAX_TEXT = 32 << 20
"""Largest dependency file parsed (uv.lock files of big workspaces reach a few MiB)."""
MAX_DEPENDENCIES = 50_000
"""Dependencies kept from one file, includes counted."""


@dataclass(frozen=True)
class Dependency:
    """One declared or locked dependency."""

    name: str
    """The name as written."""
    location: Location
    """The file and line that declare it."""
    text: str
    """The requirement as written (credentials in URLs removed), for evidence."""
    version: str | None = None
    """The exact version it is pinned or locked to, if any."""
    allowed: tuple[SpecifierSet, ...] = ()
    """Version ranges it may take (any of them); empty with no version means any version."""
    unchecked: str = ""
    """Why it cannot be checked against advisories (a URL, a VCS or local source, a
    version that is not PEP 440); "" when it can."""
    marker: str = ""
    """Its PEP 508 environment marker, if any (not evaluated: the target is unknown)."""

    @property
    def key(self) -> str:
        return normalise(self.name)


@dataclass(frozen=True)
class ParseProblem:
    """The file, or a part of it, could not be read as what its name says."""

    message: str
    line: int | None = None
    count: int = 1
    """How many lines or entries had this problem."""
    where: Location | None = None
    """The file it is in, when that is not the file being scanned (an include)."""


ParseResult = tuple[list[Dependency], list[ParseProblem]]

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    """`text` without the user and password part of URLs (``https://tok@host``)."""
    return _USERINFO.sub("***@", text)


def is_exact(spec: SpecifierSet) -> str | None:
    """The one version `spec` pins (``==1.2`` or ``===1.2``), or None."""
    for s in spec:
        if s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*")):
            return s.version
    return None


def valid_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def from_pep508(text: str, location: Location, *, allow_url: bool = True) -> Dependency | None:
    """A Dependency from a PEP 508 requirement string; None if it is not one."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    marker = str(req.marker) if req.marker else ""
    shown = redact(text.strip())
    if req.url:
        kind = "a VCS URL" if re.match(r"^[a-z]+\+", req.url) else (
            "a local path" if req.url.startswith("file:") else "a URL")
        return Dependency(req.name, location, shown, unchecked=f"installed from {kind}",
                          marker=marker)
    return with_specifier(req.name, req.specifier, location, shown, marker)


def with_specifier(name: str, spec: SpecifierSet, location: Location, shown: str,
                   marker: str = "") -> Dependency:
    exact = is_exact(spec)
    if exact is not None:
        if not valid_version(exact):
            return Dependency(name, location, shown,
                              unchecked=f"version {exact!r} is not a PEP 440 version",
                              marker=marker)
        return Dependency(name, location, shown, version=exact, marker=marker)
    return Dependency(name, location, shown, allowed=(spec,), marker=marker)


def specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


class LineIndex:
    """Finds the line of a string in a text, scanning forward so that repeated names
    map to successive lines."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self._after: dict[str, int] = {}

    def line_at(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self._starts, offset)

    def find(self, *needles: str) -> int | None:
        """The 1-based line of the first needle found (searching on from its last hit)."""
        for needle in needles:
            if not needle:
                continue
            pos = self.text.find(needle, self._after.get(needle, 0))
            if pos < 0:
                pos = self.text.find(needle)
            if pos >= 0:
                self._after[needle] = pos + len(needle)
                return self.line_at(pos + 1 if needle.startswith("\n") else pos)
        return None
