"""The detector interface and the text views detectors match against.

A detector looks at one finished attempt (`Context`: the probe, the planted canary
and system prompt, the replies) and gives a `Verdict`. Attackers and obedient models
disguise what leaks (spaced out, base64, homoglyphs, tag characters), so detectors
match against several `views` of a reply, not just its raw text.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Protocol

from dozor.redteam.base import Attempt, Reply, Verdict

MAX_VIEW_CHARS = 200_000


@dataclass(frozen=True)
class Context:
    attempt: Attempt
    replies: tuple[Reply, ...]

    @property
    def probe(self):  # type: ignore[no-untyped-def]
        return self.attempt.probe

    @property
    def answered(self) -> tuple[Reply, ...]:
        """Replies that reached the client (a guard's refusal is not the app's answer)."""
        return tuple(r for r in self.replies if not r.blocked and not r.error)

    @property
    def last(self) -> Reply | None:
        return self.replies[-1] if self.replies else None

    def text(self) -> str:
        return "\n".join(r.text for r in self.answered)[:MAX_VIEW_CHARS]


class Detector(Protocol):
    name: str

    def judge(self, ctx: Context) -> Verdict: ...


_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}){8,}\b")


def normalize(text: str) -> str:
    """NFKC, tag characters made visible, zero-width removed, homoglyphs folded: the
    shared `dozor.detect.unicode.normalize`."""
    from dozor.detect.unicode import normalize as shared

    return shared(text)


_FOLD = str.maketrans({"А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
                       "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y",
                       "І": "I", "Ѕ": "S", "Ј": "J"})
_DELEET = str.maketrans({"0": "O", "1": "I", "3": "E", "4": "A", "5": "S", "7": "T"})


def compact(text: str) -> str:
    """Letters and digits only, upper case: survives spelling-out and punctuation."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def skeleton(text: str) -> str:
    """`compact`, with Cyrillic look-alikes folded to Latin and leetspeak digits to
    letters: a random marker keeps its skeleton through every converter."""
    return compact(text).translate(_FOLD).translate(_DELEET)


def decoded(text: str, limit: int = 50) -> list[str]:
    """base64 and hex spans decoded to text (bounded count)."""
    out: list[str] = []
    for m in list(_B64.finditer(text))[:limit]:
        chunk = m.group(0)
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=False)
            out.append(raw.decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            pass
    for m in list(_HEX.finditer(text))[:limit]:
        try:
            out.append(bytes.fromhex(m.group(0)).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass
    return out


def views(text: str) -> list[str]:
    """The reply as written, normalised, and every encoded span decoded."""
    text = text[:MAX_VIEW_CHARS]
    norm = normalize(text)
    out = [text] if norm == text else [text, norm]
    out += decoded(norm)
    return out


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """Context around a match, one line."""
    a, b = max(0, start - width), min(len(text), end + width)
    return (("…" if a else "") + text[a:b] + ("…" if b < len(text) else "")).replace("\n", " ")
