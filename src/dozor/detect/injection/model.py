"""The shipped injection classifier: hashed character n-grams and a linear model, in numpy.

Why our own featuriser rather than scikit-learn at run time: the guard sits in the path of
every request with a budget of a few milliseconds for a 4,000-character prompt, and the
user should not need scikit-learn (or torch) to run it. Character 2-5-grams of the
lower-cased, whitespace-collapsed text are hashed with a multiply-shift hash computed for
all positions at once in numpy, weighted by sublinear term frequency times an inverse
document frequency learned at training time, L2-normalised, and scored by a logistic
regression. Training (tools/train_injection.py) uses this same featuriser, so the shipped
weights see exactly the features they were trained on.

Long texts are scored by paragraph-aligned segments (windows for long paragraphs); the
maximum counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

NGRAMS = (2, 3, 4, 5)
BITS = 18
DIM = 1 << BITS
_MUL = np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(1_000_003)
_SEEDS = {n: np.uint64((n * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF) for n in NGRAMS}
_SHIFT = np.uint64(64 - BITS)

WEIGHTS_FILE = "classifier.npz"


def prepare(text: str) -> str:
    """The form the classifier reads: lower case, runs of whitespace as one space."""
    # str.split() splits on exactly the characters regex \s matches (str.isspace), and is
    # several times faster than re.sub(r"\s+", ...) on a long prompt
    return " " + " ".join(text.lower().split()) + " "


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
    """1: L1-normalised features; 2: L2 (the shipped model)."""
    window_margin: float = 0.0
    """Subtracted from each segment's logit of a long text: a document of n segments has n
    chances of a false positive, so the per-segment bar is higher (calibrated on
    validation documents by the trainer)."""

    def logit_of(self, ids: np.ndarray) -> float:
        idx, vals = feature_vector(ids, self.idf, self.norm_kind)
        return float(np.dot(self.coef[idx], vals)) + self.intercept

    @cached_property
    def _table(self) -> np.ndarray:
        """Per feature, coef * idf (real part) and the idf's square (imaginary part; the
        idf itself for L1), with one more entry of 0 for the padding id DIM: what
        `logits_of` gathers. One complex64 array rather than two float32 ones, so a
        feature costs one memory access: the 2 MB table does not fit the cache of a
        server that also runs the web stack, and the gathers dominate the scoring."""
        table = np.zeros(DIM + 1, dtype=np.complex64)
        table.real[:DIM] = self.coef * self.idf
        table.imag[:DIM] = self.idf * self.idf if self.norm_kind == 2 else self.idf
        return table

    def logits_of(self, id_lists: list[np.ndarray]) -> np.ndarray:
        """`logit_of` for many texts at once (the windows of a long text): the same
        features and the same model, computed on a padded matrix, one row per text, with
        a dozen numpy calls in all instead of a dozen per text (~40% less time for a
        4,000-character prompt's 11 windows)."""
        rows = len(id_lists)
        width = max((a.size for a in id_lists), default=0)
        if width == 0:
            return np.full(rows, self.intercept)
        mat = np.full((rows, width), DIM, dtype=np.uint32)  # DIM: padding, weight 0
        for i, ids in enumerate(id_lists):
            mat[i, : ids.size] = ids
        mat.sort(axis=1)
        first = np.empty(mat.shape, dtype=bool)
        first[:, 0] = True  # a run of equal ids never crosses rows
        np.not_equal(mat[:, 1:], mat[:, :-1], out=first[:, 1:])
        flat = mat.ravel()
        starts = np.flatnonzero(first.ravel())
        counts = np.diff(starts, append=flat.size)
        feats = flat[starts]
        row_start = np.searchsorted(starts, np.arange(rows) * width)
        tf = 1.0 + np.log(counts.astype(np.float32))
        both = self._table[feats]
        if self.norm_kind == 2:
            norm = np.sqrt(np.add.reduceat(tf * tf * both.imag, row_start))
        else:
            norm = np.add.reduceat(tf * both.imag, row_start)
        dots = np.add.reduceat(tf * both.real, row_start)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(norm > 0, dots / norm, 0.0) + self.intercept

    def segment_logits(self, text: str) -> list[tuple[float, tuple[int, int]]]:
        """Logits of the segments of a long text (see `segments`), each with its range.
        A long paragraph's n-grams are hashed once and its windows are slices of them."""
        ids_of: list[np.ndarray] = []
        ranges: list[tuple[int, int]] = []
        for a, b in paragraphs(text):
            per_n = ngram_ids(codes(text[a:b]))
            if b - a <= self.window * 3 // 2:
                ids_of.append(np.concatenate(per_n))
                ranges.append((a, b))
                continue
            n_chars = per_n[0].shape[0] + 1  # positions in the prepared paragraph
            pos = 0
            while True:
                end = min(n_chars, pos + self.window)
                ids_of.append(np.concatenate([
                    ids[pos: max(pos, end - n + 1)]
                    for ids, n in zip(per_n, NGRAMS, strict=True)]))
                # prepared offsets ~ raw offsets (prepare only collapses whitespace)
                ranges.append((a + pos, min(b, a + end)))
                if end >= n_chars:
                    break
                pos += self.stride
        logits = self.logits_of(ids_of) - self.window_margin
        return [(float(x), r) for x, r in zip(logits, ranges, strict=True)]

    def score(self, text: str) -> tuple[float, tuple[int, int]]:
        """Probability of injection and the range it comes from.

        A text up to 1.5 windows long is judged whole. A longer one is judged by its
        segments (paragraphs, long paragraphs cut into overlapping windows): the whole
        of a long benign document drifts towards "attack" as it grows (the sum over many
        weakly positive n-grams), while one injected paragraph is diluted by it, so only
        the segments are scored, each with the calibrated `window_margin`, and the
        maximum counts."""
        if len(text) <= self.window * 3 // 2:
            logit = float(self.logits_of([np.concatenate(ngram_ids(codes(text)))])[0])
            return _sigmoid(logit), (0, len(text))
        best, where = -1e9, (0, len(text))
        for logit, rng in self.segment_logits(text):
            if logit > best:
                best, where = logit, rng
        return _sigmoid(best), where


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-max(-60.0, min(60.0, x)))))


_PARA = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*#>]|\d+[.)]))")
MAX_SEGMENTS = 128
"""Paragraphs are joined until a text has at most about this many (bounds the cost of a
text made of thousands of one-line paragraphs)."""


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Paragraph ranges of a text: each paragraph on its own (an injected paragraph is
    judged without the prose around it), short ones joined only when a text has more than
    MAX_SEGMENTS."""
    min_len = max(1, len(text) // MAX_SEGMENTS)
    cuts = [0] + [m.end() for m in _PARA.finditer(text)] + [len(text)]
    paras: list[tuple[int, int]] = []
    start = 0
    for c in cuts[1:]:
        if c - start >= min_len or c == len(text):
            if c > start:
                paras.append((start, c))
            start = c
    return paras


def segments(text: str, window: int, stride: int) -> list[tuple[int, int]]:
    """Paragraph-aligned segments of a long text: `paragraphs`, with paragraphs longer than
    1.5 windows cut into windows `stride` apart."""
    out: list[tuple[int, int]] = []
    for a, b in paragraphs(text):
        if b - a <= window * 3 // 2:
            out.append((a, b))
            continue
        pos = a
        while True:
            end = min(b, pos + window)
            out.append((pos, end))
            if end >= b:
                break
            pos += stride
    return out


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
            window_margin=float(meta[5]) if meta.shape[0] > 5 else 0.0,
        )
