"""The report as SARIF 2.1.0, shaped for GitHub code scanning.

GitHub is the consumer that matters most, so where SARIF allows several spellings
this module picks the one GitHub reads:

- ``security-severity`` (a string, on the rule) and the ``security`` tag make GitHub
  rank alerts as critical/high/medium/low; ``partialFingerprints`` keep an alert the
  same alert across runs, so it is dozor's own `Finding.fingerprint`.
- Every result has ``physicalLocation.artifactLocation.uri`` naming a real file,
  relative to `base_dir` (the repository root) when it lies under it, and a region
  with ``startLine``: GitHub only annotates results that have both. Without a known
  line the region is line 1 of the file.
- A finding inside a container (a pickle in a zip in a tar) is reported on the
  outer file, the one that exists in the repository. A ``!``-joined member path in
  the URI would point at nothing GitHub can open; the member chain goes instead in a
  ``logicalLocation`` (``fullyQualifiedName`` = ``a/b.pkl!data.pkl``), in the
  location's ``properties.members`` for machines, and in the message for people.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from dozor.findings import Finding, Location, Report, Severity
from dozor.report.text import printable

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "dozorFingerprint/v1"
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
MAX_TAGS = 20  # GitHub keeps at most 20 tags per rule
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def render(report: Report, base_dir: str | os.PathLike[str] | None = None) -> str:
    """The SARIF log for `report` as indented JSON text."""
    return json.dumps(to_sarif(report, base_dir), indent=2, ensure_ascii=True)


def to_sarif(report: Report, base_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The SARIF log for `report` as a dict (one run)."""
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    index = {rule_id: i for i, rule_id in enumerate(by_rule)}
    driver: dict[str, Any] = {"name": report.tool or "dozor"}
    version = report.version or _installed_version()
    if version:
        driver["version"] = version
    uri = _information_uri()
    if uri:
        driver["informationUri"] = uri
    driver["rules"] = [_rule(rule_id, fs) for rule_id, fs in by_rule.items()]
    base = os.fspath(base_dir) if base_dir is not None else None
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [_invocation(report)],
        "results": [_result(f, index[f.rule_id], base) for f in report.findings],
        "properties": {"suppressed": report.suppressed, "files": len(report.files)},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    from dozor.taxonomy import describe, lookup

    worst = max(f.severity for f in findings)
    title = _most_common(f.title for f in findings) or rule_id
    remediation = _most_common(f.remediation for f in findings if f.remediation)
    taxonomy = sorted({t for f in findings for t in f.taxonomy}, key=_taxonomy_order)
    full = title if not taxonomy else f"{title}. Maps to " + "; ".join(map(describe, taxonomy))
    links = []
    for t in taxonomy:
        entry = lookup(t)
        links.append(f"- [{entry.id} {entry.name}]({entry.url})" if entry else f"- {t}")
    help_text = remediation or title
    markdown = help_text + ("\n\n" + "\n".join(links) if links else "")
    return {
        "id": rule_id,
        "name": _pascal(title),
        "shortDescription": {"text": printable(title)},
        "fullDescription": {"text": printable(full)},
        "help": {"text": printable(help_text), "markdown": printable(markdown)},
        "defaultConfiguration": {"level": LEVEL[worst]},
        "properties": {
            "tags": ["security", *taxonomy][:MAX_TAGS],
            "security-severity": SECURITY_SEVERITY[worst],
            "precision": _precision(max(f.confidence for f in findings)),
        },
    }


def _result(f: Finding, rule_index: int, base_dir: str | None) -> dict[str, Any]:
    message = f.title + (f": {f.evidence}" if f.evidence else "")
    if f.location.members:
        message += f" (in {'!'.join(f.location.members)})"
    properties: dict[str, Any] = {
        "severity": str(f.severity),
        "security-severity": SECURITY_SEVERITY[f.severity],
        "confidence": f.confidence,
    }
    if f.scanner:
        properties["scanner"] = f.scanner
    if f.taxonomy:
        properties["taxonomy"] = list(f.taxonomy)
    if f.details:
        properties["details"] = dict(f.details)
    return {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": printable(message)},
        "locations": [_location(f.location, base_dir)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint()},
        "properties": properties,
    }


def _location(loc: Location, base_dir: str | None) -> dict[str, Any]:
    members = list(loc.members)
    # A line or offset inside a member does not locate anything in the outer file.
    line = loc.line if loc.line is not None and loc.line > 0 and not members else 1
    out: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(loc.path, base_dir)},
            "region": {"startLine": line},
        }
    }
    extra: dict[str, Any] = {}
    if members:
        out["logicalLocations"] = [{"name": members[-1], "fullyQualifiedName": "!".join(members)}]
        extra["members"] = members
        if loc.line is not None:
            extra["line"] = loc.line
    if loc.offset is not None:
        extra["offset"] = loc.offset
    if extra:
        out["properties"] = extra
    return out


def artifact_uri(path: str, base_dir: str | os.PathLike[str] | None = None) -> str:
    """A URI reference for `path`: relative to `base_dir` when under it, else absolute."""
    if _SCHEME.match(path):
        return path
    if base_dir is not None:
        absolute, base = os.path.abspath(path), os.path.abspath(base_dir)
        try:
            inside = os.path.commonpath([absolute, base]) == base
        except ValueError:  # different drives on Windows
            inside = False
        if inside:
            return _quote(PurePath(os.path.relpath(absolute, base)).as_posix())
        return Path(absolute).as_uri()
    if os.path.isabs(path):
        return Path(path).as_uri()
    return _quote(PurePath(os.path.normpath(path)).as_posix())


def _quote(path: str) -> str:
    # surrogateescape turns undecodable file-name bytes back into the bytes on disk
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _invocation(report: Report) -> dict[str, Any]:
    def utc(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    out: dict[str, Any] = {
        "executionSuccessful": True,
        "startTimeUtc": utc(report.started),
        "endTimeUtc": utc(report.started + max(report.seconds, 0.0)),
    }
    if report.errors:
        out["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": printable(e)}} for e in report.errors
        ]
    return out


def _most_common(texts: Iterable[str]) -> str:
    counts = Counter(texts)
    if not counts:
        return ""
    # Most frequent first, then alphabetical: the same findings give the same rule text.
    return min(counts, key=lambda t: (-counts[t], t))


def _taxonomy_order(id: str) -> tuple[int, str]:
    """OWASP ML, LLM, Agentic, then ATLAS; so rule tags do not follow finding order."""
    for rank, prefix in enumerate(("ML", "LLM", "ASI", "AML.")):
        if id.startswith(prefix):
            return rank, id
    return 4, id


def _pascal(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)[:100] or "Finding"


def _precision(confidence: float) -> str:
    if confidence >= 0.9:
        return "very-high"
    if confidence >= 0.7:
        return "high"
    if confidence >= 0.4:
        return "medium"
    return "low"


@cache
def _installed_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("dozor")
    except metadata.PackageNotFoundError:
        return ""


@cache
def _information_uri() -> str:
    """The project's home page as declared in its installed metadata, if any."""
    from importlib import metadata

    try:
        meta = metadata.metadata("dozor")
    except metadata.PackageNotFoundError:
        return ""
    labelled = {}
    for item in meta.get_all("Project-URL") or ():
        label, _, url = str(item).partition(",")
        labelled[label.strip().lower()] = url.strip()
    for label in ("homepage", "home", "repository", "source", "documentation"):
        if labelled.get(label):
            return labelled[label]
    home = meta.get_all("Home-page") or ()
    return str(home[0]) if home else ""
