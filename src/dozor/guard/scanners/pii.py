"""Personal data, by `dozor.detect.pii.find_pii`.

On input the default action anonymises: values become placeholders such as
``<EMAIL_1>`` that the guard restores in the answer. On output, values that the user
gave in the same conversation (held in its vault) are not leaks and are not reported.
"""

from __future__ import annotations

from dozor.detect.secrets import redact
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

DEFAULT_ENTITIES = ["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "RU_PASSPORT",
                    "RU_INN", "RU_SNILS", "IP_ADDRESS"]


class PersonalData(Scanner):
    name = "pii"
    directions = frozenset({INPUT, OUTPUT})
    rules = ("DZ-GRD-010", "DZ-GRD-042")
    actions = (BLOCK, REDACT, ANONYMIZE, REPORT)
    defaults = {"entities": DEFAULT_ENTITIES, "languages": ["en", "ru"]}
    all_roles = True

    def setup(self) -> None:
        from dozor.detect.pii import ENTITIES

        unknown = [e for e in self.options["entities"] if e not in ENTITIES]
        if unknown:
            raise ValueError(f"unknown entities {', '.join(unknown)}; "
                             f"choose from {', '.join(sorted(ENTITIES))}")

    def scan(self, item: ScanInput) -> list[Hit]:
        from dozor.detect.pii import find_pii

        rule = "DZ-GRD-010" if self.direction == INPUT else "DZ-GRD-042"
        known: set[str] = set()
        if self.direction == OUTPUT and item.conversation is not None:
            known = item.conversation.vault.values()
        hits = []
        for m in find_pii(item.text, entities=self.options["entities"],
                          languages=self.options["languages"], min_score=0.0):
            if m.text in known or m.text.lower() in known:
                continue
            hits.append(Hit(rule, m.score, f"{m.entity}: {redact(m.text)}", m.start, m.end,
                            entity=m.entity, details=(("entity", m.entity),)))
        return hits
