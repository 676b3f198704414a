"""Size and token limits: floods that run up cost or exhaust context (LLM10).

Tokens are estimated, not counted: a real tokenizer costs more than the rest of the
guard together. The estimate is UTF-8 bytes / 4, which is about one token per four
characters for English under OpenAI's BPE tokenisers and counts two Cyrillic
characters per token, which over-estimates Russian (safe for a limit).
"""

from __future__ import annotations

from dozor.guard.scanners.base import BLOCK, INPUT, REPORT, Hit, ScanInput, Scanner


def estimate_tokens(text: str) -> int:
    """About how many tokens `text` is: ceil(UTF-8 bytes / 4)."""
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    return (size + 3) // 4


class Limits(Scanner):
    name = "limits"
    directions = frozenset({INPUT})
    rules = ("DZ-GRD-030", "DZ-GRD-031")
    actions = (BLOCK, REPORT)
    defaults = {"max_chars": 100_000, "max_tokens": 32_000}

    def scan(self, item: ScanInput) -> list[Hit]:
        hits: list[Hit] = []
        size = len(item.text)
        max_chars = int(self.options["max_chars"])
        if max_chars and size > max_chars:
            hits.append(Hit("DZ-GRD-030", 1.0, f"{size} characters; the limit is {max_chars}",
                            details=(("chars", str(size)),)))
        tokens = estimate_tokens(item.text)
        max_tokens = int(self.options["max_tokens"])
        if max_tokens and tokens > max_tokens:
            hits.append(Hit("DZ-GRD-031", 1.0,
                            f"about {tokens} tokens; the limit is {max_tokens}",
                            details=(("tokens", str(tokens)),)))
        return hits
