"""Links in answers to hosts not on an allowlist (LLM05), and the URL helpers that the
`images` scanner shares.

Links are reported by the default policy, since they need a click (images do not: see
`dozor.guard.scanners.images`). Relative URLs stay. `allow_hosts` entries match the
host exactly or, written ``*.example.com``, any subdomain of it.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, ClassVar

from dozor.guard.scanners.base import BLOCK, OUTPUT, REDACT, REPORT, Hit, ScanInput, Scanner

_IMAGE = re.compile(
    r"!\[[^\[\]\n]{0,1000}\]\(\s*<?([^)\s>]{1,4096})>?(?:\s+\"[^\"\n]{0,500}\")?\s*\)"
)
_REF_IMAGE = re.compile(r"!\[[^\[\]\n]{0,1000}\]\[([^\]\n]{0,200})\]")
_REF_DEF = re.compile(r"(?m)^[ ]{0,3}\[([^\]\n]{1,200})\]:[ \t]*<?(\S{1,4096}?)>?(?:[ \t].*)?$")
_HTML_IMG = re.compile(r"<img\b[^>]{0,2000}?\bsrc\s*=\s*[\"']?([^\"'\s>]{1,4096})", re.IGNORECASE)
_LINK = re.compile(r"(?<!!)\[[^\[\]\n]{0,1000}\]\(\s*<?([^)\s>]{1,4096})")
_BARE_URL = re.compile(r"(?<![\w(\[<\"'=])(?:https?|ftp)://[^\s<>\"')\]]{1,4096}", re.IGNORECASE)


def host_of(url: str) -> str | None:
    """The host a URL fetches from, or None for relative and data: URLs."""
    url = url.strip()
    if url.lower().startswith("data:"):
        return None
    if url.startswith("//"):
        url = "https:" + url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "(unparseable)"
    if not parts.scheme and not parts.netloc:
        return None
    try:
        host = parts.hostname
    except ValueError:
        host = None
    return (host or "(no host)").lower().rstrip(".")


def allowed(host: str, allow: list[str]) -> bool:
    for entry in allow:
        entry = entry.lower().strip()
        if entry.startswith("*."):
            if host == entry[2:] or host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


def _query_size(url: str) -> int:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return len(url)
    return len(parts.query) + len(parts.fragment) + max(0, len(parts.path) - 40)


class ExternalLinks(Scanner):
    name = "links"
    directions = frozenset({OUTPUT})
    rules = ("DZ-GRD-051",)
    actions = (BLOCK, REDACT, REPORT)
    defaults: ClassVar[dict[str, Any]] = {"allow_hosts": []}

    def scan(self, item: ScanInput) -> list[Hit]:
        text = item.text
        if "://" not in text and "](" not in text:
            return []
        allow = list(self.options["allow_hosts"])
        hits: list[Hit] = []
        seen: set[int] = set()
        for rx in (_LINK, _BARE_URL):
            for m in rx.finditer(text):
                if m.start() in seen:
                    continue
                seen.add(m.start())
                url = m.group(1) if m.groups() else m.group()
                host = host_of(url)
                if host is None or allowed(host, allow):
                    continue
                score = 0.9 if _query_size(url) > 64 else 0.6
                hits.append(Hit("DZ-GRD-051", score, f"link to {host}", m.start(), m.end(),
                                entity="LINK", replacement=f"[link removed: {host}]",
                                details=(("host", host),)))
                if len(hits) >= 200:
                    return hits
        return hits
