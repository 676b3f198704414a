"""System-prompt leakage in answers: the canary, and text copied from the system prompt.

`Guard.prepare_system_prompt` adds a random canary token to the system prompt and
remembers the prompt's word n-grams in the conversation. An answer that contains the
canary (in any case, with or without its prefix) repeated the system prompt; an answer
that shares n-grams of `ngram` words with it copied part of it. The overlap score is
matched n-grams / `min_ngrams`, capped at 1, so with the defaults (8-word n-grams,
3 of them) nine consecutive words copied score 0.67 and block at threshold 0.5.
"""

from __future__ import annotations

import re

from dozor.guard.scanners.base import BLOCK, OUTPUT, REDACT, REPORT, Hit, ScanInput, Scanner

_WORDS = re.compile(r"\w+")


def ngram_hashes(text: str, n: int) -> frozenset[int]:
    """Hashes of the lower-cased word n-grams of `text`."""
    words = _WORDS.findall(text.lower())
    return frozenset(hash(tuple(words[i : i + n])) for i in range(max(0, len(words) - n + 1)))


class PromptLeakage(Scanner):
    name = "leakage"
    directions = frozenset({OUTPUT})
    rules = ("DZ-GRD-040", "DZ-GRD-041")
    actions = (BLOCK, REDACT, REPORT)
    defaults = {"canary": True, "overlap": True, "ngram": 8, "min_ngrams": 3}

    def scan(self, item: ScanInput) -> list[Hit]:
        conv = item.conversation
        if conv is None:
            return []
        hits: list[Hit] = []
        if self.options["canary"] and conv.canary:
            secret = conv.canary.rsplit("-", 1)[-1].lower()
            for text in (item.text, item.view):
                pos = text.lower().find(secret)
                if pos >= 0:
                    start = text.lower().rfind(conv.canary.lower(), 0, pos + len(secret))
                    start = start if start >= 0 else pos
                    hits.append(Hit("DZ-GRD-040", 1.0, "the conversation's canary token",
                                    start, pos + len(secret), entity="CANARY",
                                    replacement="") if text is item.text else
                                Hit("DZ-GRD-040", 1.0, "the conversation's canary token "
                                    "(after normalisation)"))
                    break
        n = int(self.options["ngram"])
        prompt = conv.prompt_ngrams(n)
        if self.options["overlap"] and prompt:
            words = _WORDS.findall(item.view.lower())
            matched = sum(1 for i in range(max(0, len(words) - n + 1))
                          if hash(tuple(words[i : i + n])) in prompt)
            if matched:
                need = max(1, int(self.options["min_ngrams"]))
                hits.append(Hit("DZ-GRD-041", min(1.0, matched / need),
                                f"{matched} runs of {n} words copied from the system prompt",
                                details=(("ngrams", str(matched)),)))
        return hits
