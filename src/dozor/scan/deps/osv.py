"""Read OSV advisories (JSON or YAML) and compile them into dozor's compact index.

The bundled index is built from the PyPA advisory database by
``tools/build_advisories.py``; ``--advisory-db PATH`` compiles a newer export the same
way in memory. A source is a folder, a zip or tar of OSV files (osv.dev's ``all.zip``,
the PyPA repository's tarball), one OSV file, or an index this module wrote.

Only what an offline audit needs is kept, per PEP 503 package name: ids and aliases, a
short summary, the affected versions as intervals over PEP 440 versions (from OSV
``ECOSYSTEM`` ranges) plus the explicit versions no range covers, fixed versions,
severity, dates, and every version any advisory names (to judge version ranges).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from dozor.scan.deps import cvss

FORMAT = 1
"""Version of the index layout; a loader refuses layouts it does not know."""

_SUFFIXES = (".json", ".yaml", ".yml")
_NAME_RUN = re.compile(r"[-_.]+")


def normalise(name: str) -> str:
    """The PEP 503 form of a package name: lower case, runs of ``-_.`` as one ``-``."""
    return _NAME_RUN.sub("-", name).lower()


class AdvisorySourceError(Exception):
    """An advisory source cannot be read; the message is one sentence for the user."""


@dataclass(frozen=True)
class SourceLimits:
    """Bounds on a user-supplied OSV export, which may be large or hostile."""

    max_files: int = 2_000_000
    """OSV documents read."""
    max_file_bytes: int = 16 << 20
    """Largest single document."""
    max_total_bytes: int = 4 << 30
    """All documents together (decompressed)."""
    seconds: float = 900.0
    """Wall time for reading and compiling."""


class _Budget:
    def __init__(self, limits: SourceLimits) -> None:
        self.limits = limits
        self.files = 0
        self.total = 0
        self.deadline = time.monotonic() + limits.seconds

    def take(self, name: str, size: int) -> bool:
        """Account for one document; False if it is too large to read."""
        if time.monotonic() > self.deadline:
            raise AdvisorySourceError(
                f"reading the advisory database took longer than {self.limits.seconds:g} s"
            )
        if size > self.limits.max_file_bytes:
            return False
        self.files += 1
        if self.files > self.limits.max_files:
            raise AdvisorySourceError(
                f"the advisory database has more than {self.limits.max_files} files"
            )
        self.more(size)
        return True

    def more(self, size: int) -> None:
        """Account for `size` more bytes than were declared."""
        self.total += max(0, size)
        if self.total > self.limits.max_total_bytes:
            raise AdvisorySourceError(
                f"the advisory database holds more than {self.limits.max_total_bytes >> 20} MiB"
            )


def iter_documents(path: str, limits: SourceLimits | None = None) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every OSV JSON or YAML document under `path`."""
    budget = _Budget(limits or SourceLimits())
    if os.path.isdir(path):
        yield from _from_dir(path, budget)
        return
    try:
        if zipfile.is_zipfile(path):
            yield from _from_zip(path, budget)
        elif tarfile.is_tarfile(path):
            yield from _from_tar(path, budget)
        elif path.lower().endswith(_SUFFIXES):
            size = os.path.getsize(path)
            if budget.take(path, size):
                with open(path, "rb") as fh:
                    yield os.path.basename(path), fh.read()
        else:
            raise AdvisorySourceError(
                f"{path} is not a folder, zip or tar of OSV files, nor an OSV JSON/YAML file"
            )
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise AdvisorySourceError(f"cannot read the advisory database {path}: {exc}") from None


