"""Score texts with one peer detector, inside that peer's own venv (run by detection.py).

    <venv>/bin/python bench/guard/detection_peer.py PEER IN.json OUT.json

IN.json: {"texts": [...], "latency": {"short": "...", "4k": "...", "16k": "..."}}
OUT.json: {"scores": [...], "flags": [...], "latency_ms": {...}, "errors": N}
Scores are "probability of injection" (higher = more likely an attack); flags are the
peer's own default decision. Only the standard library and the peer are imported here.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

Scorer = Callable[[str], tuple[float, bool]]


def jailguard_scorer() -> Scorer:
    import jailguard

    def score(text: str) -> tuple[float, bool]:
        r = jailguard.detect(text)
        return float(r.score), bool(r.is_injection)

    return score


def prompt_guardrail_scorer() -> Scorer:
    import warnings

    warnings.filterwarnings("ignore")
    import guardify

    def score(text: str) -> tuple[float, bool]:
        r = guardify.detect(text)
        inj = r["label"] == "injection"
        p = float(r["score"])
        return (p if inj else 1.0 - p), inj

    return score


# Classic phrasings for LLM Guard's BanSubstrings (it ships no list of its own; these are
# the textbook examples from the OWASP LLM01 page and Perez & Ribeiro 2022).
BANNED = [
    "ignore previous instructions", "ignore all previous instructions",
    "ignore the above", "disregard previous instructions", "disregard all previous",
    "forget your instructions", "forget all previous", "you are now dan", "do anything now",
    "developer mode enabled", "jailbreak", "system prompt", "reveal your instructions",
    "ignore your guidelines", "act as an unrestricted",
]


def llm_guard_scorer() -> Scorer:
    import logging

    logging.disable(logging.CRITICAL)
    from llm_guard.input_scanners import BanSubstrings, InvisibleText

    scanners = [InvisibleText(), BanSubstrings(substrings=BANNED, case_sensitive=False)]

    def score(text: str) -> tuple[float, bool]:
        worst, flagged = 0.0, False
        for s in scanners:
            _, valid, risk = s.scan(text)
            if not valid:
                flagged = True
                worst = max(worst, 1.0)
            worst = max(worst, float(risk) if risk is not None and risk > 0 else 0.0)
        return worst, flagged

    return score


PEERS: dict[str, Callable[[], Scorer]] = {
    "jailguard": jailguard_scorer,
    "prompt-guardrail": prompt_guardrail_scorer,
    "llm-guard": llm_guard_scorer,
}


def main() -> None:
    peer, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(src, encoding="utf-8") as fh:
        job = json.load(fh)
    scorer = PEERS[peer]()
    scores, flags, errors = [], [], 0
    for text in job["texts"]:
        try:
            s, f = scorer(text)
        except Exception:  # a peer that crashes on an input scores 0 there, and we count it
            s, f, errors = 0.0, False, errors + 1
        scores.append(s)
        flags.append(f)
    latency = {}
    for name, text in job.get("latency", {}).items():
        scorer(text)
        times = []
        for _ in range(int(job.get("repeats", 30))):
            t0 = time.perf_counter()
            scorer(text)
            times.append((time.perf_counter() - t0) * 1000)
        latency[name] = round(statistics.median(times), 3)
    with open(dst, "w", encoding="utf-8") as fh:
        json.dump({"scores": scores, "flags": flags, "latency_ms": latency,
                   "errors": errors}, fh)


if __name__ == "__main__":
    main()
