"""The scanner plugin interface: one small class per kind of check.

A scanner looks at one text and returns candidate `Hit`s with scores; it never decides
what happens. The pipeline (`dozor.guard.pipeline`) applies the policy: it drops hits
under the scanner's threshold and applies the scanner's action (block, redact,
anonymise, report). So a new check is one module here with a class that declares its
name, directions, rules and options, and implements `scan`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from dozor.guard.conversation import Conversation

INPUT, OUTPUT = "input", "output"
BLOCK, REDACT, ANONYMIZE, REPORT = "block", "redact", "anonymize", "report"
ACTIONS = (BLOCK, REDACT, ANONYMIZE, REPORT)


@dataclass(frozen=True)
class Hit:
    """One thing a scanner saw; the pipeline decides whether it counts."""

    rule_id: str
    score: float
    """0..1; the hit counts when it is at least the scanner's threshold."""
    evidence: str
    """Safe to show and log: never a personal value or a secret in clear."""
    start: int | None = None
    """Span in the scanned text that a redact or anonymize action replaces."""
    end: int | None = None
    entity: str = ""
    """The kind of value in the span (``EMAIL``, ``SECRET``): names its placeholder."""
    replacement: str | None = None
    """What a redaction puts in place of the span; None: ``[<ENTITY> REDACTED]``."""
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ScanInput:
    """One text to scan, with what the scanners may need to judge it."""

    text: str
    """The text as it will be passed on (offsets of hits refer to it)."""
    view: str
    """`dozor.detect.unicode.normalize(text)`: what detectors of meaning should read."""
    hidden: str
    """Text decoded from Unicode tag characters and variation selectors ('' if none)."""
    direction: str
    role: str = "user"
    conversation: Conversation | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Scanner(ABC):
    """A check of one text. Subclasses set the class attributes and `scan`."""

    name: ClassVar[str]
    """The key in the policy (``injection``, ``pii``, ...)."""
    directions: ClassVar[frozenset[str]]
    """``input``, ``output`` or both."""
    rules: ClassVar[tuple[str, ...]]
    """The DZ-GRD ids it can emit; their taxonomy is in `dozor.guard.rules`."""
    actions: ClassVar[tuple[str, ...]] = (BLOCK, REDACT, REPORT)
    """Actions that make sense for it (redact needs spans, anonymize needs values)."""
    defaults: ClassVar[dict[str, Any]] = {}
    """Options and their defaults; the policy may set only these, with the same types."""
    default_threshold: ClassVar[float] = 0.5
    all_roles: ClassVar[bool] = False
    """Runs on every chat message (system and assistant too), not only untrusted ones:
    personal data and secrets must not leave whoever wrote them."""

    def __init__(self, options: Mapping[str, Any], direction: str) -> None:
        self.options = {**self.defaults, **options}
        self.direction = direction
        self.setup()

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Prepare what the options need (compile patterns); raise ValueError if bad."""

    @property
    def taxonomy(self) -> tuple[str, ...]:
        from dozor.guard.rules import RULES

        ids: dict[str, None] = {}
        for rule in self.rules:
            for t in RULES[rule].taxonomy:
                ids.setdefault(t, None)
        return tuple(ids)

    @abstractmethod
    def scan(self, item: ScanInput) -> list[Hit]:
        """Candidate hits in `item`; never raises on any text."""
