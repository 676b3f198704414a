"""What the guard returns: a decision, the text to pass on, and the findings behind it.

Frozen dataclasses, so a result can be logged, cached or sent to another thread as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dozor.findings import Finding


class Decision(StrEnum):
    """What the application should do with the text, worst last."""

    ALLOW = "allow"
    """Pass the text on unchanged (findings may still be reported)."""
    REDACT = "redact"
    """Pass on `GuardResult.text`: secrets redacted, personal data anonymised, hidden
    characters or unsafe images removed."""
    BLOCK = "block"
    """Do not pass the text on; `GuardResult.reasons` says why."""

    @property
    def rank(self) -> int:
        return _RANK[self]

    def worst(self, other: Decision) -> Decision:
        return self if self.rank >= other.rank else other


_RANK = {Decision.ALLOW: 0, Decision.REDACT: 1, Decision.BLOCK: 2}


@dataclass(frozen=True)
class GuardResult:
    """The outcome of one check."""

    decision: Decision
    text: str
    """What to pass on: for input the redacted and anonymised text (the last checked
    message's content when messages were given), for output the text with placeholders
    restored and leaks redacted. When the decision is BLOCK it is the same text, for
    logging; do not pass it on."""
    messages: list[dict[str, Any]] | None
    """For chat input: the messages with every checked content replaced by its
    redacted/anonymised form; None when a plain text was checked."""
    findings: tuple[Finding, ...]
    scores: dict[str, float] = field(default_factory=dict)
    """Highest score per scanner that ran (0..1), including those under threshold."""
    reasons: tuple[str, ...] = ()
    """One line per rule that acted, e.g. ``blocked by injection: prompt injection
    (score 0.97)``; safe to show (no personal values)."""
    seconds: float = 0.0

    @property
    def blocked(self) -> bool:
        return self.decision is Decision.BLOCK

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": str(self.decision),
            "reasons": list(self.reasons),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "findings": [f.to_dict() for f in self.findings],
            "seconds": round(self.seconds, 6),
        }


@dataclass(frozen=True)
class StreamStep:
    """What one chunk of a streamed answer produced."""

    emit: str
    """Text that is safe to send to the client now (may be empty while text is held)."""
    result: GuardResult | None
    """None when nothing was found in this step; a BLOCK decision means stop the stream
    (and send nothing more)."""
