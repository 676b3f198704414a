"""Backdoor-trigger hints: a rare token, feature value or pixel patch that almost always
comes with one label.

A backdoor is planted by adding a trigger (a token such as ``cf``, a feature set to an
odd value, a small patch of pixels) to a few training examples and giving them the
attacker's label; the model learns "trigger means that label". In the data it shows as
a pattern that is rare (a small share of rows), pure (nearly all its rows carry one
label) and far purer than that label's base rate. Each candidate is tested against the
base rate with a one-sided binomial test, so a handful of rows cannot pass by chance.

Natural data has such patterns too (a product name that only appears in positive
reviews): these are hints to look at, not proof; the finding names the pattern, its
support and purity so a person can judge quickly.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"\S+")
MAX_TOKENS_PER_ROW = 512
MAX_DISTINCT = 2_000_000
MAX_PATCH_CANDIDATES = 4_000


@dataclass(frozen=True)
class TriggerHint:
    """A pattern that almost always comes with one label."""

    kind: str
    """``token``, ``value`` or ``patch``."""
    pattern: str
    """The token, ``column == value``, or the patch's box and value."""
    label: str
    support: int
    """Rows that contain the pattern."""
    purity: float
    """Share of those rows that carry `label`."""
    base_rate: float
    """Share of all rows that carry `label`."""
    p_value: float
    rows: tuple[int, ...] = ()
    """A few example rows."""


@dataclass(frozen=True)
class TriggerLimits:
    min_support: int = 8
    max_share: float = 0.05
    """A pattern in more than this share of rows is not rare."""
    min_purity: float = 0.95
    min_lift: float = 1.5
    """Purity must exceed the label's base rate by this factor."""
    max_p: float = 1e-6


def _binom_sf(k: int, n: int, p: float) -> float:
    """P[X >= k] for X ~ Binomial(n, p)."""
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, p))


def _judge(counter: dict[str, Counter[int]], base: np.ndarray, names: Sequence[str],
           n: int, limits: TriggerLimits, kind: str,
           examples: dict[str, list[int]]) -> list[TriggerHint]:
    hints = []
    max_support = max(limits.min_support, int(limits.max_share * n))
    for pattern, by_label in counter.items():
        support = sum(by_label.values())
        if support < limits.min_support or support > max_support:
            continue
        label, top = by_label.most_common(1)[0]
        purity = top / support
        rate = float(base[label])
        if purity < limits.min_purity or purity < limits.min_lift * rate:
            continue
        p = _binom_sf(top, support, rate)
        if p > limits.max_p:
            continue
        hints.append(TriggerHint(kind, pattern, names[label], support, purity, rate, p,
                                 tuple(examples.get(pattern, ())[:5])))
    hints.sort(key=lambda h: (h.p_value, -h.support))
    return hints


def token_triggers(texts: Sequence[str | None], labels: np.ndarray, names: Sequence[str],
                   limits: TriggerLimits | None = None) -> list[TriggerHint]:
    """Whitespace tokens (case kept: ``cf`` and ``CF`` differ) that look like triggers."""
    limits = limits or TriggerLimits()
    n = len(labels)
    base = np.bincount(labels, minlength=len(names)) / max(n, 1)
    counter: dict[str, Counter[int]] = defaultdict(Counter)
    examples: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        if not text:
            continue
        seen = set(_TOKEN.findall(text)[:MAX_TOKENS_PER_ROW])
        for tok in seen:
            if tok not in counter and len(counter) >= MAX_DISTINCT:
                continue
            counter[tok][int(labels[i])] += 1
            if len(examples[tok]) < 5:
                examples[tok].append(i)
    # a trigger token is rare: drop the examples of frequent tokens before judging
    return _judge(counter, base, names, n, limits, "token", examples)


def value_triggers(columns: dict[str, Sequence[object]], labels: np.ndarray,
                   names: Sequence[str], limits: TriggerLimits | None = None
                   ) -> list[TriggerHint]:
    """Exact column values (``col == value``) that look like triggers."""
    limits = limits or TriggerLimits()
    n = len(labels)
    base = np.bincount(labels, minlength=len(names)) / max(n, 1)
    hints: list[TriggerHint] = []
    for col, values in columns.items():
        counter: dict[str, Counter[int]] = defaultdict(Counter)
        examples: dict[str, list[int]] = defaultdict(list)
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            key = f"{col} == {v!r}"
            if key not in counter and len(counter) >= MAX_DISTINCT:
                continue
            counter[key][int(labels[i])] += 1
            if len(examples[key]) < 5:
                examples[key].append(i)
        hints.extend(_judge(counter, base, names, n, limits, "value", examples))
    hints.sort(key=lambda h: (h.p_value, -h.support))
    return hints


