"""Secrets and credentials, by `dozor.detect.secrets` (the detectors of `dozor scan`)."""

from __future__ import annotations

from dozor.detect.secrets import KINDS, find_secrets
from dozor.guard.scanners.base import (
    ANONYMIZE,
    BLOCK,
    INPUT,
    OUTPUT,
    REDACT,
    REPORT,
    Hit,
    ScanInput,
    Scanner,
)


class Secrets(Scanner):
    name = "secrets"
    directions = frozenset({INPUT, OUTPUT})
    rules = ("DZ-GRD-011", "DZ-GRD-043")
    actions = (BLOCK, REDACT, ANONYMIZE, REPORT)
    all_roles = True

    def scan(self, item: ScanInput) -> list[Hit]:
        rule = "DZ-GRD-011" if self.direction == INPUT else "DZ-GRD-043"
        hits = []
        for m in find_secrets(item.text):
            label = KINDS[m.kind].label
            hits.append(Hit(rule, m.confidence, f"{label}: {m.redacted}", m.start, m.end,
                            entity="SECRET", details=(("kind", m.kind), ("rule", m.rule_id))))
        return hits
