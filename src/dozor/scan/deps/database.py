"""The advisory database an audit checks versions against: bundled, or one the user gives.

Nothing loads until a dependency is checked, and each database loads once per process
(the bundled index in about 50 ms). Versions of one package are parsed only when that
package is first asked about.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from dozor.scan.deps import osv
from dozor.scan.deps.osv import AdvisorySourceError, normalise

__all__ = ["Advisory", "AdvisoryDatabase", "AdvisorySourceError", "Match", "load_database"]

# stands for "every later release" when a range is open upwards
_BEYOND = Version("999999")


@dataclass(frozen=True)
class Advisory:
    """One advisory as it applies to one package."""

    id: str
    """The database's id, e.g. ``PYSEC-2025-41`` or ``GHSA-...``."""
    aliases: tuple[str, ...]
    """Other ids of the same flaw, CVE first."""
    summary: str
    severity: str
    """``critical``, ``high``, ``medium``, ``low``, ``none`` or "" when the database has none."""
    severity_from: str
    """Where the band came from: ``CVSS:3.1``, ``database``, ``CVSS:4.0 estimate`` or ""."""
    score: float | None
    cvss: str
    ranges: tuple[tuple[str, str, str], ...]
    """Affected intervals as (introduced, fixed, last_affected); "" where absent."""
    versions: tuple[str, ...]
    """Affected versions that no interval covers."""
    fixed: tuple[str, ...]
    published: str
    modified: str

    @property
    def cve(self) -> str | None:
        return next((a for a in self.aliases if a.startswith("CVE-")), None)

    @property
    def label(self) -> str:
        """The id people search for: the CVE if there is one, else the database id."""
        return self.cve or self.id

    @classmethod
    def from_index(cls, data: dict[str, Any]) -> Advisory:
        return cls(
            id=str(data["id"]),
            aliases=tuple(data.get("aliases", ())),
            summary=str(data.get("summary", "")),
            severity=str(data.get("severity", "")),
            severity_from=str(data.get("severity_from", "")),
            score=data.get("score"),
            cvss=str(data.get("cvss", "")),
            ranges=tuple((str(a), str(b), str(c)) for a, b, c in data.get("ranges", ())),
            versions=tuple(data.get("versions", ())),
            fixed=tuple(data.get("fixed", ())),
            published=str(data.get("published", "")),
            modified=str(data.get("modified", "")),
        )


@dataclass(frozen=True)
class Match:
    """An advisory that affects a version, and the release that fixes it there."""

    advisory: Advisory
    fixed: str | None
    """The fix for the affected interval the version is in; None if none is known."""


class _Interval:
    __slots__ = ("low", "high", "inclusive", "fixed")

    def __init__(self, introduced: str, fixed: str, last: str) -> None:
        self.low = None if introduced == "0" else Version(introduced)
        top = fixed or last
        self.high = Version(top) if top else None
        self.inclusive = not fixed
        self.fixed = fixed or None

    def __contains__(self, v: Version) -> bool:
        if self.low is not None and v < self.low:
            return False
        if self.high is None:
            return True
        return v <= self.high if self.inclusive else v < self.high

    def probes(self) -> list[Version]:
        """Versions at the edges of the interval, to test a range against it."""
        out = [self.low or Version("0")]
        if self.high is not None and self.inclusive:
            out.append(self.high)
        if self.high is None:
            out.append(_BEYOND)
        return out