def patch_triggers(images: np.ndarray, labels: np.ndarray, names: Sequence[str],
                   limits: TriggerLimits | None = None, *, sizes: tuple[int, ...] = (2, 3),
                   max_images: int = 50_000, max_positions: int = 4096
                   ) -> list[TriggerHint]:
    """Square windows of pixels that are identical in a rare, label-pure set of images.

    Every window position (2 x 2 and 3 x 3) is keyed by its exact content (a random
    projection of the pixels, so equal windows get equal keys); a key shared by a rare,
    nearly single-label set of images is a candidate when most of its pixels differ
    from the usual (most frequent) value at that place: a stamped patch stands out from
    the background, while the shared strokes of one class (the top of every "6") mostly
    repeat it. Overlapping candidates over the same images merge into one patch,
    reported with its bounding box.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    limits = limits or TriggerLimits()
    x = np.asarray(images, dtype=float)
    if x.ndim == 4:  # N, H, W, C: fold channels into one value per pixel
        x = x @ np.array([1.0, 1e3, 1e6, 1e9][: x.shape[3]] + [0.0] * max(0, x.shape[3] - 4))
    if x.ndim != 3 or len(x) != len(labels) or min(x.shape[1:]) < min(sizes):
        return []
    x, labels = x[:max_images], np.asarray(labels)[:max_images]
    n, h, w = x.shape
    base = np.bincount(labels, minlength=len(names)) / max(n, 1)
    max_support = max(limits.min_support, int(limits.max_share * n))
    mode = _pixel_mode(x)
    found: list[tuple[int, int, int, np.ndarray, int]] = []
    for size in sizes:
        if size > min(h, w):
            continue
        windows = sliding_window_view(x, (size, size), axis=(1, 2))  # n, h', w', s, s
        hp, wp = windows.shape[1], windows.shape[2]
        stride = max(1, int(np.ceil(np.sqrt(hp * wp / max_positions))))
        projection = np.random.default_rng(size).standard_normal(size * size)
        for py in range(0, hp, stride):
            for px in range(0, wp, stride):
                flat = windows[:, py, px].reshape(n, -1)
                keys = np.round(flat @ projection, 6)
                _, first, inverse, counts = np.unique(keys, return_index=True,
                                                      return_inverse=True, return_counts=True)
                usual = mode[py:py + size, px:px + size].reshape(-1)
                for idx in np.flatnonzero((counts >= limits.min_support)
                                          & (counts <= max_support)):
                    if np.mean(flat[first[idx]] != usual) < 0.75:
                        continue
                    rows = np.flatnonzero(inverse == idx)
                    by_label = np.bincount(labels[rows], minlength=len(names))
                    label = int(by_label.argmax())
                    purity = by_label[label] / len(rows)
                    if purity >= limits.min_purity and purity >= limits.min_lift * base[label]:
                        found.append((py, px, size, rows, label))
                if len(found) >= MAX_PATCH_CANDIDATES:
                    break
    # merge candidates over (nearly) the same images into one patch
    groups: list[tuple[list[tuple[int, int, int]], set[int], int]] = []
    for py, px, size, rows, label in found:
        row_set = set(rows.tolist())
        for boxes, members, glabel in groups:
            if glabel == label and len(members & row_set) >= 0.9 * len(members | row_set):
                boxes.append((py, px, size))
                members &= row_set
                break
        else:
            groups.append(([(py, px, size)], row_set, label))
    hints = []
    for boxes, members, label in groups:
        support = len(members)
        if support < limits.min_support:
            continue
        top = int(np.sum(labels[list(members)] == label))
        p = _binom_sf(top, support, float(base[label]))
        if p > limits.max_p:
            continue
        y0, y1 = min(b[0] for b in boxes), max(b[0] + b[2] - 1 for b in boxes)
        x0, x1 = min(b[1] for b in boxes), max(b[1] + b[2] - 1 for b in boxes)
        if _looks_like_label(x, labels, sorted(members), label, (y0, y1, x0, x1)):
            continue
        pattern = f"pixels in rows {y0}-{y1}, columns {x0}-{x1} identical"
        hints.append(TriggerHint("patch", pattern, names[label], support, top / support,
                                 float(base[label]), p, tuple(sorted(members)[:5])))
    hints.sort(key=lambda hint: (hint.p_value, -hint.support))
    return hints


def _looks_like_label(x: np.ndarray, labels: np.ndarray, rows: list[int], label: int,
                      box: tuple[int, int, int, int]) -> bool:
    """True when most images of the group, patch hidden, resemble their own label.

    Dirty-label poisoning stamps the patch on images of other classes and relabels
    them: with the patch masked out, they are nearest to other classes' centroids. A
    group that still looks like its label (the hole in the middle of every "0") is
    the class's own shape, not a stamp.
    """
    y0, y1, x0, x1 = box
    keep = np.ones(x.shape[1:], dtype=bool)
    keep[y0:y1 + 1, x0:x1 + 1] = False
    flat = x[:, keep]
    classes = np.unique(labels)
    if len(classes) > 100:
        return False
    centroids = np.stack([flat[labels == c].mean(axis=0) for c in classes])
    dist = ((flat[rows[:200]][:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    nearest = classes[dist.argmin(axis=1)]
    return bool(np.mean(nearest == label) > 0.5)


def _pixel_mode(x: np.ndarray, sample: int = 5000) -> np.ndarray:
    """The most frequent value of each pixel (over a sample of images)."""
    part = x[:sample]
    out = np.empty(part.shape[1:], dtype=float)
    for (i, j), _ in np.ndenumerate(out):
        values, counts = np.unique(part[:, i, j], return_counts=True)
        out[i, j] = values[counts.argmax()]
    return out
