"""The red team's own small data model: what is sent, what comes back, what it means.

A `Probe` is one attack written as data (its user turns, its goal, its OWASP and
ATLAS ids, its language, the detectors that decide whether it worked). The harness
turns a probe and a converter into an `Attempt`, sends its turns to a `Target`, which
answers with a `Reply` (text and any tool calls), and the detectors give a `Verdict`.
Everything here is a frozen dataclass so results can be stored, compared and resumed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """One tool call an application asked for (OpenAI ``tool_calls`` shape)."""

    name: str
    arguments: str = "{}"
    """The raw JSON string of arguments, as the application sent it."""

    def args(self) -> dict[str, Any]:
        """Arguments as a dict; malformed JSON gives ``{"_raw": text}``, never an error."""
        try:
            value = json.loads(self.arguments[:100_000])
        except (ValueError, RecursionError):
            return {"_raw": self.arguments[:2000]}
        return value if isinstance(value, dict) else {"_value": value}


@dataclass(frozen=True)
class Reply:
    """What a target answered to one request."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    status: int = 200
    """HTTP status (200 for callables)."""
    blocked: bool = False
    """A guard in front of the application refused the request or cut the answer."""
    error: str = ""
    """Why there is no answer (transport error, budget); empty when there is one."""
    tokens: int = 0
    """Tokens used as the target reported them, else estimated from characters."""
    seconds: float = 0.0


@dataclass(frozen=True)
class Probe:
    """One attack as data, with the metadata reports and policies group by."""

    id: str
    """Stable id: ``<family>.<variant>.<lang>.<n>``, e.g. ``injection.direct.en.0``."""
    family: str
    """Plugin family (module name under ``dozor.redteam.probes``)."""
    owasp: str
    """OWASP LLM Top 10 2025 id, e.g. ``LLM01:2025``."""
    atlas: tuple[str, ...]
    """MITRE ATLAS technique ids."""
    language: str
    """ISO 639-1 code of the attack text (``en``, ``ru``, ...)."""
    goal: str
    """What success means, in one line."""
    turns: tuple[str, ...]
    """User messages, sent one after another in one conversation (memory kept)."""
    detectors: tuple[str, ...]
    """Detector names; the attack succeeded when any of them hits."""
    expect: tuple[str, ...] = ()
    """Strings a pattern detector looks for (a rogue marker, an echoed payload)."""
    tools: tuple[dict[str, Any], ...] = ()
    """OpenAI tool specs offered to the application with the request."""
    plant: bool = True
    """Plant a system prompt holding a canary secret before the turns."""
    convertible: bool = True
    """Converters may rewrite the last turn (false where encoding would void the test)."""


@dataclass(frozen=True)
class Attempt:
    """A probe with one converter applied, ready to send."""

    id: str
    probe: Probe
    converter: str
    turns: tuple[str, ...]
    canary: str
    system_prompt: str


@dataclass(frozen=True)
class Verdict:
    """One detector's judgement of one attempt."""

    detector: str
    hit: bool
    """True when the attack succeeded by this detector's measure."""
    score: float = 0.0
    evidence: str = ""
    """What was seen, redacted: never a secret or personal value in clear."""


@dataclass(frozen=True)
class Result:
    """One attempt, sent and judged; what the store keeps and reports read."""

    attempt_id: str
    probe_id: str
    family: str
    owasp: str
    atlas: tuple[str, ...]
    language: str
    converter: str
    goal: str
    success: bool
    transcript: tuple[tuple[str, str], ...]
    """(role, content) pairs, system prompt excluded; tool calls as ``tool_call`` rows."""
    verdicts: tuple[Verdict, ...] = ()
    error: str = ""
    requests: int = 0
    tokens: int = 0
    seconds: float = 0.0
    blocked: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return max((v.score for v in self.verdicts if v.hit), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["atlas"] = list(self.atlas)
        data["transcript"] = [list(t) for t in self.transcript]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        verdicts = tuple(Verdict(**v) for v in data.get("verdicts", ()))
        return cls(
            attempt_id=data["attempt_id"],
            probe_id=data["probe_id"],
            family=data["family"],
            owasp=data["owasp"],
            atlas=tuple(data.get("atlas", ())),
            language=data.get("language", ""),
            converter=data.get("converter", "none"),
            goal=data.get("goal", ""),
            success=bool(data["success"]),
            transcript=tuple((str(r), str(c)) for r, c in data.get("transcript", ())),
            verdicts=verdicts,
            error=data.get("error", ""),
            requests=int(data.get("requests", 0)),
            tokens=int(data.get("tokens", 0)),
            seconds=float(data.get("seconds", 0.0)),
            blocked=bool(data.get("blocked", False)),
            extra=dict(data.get("extra", {})),
        )


def estimate_tokens(text: str) -> int:
    """About four characters a token: a budget guard, not a tokenizer."""
    return max(1, len(text) // 4)
