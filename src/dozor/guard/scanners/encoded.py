"""Encoded payloads: base64, hex, rot13, leetspeak and URL-encoded spans, decoded by
`dozor.detect.encodings.decode_spans` and judged again by the injection detector and the
policy's banned words, topics and patterns.

A decoded span is only a finding when what it says is an attack or banned: ordinary
text carries base64 images, hashes in hex and percent-encoded URLs all the time.
"""

from __future__ import annotations

from dozor.detect.encodings import decode_spans
from dozor.guard.scanners.base import (
    BLOCK,
    INPUT,
    REDACT,
    REPORT,
    Hit,
    ScanInput,
    Scanner,
)
from dozor.guard.scanners.injection import judge


class EncodedPayload(Scanner):
    name = "encoded"
    directions = frozenset({INPUT})
    rules = ("DZ-GRD-006",)
    actions = (BLOCK, REDACT, REPORT)
    defaults = {"max_depth": 2}

    def scan(self, item: ScanInput) -> list[Hit]:
        spans = decode_spans(item.text, max_depth=int(self.options["max_depth"]))
        if not spans:
            return []
        banned = item.extra.get("banned")
        hits: list[Hit] = []
        for span in spans:
            what: list[tuple[float, str]] = []
            judged = judge(span.decoded)
            if judged is not None and judged[0] > 0:
                what.append((judged[0], f"an injection ({judged[1]})"))
            if banned is not None:
                for h in banned.match(span.decoded):
                    what.append((h.score, h.evidence))
            if not what:
                continue
            score, said = max(what)
            hits.append(Hit("DZ-GRD-006", score,
                            f"{span.encoding} at {span.start}..{span.end} decodes to {said}",
                            span.start, span.end, entity="ENCODED",
                            details=(("encoding", span.encoding),)))
        return hits
