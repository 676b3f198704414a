"""Personal data, by `dozor.detect.pii.find_pii`.

On input the default action anonymises: values become placeholders such as
``<EMAIL_1>`` that the guard restores in the answer. On output, values that the user
gave in the same conversation (held in its vault) are not leaks and are not reported.
Loopback, private and reserved IP addresses are not personal data and are skipped.

The default policy's threshold is 0.7: the detector scores values with a validated
format (check digits, an e-mail shape) or a context word ("phone", "ИНН") 0.7 and more,
and bare digit runs that merely look like a phone number (a year range ``2019-2020``)
0.6, which would otherwise be anonymised in ordinary prompts.
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


def _public_ip(text: str) -> bool:
    """False for loopback, private, link-local, documentation and other reserved
    addresses, which identify no person; True for the rest (and for what does not parse)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return True
    return address.is_global


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
            if m.entity == "IP_ADDRESS" and not _public_ip(m.text):
                continue  # 127.0.0.1 and 192.168.1.1 identify no one
            hits.append(Hit(rule, m.score, f"{m.entity}: {redact(m.text)}", m.start, m.end,
                            entity=m.entity, details=(("entity", m.entity),)))
        return hits
