"""Duplicates whose labels disagree: the same example taught two different answers.

Exact duplicates are found by a 64-bit hash of each row's features (the label left
out). Near duplicates are found two ways, both in one pass with bounded memory:

- text: the text normalised (Unicode NFKC, case-folded, punctuation and runs of
  spaces removed) hashes equal; then MinHash signatures of character 5-grams (robust
  on short texts, where one changed word already breaks most word shingles), banded
  (locality-sensitive hashing), with candidate pairs confirmed by their estimated
  Jaccard similarity;
- numbers: the features rounded to a few significant digits hash equal.

A group is reported only when its members carry more than one label.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHINGLE = 5
MAX_NEAR_ROWS = 500_000
"""Rows signed for MinHash near-duplicate search (64 x 4 bytes each); beyond, exact and
normalised matches still cover every row."""


@dataclass(frozen=True)
class ConflictGroup:
    """Rows that are the same example (exactly or nearly) with different labels."""

    rows: tuple[int, ...]
    labels: tuple[str, ...]
    """The label of each row, in the same order."""
    kind: str
    """``exact``, ``normalised``, ``minhash`` or ``rounded``."""
    similarity: float = 1.0


def row_hash(values: Sequence[object]) -> int:
    raw = "\x1f".join("\x00" if v is None else repr(v) for v in values)
    return int.from_bytes(hashlib.blake2b(raw.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "big")


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _groups(keys: Sequence[int], labels: Sequence[object], kind: str,
            max_groups: int) -> list[ConflictGroup]:
    by_key: dict[int, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        by_key[key].append(i)
    out = []
    for rows in by_key.values():
        if len(rows) > 1 and len({labels[r] for r in rows}) > 1:
            out.append(ConflictGroup(tuple(rows), tuple(str(labels[r]) for r in rows), kind))
            if len(out) >= max_groups:
                break
    return out


def exact_conflicts(rows: Sequence[Sequence[object]], labels: Sequence[object], *,
                    max_groups: int = 10_000) -> list[ConflictGroup]:
    """Groups of identical feature rows with more than one label."""
    return _groups([row_hash(r) for r in rows], labels, "exact", max_groups)


def rounded_conflicts(features: np.ndarray, labels: Sequence[object], *, digits: int = 3,
                      max_groups: int = 10_000) -> list[ConflictGroup]:
    """Numeric rows equal after rounding to `digits` significant digits."""
    x = np.asarray(features, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(x == 0, 0, np.floor(np.log10(np.abs(x))))
        scale = 10.0 ** (digits - 1 - mag)
        rounded = np.where(np.isfinite(x), np.round(x * scale) / scale, np.nan)
    return _groups(_row_keys(rounded), labels, "rounded", max_groups)


def _row_keys(x: np.ndarray) -> list[int]:
    """One integer per distinct row of a numeric matrix (equal rows, equal keys)."""
    rows = np.ascontiguousarray(x, dtype=float)
    if rows.ndim != 2 or rows.shape[1] == 0:
        return [0] * len(rows)
    as_void = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, inverse = np.unique(as_void, return_inverse=True)
    return [int(k) for k in inverse.ravel()]


def exact_numeric_conflicts(features: np.ndarray, labels: Sequence[object], *,
                            max_groups: int = 10_000) -> list[ConflictGroup]:
    """Identical numeric rows with more than one label (vectorised `exact_conflicts`)."""
    return _groups(_row_keys(features), labels, "exact", max_groups)


_CHUNK_ROWS = 20_000
_EMPTY = np.iinfo(np.uint32).max


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: spreads a polynomial hash over all 64 bits."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _signatures(texts: Sequence[str], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures of each text's character 5-grams, vectorised per chunk of rows.

    The texts of a chunk are laid end to end as code points; a rolling polynomial hash
    gives every 5-character window, windows that cross two texts are dropped, and
    `np.minimum.reduceat` takes each text's minimum per permutation. Texts shorter than
    two shingles get no signature (`_EMPTY`).
    """
    sigs = np.full((len(texts), len(a)), _EMPTY, dtype=np.uint32)
    for start in range(0, len(texts), _CHUNK_ROWS):
        part = texts[start:start + _CHUNK_ROWS]
        rows = [i for i, t in enumerate(part) if len(t) >= 2 * SHINGLE]
        if not rows:
            continue
        chosen = [part[i] for i in rows]
        lengths = np.array([len(t) for t in chosen], dtype=np.int64)
        codes = np.frombuffer("".join(chosen).encode("utf-32-le", "surrogatepass"),
                              dtype=np.uint32).astype(np.uint64)
        windows = len(codes) - SHINGLE + 1
        rolling = np.zeros(windows, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(SHINGLE):
                rolling = rolling * np.uint64(1_000_003) + codes[k:k + windows]
            hashed = _mix(rolling)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        per_row = lengths - SHINGLE + 1
        seg = np.concatenate(([0], np.cumsum(per_row)[:-1]))
        # window starts inside each text: offset + 0 .. offset + per_row - 1
        starts = np.repeat(offsets - seg, per_row) + np.arange(int(per_row.sum()))
        values = hashed[starts]
        out = np.empty((len(rows), len(a)), dtype=np.uint32)
        with np.errstate(over="ignore"):
            for k in range(len(a)):
                mixed = (a[k] * values + b[k]) >> np.uint64(32)
                out[:, k] = np.minimum.reduceat(mixed, seg).astype(np.uint32)
        sigs[start + np.asarray(rows)] = out
    return sigs


def text_conflicts(texts: Sequence[str | None], labels: Sequence[object], *,
                   threshold: float = 0.7, num_perm: int = 64, bands: int = 16,
                   max_groups: int = 10_000, seed: int = 0) -> list[ConflictGroup]:
    """Texts equal after normalisation, or with estimated Jaccard >= `threshold`."""
    norm = [normalise_text(t or "") for t in texts]
    found = _groups([row_hash([t]) for t in norm], labels, "normalised", max_groups)
    seen = {frozenset(g.rows) for g in found}
    rows_per_band = num_perm // bands
    rng = np.random.default_rng(seed)
    # multiply-shift hashing: (a*h + b) mod 2**64 (numpy wraps), top 32 bits
    a = rng.integers(1, 1 << 63, num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 1 << 63, num_perm, dtype=np.uint64)
    limit = min(len(norm), MAX_NEAR_ROWS)
    sigs = _signatures(norm[:limit], a, b)
    parent = list(range(limit))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    empty = _EMPTY
    signed = np.flatnonzero(sigs[:, 0] != empty)
    for band in range(bands):
        part = sigs[signed, band * rows_per_band:(band + 1) * rows_per_band].astype(np.uint64)
        key = np.zeros(len(signed), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for c in range(part.shape[1]):
                key = _mix(key ^ part[:, c])
        # every row is compared with the first row of its bucket, all at once
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        rep = first[inverse]
        pairs = np.flatnonzero(rep != np.arange(len(signed)))
        if not len(pairs):
            continue
        rows_i, rows_j = signed[pairs], signed[rep[pairs]]
        agree = (sigs[rows_i] == sigs[rows_j]).mean(axis=1)
        for i, j in zip(rows_i[agree >= threshold].tolist(),
                        rows_j[agree >= threshold].tolist(), strict=True):
            parent[root(i)] = root(j)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(limit):
        if sigs[i, 0] != empty:
            clusters[root(i)].append(i)
    for rows in clusters.values():
        if len(rows) < 2 or len({labels[r] for r in rows}) < 2 or frozenset(rows) in seen:
            continue
        sim = float(np.mean(sigs[rows[0]] == sigs[rows[1]]))
        found.append(ConflictGroup(tuple(rows), tuple(str(labels[r]) for r in rows),
                                   "minhash", sim))
        if len(found) >= max_groups:
            break
    return found
