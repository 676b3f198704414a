"""Class-balance shift between two versions of a dataset.

A poisoning campaign or a broken labelling job often shows first as a change in how
often each label occurs. Two measures are reported: the total variation distance
(half the L1 distance between the label shares: "this much of the distribution
moved") and a chi-square test of independence between version and label (is the
change more than sampling noise at this size?).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BalanceShift:
    old_counts: tuple[tuple[str, int], ...]
    new_counts: tuple[tuple[str, int], ...]
    total_variation: float
    chi2: float
    p_value: float
    added: tuple[str, ...]
    """Labels only in the new version."""
    removed: tuple[str, ...]
    """Labels only in the old version."""
    largest: tuple[str, float]
    """The label whose share moved most, and by how much (new share minus old)."""


def balance_shift(old: Iterable[object], new: Iterable[object]) -> BalanceShift:
    """Compare the labels of two versions (any iterables of label values)."""
    return shift_from_counts(Counter(str(x) for x in old), Counter(str(x) for x in new))


def shift_from_counts(a: Counter[str], b: Counter[str]) -> BalanceShift:
    """Compare two label histograms."""
    from scipy.stats import chi2_contingency

    labels = sorted(set(a) | set(b))
    na, nb = max(a.total(), 1), max(b.total(), 1)
    moves = {k: b[k] / nb - a[k] / na for k in labels}
    tv = 0.5 * float(np.abs(np.array(list(moves.values()))).sum()) if moves else 0.0
    if len(labels) > 1 and a.total() and b.total():
        table = [[a[k] for k in labels], [b[k] for k in labels]]
        chi2, p, _, _ = chi2_contingency(table)
    else:
        chi2, p = 0.0, 1.0
    largest = max(moves.items(), key=lambda kv: abs(kv[1])) if moves else ("", 0.0)
    return BalanceShift(tuple(sorted(a.items())), tuple(sorted(b.items())), float(tv),
                        float(chi2), float(p), tuple(k for k in labels if not a[k]),
                        tuple(k for k in labels if not b[k]), largest)
