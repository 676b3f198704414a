"""The policy: what fails a run, what is suppressed, which pickle imports are allowed.

Read from `.dozor.yaml` (or `--policy FILE`)::

    fail_on: medium              # info | low | medium | high | critical
    allow_imports:               # pickle imports your own files legitimately make
      - mylib.models.MyClassifier
      - mylib.layers.*           # a trailing .* allows a whole module tree
    suppress:
      - rule: DZ-ARC-010         # every finding of a rule...
        path: "vendor/**"        # ...optionally only under matching paths (glob)
        reason: prefixed archives are expected here
      - fingerprint: 3f2a9c0d1e2b4a57   # one exact finding (from JSON/SARIF output)
    limits:
      seconds_per_file: 300
      max_member_bytes: 4294967296

Validated by hand rather than with pydantic: the schema is tiny, and importing pydantic
would cost more start-up time than a whole one-file scan.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from dataclasses import dataclass, field
from typing import Any

from dozor.findings import Finding, Report, Severity
from dozor.scan.base import Limits

DEFAULT_FILE = ".dozor.yaml"
DEFAULT_FAIL_ON = Severity.MEDIUM


class PolicyError(Exception):
    """The policy file is missing, unreadable or invalid; the message says how to fix it."""


@dataclass(frozen=True)
class Suppression:
    rule: str | None = None
    path: str | None = None
    fingerprint: str | None = None
    reason: str = ""

    def matches(self, f: Finding) -> bool:
        if self.fingerprint and f.fingerprint() != self.fingerprint:
            return False
        if self.rule and not fnmatch.fnmatchcase(f.rule_id, self.rule):
            return False
        if self.path and not _path_matches(f.location.path, self.path):
            return False
        return True


def _path_matches(path: str, pattern: str) -> bool:
    norm = path.replace(os.sep, "/")
    if norm.startswith("./"):
        norm = norm[2:]
    pattern = pattern.removeprefix("./")
    if fnmatch.fnmatchcase(norm, pattern):
        return True
    return pattern.endswith("/**") and norm.startswith(pattern[:-2])


@dataclass(frozen=True)
class Policy:
    fail_on: Severity = DEFAULT_FAIL_ON
    allow_imports: tuple[str, ...] = ()
    suppress: tuple[Suppression, ...] = ()
    limits: Limits = field(default_factory=Limits)
    source: str = ""
    """Where the policy came from (a path, or empty for the defaults)."""

    def allows_import(self, name: str) -> bool:
        for pattern in self.allow_imports:
            if pattern.endswith(".*"):
                if name.startswith(pattern[:-1]) or name == pattern[:-2]:
                    return True
            elif name == pattern:
                return True
        return False

    def is_suppressed(self, f: Finding) -> bool:
        if f.rule_id == "DZ-PKL-002":
            name = f.detail("import")
            if name and self.allows_import(name):
                return True
        return any(s.matches(f) for s in self.suppress)

    def apply(self, report: Report) -> Report:
        """Drop suppressed and allowed findings from `report` (in place) and return it."""
        kept = [f for f in report.findings if not self.is_suppressed(f)]
        report.suppressed += len(report.findings) - len(kept)
        report.findings = kept
        return report

    def failed(self, report: Report) -> bool:
        return bool(report.at_least(self.fail_on))


# robust: thresholds read by dozor.robust.report
_TOP_KEYS = {"fail_on", "allow_imports", "suppress", "limits", "robust"}
_SUPPRESS_KEYS = {"rule", "path", "fingerprint", "reason"}


def load_policy(path: str | None = None) -> Policy:
    """Read the policy at `path`, or `.dozor.yaml` in the current folder, or defaults."""
    if path is None:
        if not os.path.isfile(DEFAULT_FILE):
            return Policy()
        path = DEFAULT_FILE
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(1 << 20)
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror or exc}") from None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PolicyError(f"policy file {path} is not valid YAML{where}") from None
    return parse_policy(data or {}, source=path)


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    """Build a Policy from parsed YAML, with one-sentence errors naming the bad key."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: the policy must be a mapping of keys to values")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise PolicyError(
            f"{source}: unknown key {sorted(unknown)[0]!r}; allowed keys are "
            + ", ".join(sorted(_TOP_KEYS))
        )
    fail_on = DEFAULT_FAIL_ON
    if "fail_on" in data:
        try:
            fail_on = Severity.parse(str(data["fail_on"]))
        except ValueError as exc:
            raise PolicyError(f"{source}: fail_on: {exc}") from None
    allow = data.get("allow_imports") or []
    if not isinstance(allow, list) or not all(isinstance(a, str) and a for a in allow):
        raise PolicyError(f"{source}: allow_imports must be a list of names like 'pkg.Class'")
    suppress = []
    for i, item in enumerate(data.get("suppress") or []):
        if not isinstance(item, dict) or not (set(item) & {"rule", "path", "fingerprint"}):
            raise PolicyError(
                f"{source}: suppress item {i + 1} needs at least one of rule, path, fingerprint"
            )
        bad = set(item) - _SUPPRESS_KEYS
        if bad:
            raise PolicyError(f"{source}: suppress item {i + 1} has unknown key {sorted(bad)[0]!r}")
        suppress.append(Suppression(**{k: str(v) for k, v in item.items()}))
    limits = Limits()
    raw_limits = data.get("limits") or {}
    if not isinstance(raw_limits, dict):
        raise PolicyError(f"{source}: limits must be a mapping")
    names = {f.name for f in dataclasses.fields(Limits)}
    for key, value in raw_limits.items():
        if key not in names:
            raise PolicyError(f"{source}: unknown limit {key!r}; known: {', '.join(sorted(names))}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise PolicyError(f"{source}: limit {key} must be a positive number")
    if raw_limits:
        limits = dataclasses.replace(limits, **raw_limits)
    return Policy(fail_on, tuple(allow), tuple(suppress), limits, source)