def _from_dir(root: str, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    for base, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            full = os.path.join(base, name)
            if not name.lower().endswith(_SUFFIXES) or os.path.islink(full):
                continue
            if not os.path.isfile(full) or not budget.take(full, os.path.getsize(full)):
                continue
            with open(full, "rb") as fh:
                yield os.path.relpath(full, root), fh.read()


def _from_zip(path: str, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not info.filename.lower().endswith(_SUFFIXES):
                continue
            if not budget.take(info.filename, info.file_size):
                continue
            with zf.open(info) as fh:
                # the header's size may lie: never read past the limit, count what was read
                data = fh.read(budget.limits.max_file_bytes + 1)
            budget.more(len(data) - info.file_size)
            if len(data) <= budget.limits.max_file_bytes:
                yield info.filename, data


def _from_tar(path: str, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(path, "r:*") as tf:
        for member in tf:
            if not member.isfile() or not member.name.lower().endswith(_SUFFIXES):
                continue
            if not budget.take(member.name, member.size):
                continue
            fh = tf.extractfile(member)
            if fh is not None:
                yield member.name, fh.read(budget.limits.max_file_bytes + 1)


def parse_document(name: str, data: bytes) -> list[dict[str, Any]]:
    """The OSV records in one document (a record, or a list of records); [] if unreadable.

    YAML is read with every scalar as a string: an unquoted version such as ``1.10``
    must not become the number 1.1.
    """
    try:
        if name.lower().endswith(".json"):
            doc = json.loads(data)
        else:
            import yaml

            loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
            doc = yaml.load(data, Loader=loader)  # noqa: S506 - BaseLoader builds only str/list/dict
    except Exception:  # noqa: BLE001 - a document no parser can read is skipped
        return []
    if isinstance(doc, dict):
        return [doc]
    if isinstance(doc, list):
        return [d for d in doc if isinstance(d, dict)]
    return []


# --- compiling -------------------------------------------------------------------------

_MIN = Version("0")


def _version(text: object) -> Version | None:
    if not isinstance(text, str) or len(text) > 100:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _date(value: object) -> str:
    text = str(value or "")
    return text[:10] if re.match(r"\d{4}-\d{2}-\d{2}", text) else ""


_PRODUCT_BLURB = re.compile(r"^[\w.@/ -]{1,60}? (is|are) (an?|the) ", re.I)


def _summary(record: dict[str, Any]) -> str:
    text = record.get("summary") or ""
    if not isinstance(text, str) or not text.strip():
        details = record.get("details") or ""
        text = " ".join(details.split()) if isinstance(details, str) else ""
        # the first sentence that names the flaw: details often open by describing the
        # product ("PyTorch is a Python package that ...")
        sentences = re.findall(r".+?[.!?](?=\s|$)", text) or [text]
        while len(sentences) > 1 and _PRODUCT_BLURB.match(sentences[0]):
            sentences.pop(0)
        text = sentences[0]
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157].rstrip() + "..."


_LABELS = {"CRITICAL": "critical", "HIGH": "high", "MODERATE": "medium", "MEDIUM": "medium",
           "LOW": "low"}


def _severity(record: dict[str, Any]) -> dict[str, Any]:
    """Band, score, vector and where the band came from: an exact CVSS v3 score first,
    then a band the database states, then an estimate from a CVSS v4 vector."""
    vectors: dict[str, str] = {}
    for entry in record.get("severity") or []:
        if isinstance(entry, dict) and isinstance(entry.get("score"), str):
            vectors.setdefault(str(entry.get("type", "")), entry["score"].strip())
    v3 = vectors.get("CVSS_V3")
    if v3:
        scored = cvss.score(v3)
        if scored:
            return {"severity": cvss.band(scored[0]), "score": scored[0], "cvss": v3,
                    "severity_from": v3.split("/")[0]}
    for holder in [record, *(a for a in record.get("affected") or [] if isinstance(a, dict))]:
        for key in ("database_specific", "ecosystem_specific"):
            extra = holder.get(key)
            label = extra.get("severity") if isinstance(extra, dict) else None
            if isinstance(label, str) and label.upper() in _LABELS:
                return {"severity": _LABELS[label.upper()], "score": None,
                        "cvss": v3 or vectors.get("CVSS_V4", ""), "severity_from": "database"}
    v4 = vectors.get("CVSS_V4")
    if v4:
        scored = cvss.score(v4)
        if scored:
            return {"severity": cvss.band(scored[0]), "score": scored[0], "cvss": v4,
                    "severity_from": "CVSS:4.0 estimate"}
    return {"severity": "", "score": None, "cvss": v3 or v4 or "", "severity_from": ""}


def _event_key(event: tuple[str, str]) -> tuple[int, Version]:
    kind, text = event
    if kind == "introduced" and text == "0":
        return (0, _MIN)
    parsed = _version(text)
    assert parsed is not None
    return (1, parsed)


def intervals(events: list[dict[str, Any]]) -> list[list[str]] | None:
    """OSV ECOSYSTEM events as [introduced, fixed, last_affected] intervals ("" = none),
    or None when a version in them is not PEP 440 (the explicit list must serve)."""
    flat: list[tuple[str, str]] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        for kind in ("introduced", "fixed", "last_affected"):
            value = event.get(kind)
            if isinstance(value, str):
                if not (kind == "introduced" and value == "0") and _version(value) is None:
                    return None
                flat.append((kind, value))
    flat.sort(key=_event_key)  # stable: ties keep the database's order
    out: list[list[str]] = []
    start: str | None = None
    for kind, value in flat:
        if kind == "introduced":
            if start is None:
                start = value
        elif start is not None:
            out.append([start, value, ""] if kind == "fixed" else [start, "", value])
            start = None
    if start is not None:
        out.append([start, "", ""])
    return out


def in_interval(version: Version, interval: list[str] | tuple[str, str, str]) -> bool:
    lo, fixed, last = interval
    if lo != "0":
        low = _version(lo)
        if low is None or version < low:
            return False
    if fixed:
        high = _version(fixed)
        return high is not None and version < high
    if last:
        top = _version(last)
        return top is not None and version <= top
    return True


@dataclass
class _Entry:
    record: dict[str, Any]
    ranges: list[list[str]]
    versions: set[str]


def compile_index(records: Iterable[dict[str, Any]], source: dict[str, str],
                  *, deadline: float | None = None) -> dict[str, Any]:
    """The compact index of every PyPI advisory in `records` (withdrawn ones left out).

    The snapshot date is the newest ``modified`` date, ignoring dates after the source's
    commit date (or after today): one record with a mistyped year must not make a stale
    database look current.
    """
    import datetime

    not_after = source.get("commit_date") or datetime.date.today().isoformat()
    entries: dict[tuple[str, str], _Entry] = {}
    known: dict[str, set[str]] = {}
    newest = ""
    skipped = 0
    for record in records:
        if deadline is not None and time.monotonic() > deadline:
            raise AdvisorySourceError("compiling the advisory database took too long")
        ident = record.get("id")
        if not isinstance(ident, str) or record.get("withdrawn"):
            skipped += 1
            continue
        for affected in record.get("affected") or []:
            if not isinstance(affected, dict):
                continue
            package = affected.get("package") or {}
            if not isinstance(package, dict) or package.get("ecosystem") != "PyPI":
                continue
            name = package.get("name")
            if not isinstance(name, str) or not name:
                continue
            name = normalise(name)
            entry = entries.setdefault((name, ident), _Entry(record, [], set()))
            names = known.setdefault(name, set())
            exact = affected.get("versions") or []
            usable = True
            for rng in affected.get("ranges") or []:
                if not isinstance(rng, dict) or rng.get("type") != "ECOSYSTEM":
                    continue
                found = intervals(rng.get("events") or [])
                if found is None:
                    usable = False  # a non-PEP 440 bound: rely on the explicit versions
                    continue
                entry.ranges.extend(found)
                names.update(v for iv in found for v in iv if v and v != "0")
            for text in exact if isinstance(exact, list) else []:
                if not isinstance(text, str) or len(text) > 100:
                    continue
                parsed = _version(text)
                if parsed is not None:
                    names.add(text)
                if parsed is None or not usable or not any(
                    in_interval(parsed, iv) for iv in entry.ranges
                ):
                    entry.versions.add(text)
        modified = _date(record.get("modified"))
        if modified <= not_after:
            newest = max(newest, modified)
    packages: dict[str, dict[str, Any]] = {}
    for (name, ident), entry in sorted(entries.items()):
        if not entry.ranges and not entry.versions:
            continue  # nothing affected that a version could match
        record = entry.record
        fixed = {iv[1] for iv in entry.ranges if iv[1]}
        aliases = record.get("aliases") or []
        advisory = {
            "id": ident,
            "aliases": sorted({a for a in aliases if isinstance(a, str)},
                              key=lambda a: (not a.startswith("CVE-"), a)),
            "summary": _summary(record),
            "ranges": sorted(entry.ranges, key=lambda iv: tuple(iv)),
            "versions": sorted(entry.versions, key=_sort_key),
            "fixed": sorted(fixed, key=_sort_key),
            "published": _date(record.get("published")),
            "modified": _date(record.get("modified")),
            **_severity(record),
        }
        advisory = {k: v for k, v in advisory.items() if v not in ("", None, [])}  # compact
        packages.setdefault(name, {"advisories": [], "versions": []})["advisories"].append(advisory)
    for name, data in packages.items():
        data["versions"] = sorted(known.get(name, ()), key=_sort_key)
    count = len({a["id"] for p in packages.values() for a in p["advisories"]})
    return {
        "format": FORMAT,
        "source": dict(source),
        "snapshot": newest,
        "advisories": count,
        "withdrawn_or_invalid": skipped,
        "packages": packages,
    }


def _sort_key(text: str) -> tuple[int, Any, str]:
    parsed = _version(text)
    # "1.0" and "1.0.0" are equal versions: the text breaks the tie, for stable output
    return (0, parsed, text) if parsed is not None else (1, text, text)


def dumps(index: dict[str, Any]) -> bytes:
    """The index as reproducible gzip: sorted keys, no timestamp or file name inside."""
    text = json.dumps(index, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return out.getvalue()


def loads(data: bytes) -> dict[str, Any]:
    """An index written by `dumps`; AdvisorySourceError if it is not one."""
    try:
        index = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    except (OSError, EOFError, ValueError) as exc:
        raise AdvisorySourceError(f"not a dozor advisory index: {exc}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT or not isinstance(
        index.get("packages"), dict
    ):
        raise AdvisorySourceError("not a dozor advisory index of a layout this version reads")
    return index


def compile_path(path: str, source: dict[str, str] | None = None,
                 limits: SourceLimits | None = None) -> dict[str, Any]:
    """Read and compile an OSV export, or load an index `dumps` wrote (``*.json.gz``)."""
    limits = limits or SourceLimits()
    if os.path.isfile(path) and _is_index(path):
        return loads(_read_index(path, limits))
    deadline = time.monotonic() + limits.seconds

    def records() -> Iterator[dict[str, Any]]:
        for name, data in iter_documents(path, limits):
            yield from parse_document(name, data)

    meta = {"name": "OSV export", "path": os.path.abspath(path)}
    meta.update(source or {})
    try:
        index = compile_index(records(), meta, deadline=deadline)
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, zlib.error) as exc:
        raise AdvisorySourceError(f"cannot read the advisory database {path}: {exc}") from None
    if not index["packages"]:
        raise AdvisorySourceError(f"{path} holds no PyPI advisories in OSV format")
    return index


def _is_index(path: str) -> bool:
    low = path.lower()
    if low.endswith(".json.gz"):
        return True
    if not low.endswith(".json"):
        return False
    with open(path, "rb") as fh:
        head = fh.read(64)
    return head.lstrip().startswith(b'{"advisories":')  # how `dumps` starts (sorted keys)


def _read_index(path: str, limits: SourceLimits) -> bytes:
    cap = limits.max_total_bytes
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            fh = gzip.GzipFile(fileobj=raw) if gz else raw
            data = fh.read(cap + 1)
    except (OSError, EOFError) as exc:
        raise AdvisorySourceError(f"cannot read the advisory index {path}: {exc}") from None
    if len(data) > cap:
        raise AdvisorySourceError(f"the advisory index {path} is larger than {cap >> 20} MiB")
    return data
