"""The one data model every part of dozor produces and consumes.

A scanner, a red-team probe, the guard and the monitors all yield `Finding`s; one
run's findings form a `Report`. This module imports nothing from dozor.
"""

from __future__ import annotations

import enum
import time
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """How bad a finding is; ordered, so thresholds compare with `>=`."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name in any case; raise ValueError naming the choices."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r}; choose one of {choices}") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file, and inside it a chain of container members."""

    path: str
    """The file on disk (or URL) that was given to dozor or found under it."""
    members: tuple[str, ...] = ()
    """Names of nested members, outermost first (a zip member, then a pickle inside it)."""
    offset: int | None = None
    """Byte offset inside the innermost member, where it is meaningful."""
    line: int | None = None
    """1-based line in a text member, where it is meaningful."""

    def child(self, member: str) -> Location:
        """The location of a member nested inside this one."""
        return Location(self.path, (*self.members, member))

    def at(self, *, offset: int | None = None, line: int | None = None) -> Location:
        """This location narrowed to an offset or a line."""
        return Location(self.path, self.members, offset, line)

    def __str__(self) -> str:
        text = "!".join((self.path, *self.members))
        if self.line is not None:
            text += f":{self.line}"
        elif self.offset is not None:
            text += f"@{self.offset}"
        return text


@dataclass(frozen=True)
class Finding:
    """One thing dozor found, with what to do about it."""

    rule_id: str
    """Stable identifier, e.g. ``DZ-PKL-001``; suppressions and baselines use it."""
    title: str
    """One line saying what is wrong."""
    severity: Severity
    location: Location
    evidence: str = ""
    """What was seen, e.g. the callable ``os.system``; never a secret in clear."""
    remediation: str = ""
    """What the user should do."""
    confidence: float = 1.0
    """0..1: how sure the producer is."""
    taxonomy: tuple[str, ...] = ()
    """Ids in OWASP ML/LLM/Agentic Top 10 and MITRE ATLAS, e.g. ``ML06:2023``, ``AML.T0011.000``."""
    scanner: str = ""
    """Name of the producer, e.g. ``pickle``."""
    details: tuple[tuple[str, str], ...] = ()
    """Machine-readable facts the policy may match, e.g. ``("import", "os.system")``."""

    def detail(self, key: str) -> str | None:
        for k, v in self.details:
            if k == key:
                return v
        return None

    def fingerprint(self) -> str:
        """A stable id for baselines: rule, place and evidence, not run-specific data."""
        import hashlib

        key = "\x1f".join((self.rule_id, self.location.path, *self.location.members, self.evidence))
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["location"]["members"] = list(self.location.members)
        data["taxonomy"] = list(self.taxonomy)
        data["details"] = dict(self.details)
        data["fingerprint"] = self.fingerprint()
        return data


@dataclass(frozen=True)
class ScannedFile:
    """A file that was looked at, with the formats recognised in it."""

    path: str
    size: int
    formats: tuple[str, ...]
    seconds: float


@dataclass
class Report:
    """The findings of one run, plus what was scanned and what could not be."""

    tool: str = "dozor"
    version: str = ""
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    files: list[ScannedFile] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Inputs that could not be read at all (missing path, permission); one sentence each."""
    suppressed: int = 0
    """How many findings the policy suppressed."""

    def max_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def at_least(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= threshold]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "version": self.version,
            "started": self.started,
            "seconds": round(self.seconds, 4),
            "summary": {
                "files": len(self.files),
                "findings": len(self.findings),
                "suppressed": self.suppressed,
                "by_severity": {
                    str(s): sum(1 for f in self.findings if f.severity == s)
                    for s in reversed(Severity)
                },
            },
            "findings": [f.to_dict() for f in self.findings],
            "files": [asdict(f) | {"formats": list(f.formats)} for f in self.files],
            "errors": list(self.errors),
        }
