"""Prompt injection and jailbreak, by `dozor.detect.injection` (signatures + classifier).

Scores are the detector's, rescaled so that its calibrated threshold is 0.5 (see
`calibrate`): the policy's default threshold 0.5 means "block what the detector flags";
a higher threshold blocks less. Reads the normalised view of the text (hidden characters
removed, tag characters decoded, homoglyphs folded) and, separately, what was hidden in
tag characters, so an instruction written in invisible characters is judged as text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from dozor.guard.scanners.base import BLOCK, INPUT, REPORT, Hit, ScanInput, Scanner


def detector() -> Any:
    """`dozor.detect.injection.detect_injection`, or None while it is not installed."""
    try:
        from dozor.detect.injection import detect_injection
    except ImportError:
        return None
    return detect_injection


Judged = tuple[float, str, tuple[tuple[str, str], ...]]
_CACHE: OrderedDict[str, Judged] = OrderedDict()
_CACHE_SIZE, _CACHE_TEXT = 1024, 20_000
_LOCK = threading.Lock()


def judge(text: str) -> Judged | None:
    """(score, evidence, details) for `text`, or None when no detector is available.

    Results for texts up to 20,000 characters are cached (the last 1,024): a chat
    request carries the whole history, so each earlier message would be judged again
    on every turn."""
    if len(text) <= _CACHE_TEXT:
        with _LOCK:
            found = _CACHE.get(text)
            if found is not None:
                _CACHE.move_to_end(text)
                return found
    judged = _judge(text)
    if judged is not None and len(text) <= _CACHE_TEXT:
        with _LOCK:
            _CACHE[text] = judged
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return judged


def _judge(text: str) -> Judged | None:
    detect = detector()
    if detect is None or not text.strip():
        return None
    try:
        result = detect(text)
    except Exception as exc:  # a detector bug must not take the guard down
        return 0.0, f"injection detector failed: {type(exc).__name__}", ()
    raw = float(result.score)
    cut = float(getattr(result, "threshold", 0.5) or 0.5)
    score = calibrate(raw, cut)
    sigs = tuple(getattr(result, "signatures", ()) or ())
    families = sorted({f"{s.family} ({s.language})" for s in sigs})
    evidence = f"score {raw:.2f} (detector threshold {cut:.2f})"
    if families:
        evidence += "; signatures: " + ", ".join(families[:5])
    details = tuple(("signature", s.id) for s in sigs[:10])
    window = getattr(result, "window", None)
    if isinstance(window, tuple) and len(window) == 2 and window != (0, 0):
        details = (*details, ("window", f"{window[0]}-{window[1]}"))
    return score, evidence, details


def calibrate(score: float, threshold: float) -> float:
    """The detector's score mapped so that its own threshold becomes 0.5 (piecewise
    linear), so a policy threshold of 0.5 means "what the detector flags"."""
    threshold = min(max(threshold, 1e-6), 1 - 1e-6)
    score = min(max(score, 0.0), 1.0)
    if score < threshold:
        return 0.5 * score / threshold
    return 0.5 + 0.5 * (score - threshold) / (1 - threshold)


class Injection(Scanner):
    name = "injection"
    directions = frozenset({INPUT})
    rules = ("DZ-GRD-001",)
    actions = (BLOCK, REPORT)

    def scan(self, item: ScanInput) -> list[Hit]:
        hits: list[Hit] = []
        for text, where in ((item.view, ""), (item.hidden, "hidden text: ")):
            judged = judge(text)
            if judged is None:
                continue
            score, evidence, details = judged
            start = None
            window = dict(details).get("window")
            if window and not where and item.view == item.text:
                start = int(window.split("-")[0])  # where the worst window starts
            hits.append(Hit("DZ-GRD-001", score, where + evidence, start, start,
                            details=details))
        return hits
