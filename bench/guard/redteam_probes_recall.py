"""Recall of the injection detector on `dozor redteam`'s probes, per family and language.

A second, independent look at Russian (no Russian injection collection other than our own
training source is available offline): the red-team probes were written for `dozor
redteam` (src/dozor/redteam/probes), as parallel English and Russian attacks, and were
never used to train or tune the detector. All probes are attacks, so this is recall only
(no false-positive rate), and not every family is prompt injection: `agency`,
`packages` and `consumption` ask for harmful actions or floods in plain words, which is
the red team's business, not the injection detector's, so they are listed apart.

    .venv/bin/python bench/guard/redteam_probes_recall.py
"""

from __future__ import annotations

from collections import defaultdict

from dozor.detect.injection import detect_injection
from dozor.redteam.probes import all_probes

NOT_INJECTION = ("agency", "packages", "consumption", "crescendo", "manyshot")
"""Families whose prompts are ordinary requests (the harm is in what is asked, or in a
multi-turn build-up), not instructions that try to override the application's."""


def main() -> None:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for probe in all_probes():
        text = "\n".join(t for t in probe.turns if isinstance(t, str))
        flagged = detect_injection(text).flagged
        for key in ((probe.family, probe.language), ("*injection-like*", probe.language)
                    if probe.family not in NOT_INJECTION else ("*other*", probe.language)):
            counts[key][0] += 1
            counts[key][1] += flagged
    print("| family | EN flagged / probes | RU flagged / probes |")
    print("| --- | --- | --- |")
    families = sorted({f for f, _ in counts}, key=lambda f: (f.startswith("*"), f))
    for family in families:
        cells = []
        for lang in ("en", "ru"):
            n, k = counts.get((family, lang), [0, 0])
            cells.append(f"{k} / {n} ({k / n:.0%})" if n else "–")
        print(f"| {family} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
