"""Make text from hostile inputs safe to show a person.

Evidence, member names and paths come from the files scanned. Shown raw, an escape
sequence in a pickle string could recolour, retitle or rewrite the user's terminal,
and a bidi override could make a path read differently from what it is. Renderers
for people (the console, SARIF messages shown on GitHub) pass text through
`printable`; machine formats (JSON, SARIF properties) keep the data as it was.
"""

from __future__ import annotations

import re

# C0 and C1 controls except tab and newline, DEL, bidi embeddings/overrides/isolates,
# and the invisible marks that can hide or reorder text.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """`text` with control and invisible characters shown as ``\\xNN`` / ``\\uNNNN``."""
    out = _UNSAFE.sub(_escape, text)
    return out if newlines else out.replace("\n", "\\n")
