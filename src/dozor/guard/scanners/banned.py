"""Banned words, topics and patterns that the policy lists.

Words and topic phrases are matched whole-word and case-insensitively on the text and on
its normalised form (so zero-width characters and look-alike letters do not hide them).
A topic is a named list of phrases in any language.

Regular expressions from a policy are hostile to the guard's latency if they can
backtrack catastrophically, and Python's `re` has no time limit. So patterns are
restricted RE2-style when the policy is loaded: no backreferences, no repetition inside
an unbounded repetition (star height one: ``(a+)+``, ``(a|ab)*`` and ``(x{1,9})*`` are
refused), at most four unbounded repetitions per pattern; and they run on at most
`max_chars` characters. Such patterns run in time linear or low-polynomial in the text.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

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

try:  # the parser behind `re`; present in CPython 3.11+ as re._parser
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

MAX_PATTERNS = 200
MAX_UNBOUNDED = 4
_UNBOUNDED = 65535  # MAXREPEAT as the parser reports it (sre_constants.MAXREPEAT)


def check_pattern(pattern: str) -> re.Pattern[str]:
    """Compile `pattern` if it obeys the restrictions above; ValueError saying why not."""
    if len(pattern) > 1000:
        raise ValueError("pattern longer than 1000 characters")
    try:
        tree = _sre_parse.parse(pattern, 0)
    except re.error as exc:
        raise ValueError(f"invalid regular expression ({exc})") from None
    unbounded = [0]

    def walk(items: Any, inside_unbounded: bool) -> None:
        for op, arg in items:
            name = str(op)
            if name in ("GROUPREF", "GROUPREF_EXISTS"):
                raise ValueError("backreferences are not allowed")
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = arg
                is_unbounded = high >= _UNBOUNDED or high > 1000
                if inside_unbounded and (high > 1 or is_unbounded):
                    raise ValueError("a repetition inside an unbounded repetition can "
                                     "backtrack catastrophically")
                if is_unbounded:
                    unbounded[0] += 1
                    if _has_branch(sub):
                        raise ValueError("an alternation inside an unbounded repetition can "
                                         "backtrack catastrophically")
                walk(sub, inside_unbounded or is_unbounded)
            elif name == "SUBPATTERN":
                walk(arg[-1], inside_unbounded)
            elif name == "BRANCH":
                for branch in arg[1]:
                    walk(branch, inside_unbounded)
            elif name in ("ASSERT", "ASSERT_NOT"):
                walk(arg[1], inside_unbounded)
            elif name == "ATOMIC_GROUP":
                walk(arg, inside_unbounded)

    walk(tree, False)
    if unbounded[0] > MAX_UNBOUNDED:
        raise ValueError(f"more than {MAX_UNBOUNDED} unbounded repetitions")
    return re.compile(pattern, re.IGNORECASE)


def _has_branch(items: Any) -> bool:
    for op, arg in items:
        name = str(op)
        if name == "BRANCH":
            return True
        if name == "SUBPATTERN" and _has_branch(arg[-1]):
            return True
    return False


def _phrases(words: list[str]) -> re.Pattern[str] | None:
    cleaned = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    body = "|".join(r"\s+".join(re.escape(p) for p in w.split()) for w in cleaned)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


class Banned(Scanner):
    name = "banned"
    directions = frozenset({INPUT, OUTPUT})
    rules = ("DZ-GRD-020",)
    actions = (BLOCK, REDACT, REPORT)
    defaults: ClassVar[dict[str, Any]] = {"words": [], "topics": {}, "patterns": [],
                                "max_chars": 100_000}

    def setup(self) -> None:
        words = self.options["words"]
        topics = self.options["topics"]
        patterns = self.options["patterns"]
        if not all(isinstance(w, str) for w in words):
            raise ValueError("words must be a list of strings")
        if not all(isinstance(k, str) and isinstance(v, list)
                   and all(isinstance(x, str) for x in v) for k, v in topics.items()):
            raise ValueError("topics must map a topic name to a list of phrases")
        if len(patterns) > MAX_PATTERNS:
            raise ValueError(f"at most {MAX_PATTERNS} patterns")
        self._words = _phrases(words)
        self._topics = [(name, rx) for name, phrases in topics.items()
                        if (rx := _phrases(phrases)) is not None]
        compiled = []
        for i, p in enumerate(patterns):
            if not isinstance(p, str):
                raise ValueError(f"patterns[{i}] must be a string")
            try:
                compiled.append((i, check_pattern(p)))
            except ValueError as exc:
                raise ValueError(f"patterns[{i}]: {exc}") from None
        self._patterns = compiled

    def match(self, text: str) -> list[Hit]:
        """Hits in `text` (offsets into it); used on decoded payloads too."""
        text = text[: int(self.options["max_chars"])]
        hits: list[Hit] = []
        if self._words is not None:
            for m in self._words.finditer(text):
                hits.append(Hit("DZ-GRD-020", 1.0, f"banned word {m.group().lower()!r}",
                                m.start(), m.end(), entity="BANNED",
                                details=(("word", m.group().lower()),)))
        for topic, rx in self._topics:
            for m in rx.finditer(text):
                hits.append(Hit("DZ-GRD-020", 1.0, f"banned topic {topic!r}", m.start(),
                                m.end(), entity="BANNED", details=(("topic", topic),)))
        for i, rx in self._patterns:
            for n, m in enumerate(rx.finditer(text)):
                if n >= 100 or m.end() == m.start():
                    break
                hits.append(Hit("DZ-GRD-020", 1.0, f"banned pattern {i}", m.start(), m.end(),
                                entity="BANNED", details=(("pattern", str(i)),)))
        return hits

    def scan(self, item: ScanInput) -> list[Hit]:
        hits = self.match(item.text)
        if item.view is item.text or item.view == item.text:
            return hits
        # what only the normalised view shows (a word hidden by zero-width characters or
        # look-alike letters) has no place in the text: a finding without a span
        seen: dict[str, int] = {}
        for h in hits:
            seen[h.evidence] = seen.get(h.evidence, 0) + 1
        for h in self.match(item.view):
            if seen.get(h.evidence, 0) > 0:
                seen[h.evidence] -= 1
                continue
            hits.append(Hit(h.rule_id, h.score, h.evidence, details=h.details))
        return hits