class PackageAdvisories:
    """The advisories of one package, with parsed versions."""

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.advisories = [Advisory.from_index(a) for a in data.get("advisories", ())]
        self._intervals = [
            [_Interval(*iv) for iv in a.ranges] for a in self.advisories
        ]
        self._versions = [
            {_public(v) for v in a.versions} for a in self.advisories
        ]
        self._known_text: list[str] = list(data.get("versions", ()))

    @cached_property
    def known(self) -> list[Version]:
        """Every release any advisory names, plus interval edges: candidates for ranges."""
        out: set[Version] = set()
        for text in self._known_text:
            parsed = _parse(text)
            if parsed is not None:
                out.add(parsed)
        for ivs in self._intervals:
            for iv in ivs:
                out.update(iv.probes())
        return sorted(out)

    def affecting(self, version: str) -> list[Match]:
        """Advisories that affect `version`, in database order."""
        parsed = _parse(version)
        public = _public(version)
        out: list[Match] = []
        for adv, ivs, exact in zip(self.advisories, self._intervals, self._versions, strict=True):
            if parsed is not None:
                hit = next((iv for iv in ivs if parsed in iv), None)
                if hit is not None:
                    out.append(Match(adv, hit.fixed or _next_fix(adv, parsed)))
                    continue
            if public in exact:
                out.append(Match(adv, _next_fix(adv, parsed)))
        return out

    def admitted(self, allowed: list[SpecifierSet]) -> list[Advisory]:
        """Advisories that affect some version a range (any of `allowed`) admits, among
        the releases the database knows of."""
        candidates = [v for v in self.known if any(s.contains(v, prereleases=True)
                                                     for s in allowed)]
        out: list[Advisory] = []
        for adv, ivs, exact in zip(self.advisories, self._intervals, self._versions, strict=True):
            if any(v in iv for v in candidates for iv in ivs) or any(
                str(v) in exact for v in candidates
            ):
                out.append(adv)
        return out


def _parse(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _public(text: str) -> str:
    """A version without its local part, normalised when it is PEP 440 (``2.5.1+cpu``
    is release 2.5.1 as far as an advisory is concerned)."""
    parsed = _parse(text)
    return parsed.public if parsed is not None else text.strip()


def _next_fix(adv: Advisory, version: Version | None) -> str | None:
    later = [f for f in adv.fixed if version is None or (_parse(f) or _BEYOND) > version]
    return min(later, key=lambda f: _parse(f) or _BEYOND) if later else None


class AdvisoryDatabase:
    """A compiled advisory index: per-package lookups plus where the data came from."""

    def __init__(self, index: dict[str, Any]) -> None:
        self._packages: dict[str, Any] = index["packages"]
        self.source: dict[str, str] = dict(index.get("source") or {})
        self.snapshot: str = str(index.get("snapshot", ""))
        self.count: int = int(index.get("advisories", 0))
        self._parsed: dict[str, PackageAdvisories | None] = {}
        self._lock = threading.Lock()

    def package(self, name: str) -> PackageAdvisories | None:
        key = normalise(name)
        with self._lock:
            if key not in self._parsed:
                data = self._packages.get(key)
                self._parsed[key] = PackageAdvisories(key, data) if data else None
            return self._parsed[key]

    def describe(self) -> str:
        """One line for reports: which database, how fresh, how big."""
        name = self.source.get("name", "advisory database")
        where = []
        if self.source.get("commit"):
            where.append(f"commit {self.source['commit']}")
        if self.source.get("path"):
            where.append(self.source["path"])
        place = f" ({', '.join(where)})" if where else ""
        return (f"{name}{place}, snapshot {self.snapshot or 'of unknown date'}, "
                f"{self.count} advisories")


_cache: dict[tuple[str, int, int], AdvisoryDatabase] = {}
_cache_lock = threading.Lock()


def load_database(path: str | None = None) -> AdvisoryDatabase:
    """The bundled database, or the OSV export at `path` compiled in memory; each is
    loaded once per process. Raises AdvisorySourceError with a one-sentence message."""
    if path:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise AdvisorySourceError(
                f"cannot read the advisory database {path}: {exc.strerror or exc}"
            ) from None
        key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    else:
        key = ("", 0, 0)
    with _cache_lock:
        db = _cache.get(key)
        if db is None:
            db = AdvisoryDatabase(osv.compile_path(path) if path else _bundled_index())
            _cache[key] = db
        return db


def _bundled_index() -> dict[str, Any]:
    from importlib import resources

    ref = resources.files("dozor.scan.deps") / "data" / "advisories.json.gz"
    try:
        data = ref.read_bytes()
    except OSError:
        raise AdvisorySourceError(
            "the bundled advisory database is missing; reinstall dozor or pass --advisory-db"
        ) from None
    return osv.loads(data)
