"""The shipped injection classifier: hashed character n-grams and a linear model, in numpy.

Why our own featuriser rather than scikit-learn at run time: the guard sits in the path of
every request with a budget of a few milliseconds for a 4,000-character prompt, and the
user should not need scikit-learn (or torch) to run it. Character 2-5-grams of the
lower-cased, whitespace-collapsed text are hashed with a multiply-shift hash computed for
all positions at once in numpy, weighted by sublinear term frequency times an inverse
document frequency learned at training time, L2-normalised, and scored by a logistic
regression. Training (tools/train_injection.py) uses this same featuriser, so the shipped
weights see exactly the features they were trained on.

Long texts are scored in overlapping windows and as a whole; the caller takes the maximum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

NGRAMS = (2, 3, 4, 5)
BITS = 18
DIM = 1 << BITS
_MUL = np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(1_000_003)
_SEEDS = {n: np.uint64((n * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF) for n in NGRAMS}
_SHIFT = np.uint64(64 - BITS)
_SPACE = re.compile(r"\s+")

WEIGHTS_FILE = "classifier.npz"


def prepare(text: str) -> str:
    """The form the classifier reads: lower case, runs of whitespace as one space."""
    return " " + _SPACE.sub(" ", text.lower()).strip() + " "


def codes(text: str) -> np.ndarray:
    """Code points of prepared text as uint64."""
    return np.frombuffer(prepare(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def ngram_ids(cp: np.ndarray) -> list[np.ndarray]:
    """Hashed feature ids of every n-gram, one array per n; entry i starts at position i."""
    out = []
    size = cp.shape[0]
    with np.errstate(over="ignore"):
        for n in NGRAMS:
            if size < n:
                out.append(np.zeros(0, dtype=np.int64))
                continue
            h = cp[: size - n + 1].copy()
            for k in range(1, n):
                h = h * _PRIME + cp[k: size - n + 1 + k]
            h = ((h ^ _SEEDS[n]) * _MUL) >> _SHIFT
            out.append(h.astype(np.int64))
    return out


def feature_vector(ids: np.ndarray, idf: np.ndarray, norm_kind: int = 2
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Sparse (indices, values) of one text: (1 + log tf) * idf, L1- or L2-normalised."""
    if ids.size == 0:
        return ids, np.zeros(0, dtype=np.float32)
    uniq, counts = np.unique(ids, return_counts=True)
    vals = (1.0 + np.log(counts.astype(np.float32))) * idf[uniq]
    norm = float(np.sqrt(np.dot(vals, vals))) if norm_kind == 2 else float(vals.sum())
    if norm > 0:
        vals = vals / norm
    return uniq, vals


@dataclass(frozen=True)
class LinearModel:
    """Logistic regression over the hashed features."""

    coef: np.ndarray
    """Weight per hashed feature (float32, DIM)."""
    idf: np.ndarray
    """Inverse document frequency per hashed feature (float32, DIM)."""
    intercept: float
    threshold: float
    """Probability at or above which the classifier alone flags a text."""
    window: int
    """Window length in characters for long texts."""
    stride: int
    norm_kind: int = 2
    """1: L1-normalised features (a long text's logit does not grow with its length);
    2: L2."""

    def logit_of(self, ids: np.ndarray) -> float:
        idx, vals = feature_vector(ids, self.idf, self.norm_kind)
        return float(np.dot(self.coef[idx], vals)) + self.intercept

    def score(self, text: str) -> tuple[float, tuple[int, int]]:
        """Probability of injection (the maximum over windows) and the best window."""
        per_n = ngram_ids(codes(text))
        whole = np.concatenate(per_n)
        best = self.logit_of(whole)
        best_win = (0, len(text))
        n_chars = len(prepare(text))
        if n_chars > self.window + self.stride // 2:
            # windows over the prepared text; offsets mapped back approximately (prepare
            # only collapses whitespace, so offsets differ by at most the collapsed runs)
            for start in range(0, max(1, n_chars - self.stride), self.stride):
                end = min(n_chars, start + self.window)
                parts = [a[start: max(start, end - n + 1)] for a, n in zip(per_n, NGRAMS,
                                                                            strict=True)]
                logit = self.logit_of(np.concatenate(parts))
                if logit > best:
                    best, best_win = logit, (start, min(len(text), end))
                if end >= n_chars:
                    break
        return float(1.0 / (1.0 + np.exp(-best))), best_win


def load_model(data: bytes | None = None) -> LinearModel:
    """Load the classifier that ships in the package (or from `data`, an .npz file)."""
    if data is None:
        return _shipped()
    return _from_npz(data)


@lru_cache(maxsize=1)
def _shipped() -> LinearModel:
    ref = resources.files("dozor.detect.injection") / "data" / WEIGHTS_FILE
    return _from_npz(ref.read_bytes())


def _from_npz(data: bytes) -> LinearModel:
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = z["meta"]
        return LinearModel(
            coef=z["coef"].astype(np.float32),
            idf=z["idf"].astype(np.float32),
            intercept=float(meta[0]),
            threshold=float(meta[1]),
            window=int(meta[2]),
            stride=int(meta[3]),
            norm_kind=int(meta[4]) if meta.shape[0] > 4 else 2,
        )
