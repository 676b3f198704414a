"""Hidden and confusable Unicode, by `dozor.detect.unicode.inspect_unicode`.

Redaction removes the hidden characters (tag characters, variation-selector payloads,
zero-width, bidi controls) and folds look-alike letters, so the model reads what a
person sees; styled letters (fullwidth, mathematical) are left as they are. Scores say
how likely each kind is an attack: text in tag characters is never innocent, one
zero-width space often is.
"""

from __future__ import annotations

from dozor.detect.unicode import inspect_unicode
from dozor.guard.scanners.base import (
    BLOCK,
    INPUT,
    OUTPUT,
    REDACT,
    REPORT,
    Hit,
    ScanInput,
    Scanner,
)

_SCORES = {"tag": 1.0, "variation": 1.0, "bidi": 0.8, "mixed-script": 0.6, "invisible": 0.5,
           "styled": 0.2}
_RULES = {"tag": "DZ-GRD-002", "variation": "DZ-GRD-002", "invisible": "DZ-GRD-003",
          "bidi": "DZ-GRD-004", "mixed-script": "DZ-GRD-005", "styled": "DZ-GRD-007"}


class HiddenUnicode(Scanner):
    name = "unicode"
    directions = frozenset({INPUT, OUTPUT})
    rules = ("DZ-GRD-002", "DZ-GRD-003", "DZ-GRD-004", "DZ-GRD-005", "DZ-GRD-007", "DZ-GRD-053")
    actions = (BLOCK, REDACT, REPORT)

    def scan(self, item: ScanInput) -> list[Hit]:
        if item.text.isascii():
            return []
        hits: list[Hit] = []
        for h in inspect_unicode(item.text).hits:
            rule = _RULES[h.kind] if self.direction == INPUT else "DZ-GRD-053"
            score = _SCORES[h.kind]
            if h.kind == "invisible" and h.end - h.start == 1:
                score = 0.3  # one stray zero-width character is usually copy-and-paste
            if h.kind == "variation" and not h.plain:
                # a payload that decodes is an attack; a long run of selectors is odd;
                # one or two are how emoji and CJK variants are written
                score = 0.6 if h.end - h.start > 2 else 0.2
            details = (("kind", h.kind),)
            evidence = f"{h.kind}: {h.detail}"
            if h.kind == "styled":
                hits.append(Hit(rule, score, evidence, details=details))
                continue
            replacement = h.plain if h.kind == "mixed-script" else ""
            hits.append(Hit(rule, score, evidence, h.start, h.end, entity="HIDDEN",
                            replacement=replacement, details=details))
        return hits
