"""Likely label errors by confident learning (Northcutt, Jiang and Chuang, JAIR 2021).

The published method, in three steps:

1. Out-of-fold predicted probabilities ``P[n, k]`` from a model trained by k-fold
   cross-validation, so no example is scored by a model that saw its own label.
2. Per-class thresholds ``t[k]`` = the mean probability of class k over the examples
   labelled k (the model's average self-confidence for that class). An example is
   *confidently* of class j when ``P[n, j] >= t[j]``; the confident joint ``C[i, j]``
   counts examples labelled i that are confidently j (the arg-max among confident
   classes), calibrated so each row sums to the number of examples labelled i.
3. Prune by noise rate: for each off-diagonal cell (given i, true j), the ``C[i, j]``
   examples labelled i with the largest margin ``P[n, j] - P[n, i]`` are flagged; an
   example the model predicts as its own label is never flagged.

Why dozor has its own and does not depend on cleanlab: once the probabilities exist
the method is some thirty lines of numpy, while cleanlab pulls a large dependency tree
for it; the benchmark (bench/data/labels.py) runs both on the same probabilities and
compares their flags. Most of the cost is step 1, which uses scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelIssues:
    """The result of confident learning on one dataset."""

    issues: np.ndarray
    """Indices of examples whose label is likely wrong, most likely first."""
    suggested: np.ndarray
    """For each index in `issues`, the class the model believes instead."""
    self_confidence: np.ndarray
    """For each index in `issues`, the predicted probability of its given label."""
    confident_joint: np.ndarray
    """Calibrated counts: rows are given labels, columns likely true labels."""
    noise_rate: float
    """Estimated share of wrong labels in the dataset (off-diagonal mass of the joint)."""


def confident_joint(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The calibrated confident joint ``C[given, true]`` (integers)."""
    n, k = probs.shape
    counts = np.bincount(labels, minlength=k).astype(float)
    thresholds = np.array([probs[labels == c, c].mean() if counts[c] else 1.0
                           for c in range(k)])
    confident = probs >= thresholds - 1e-6
    n_conf = confident.sum(axis=1)
    # one class above its threshold: that class; several: the most probable class
    guess = np.where(n_conf > 1, probs.argmax(axis=1), confident.argmax(axis=1))
    keep = n_conf > 0
    joint = np.zeros((k, k), dtype=float)
    np.add.at(joint, (labels[keep], guess[keep]), 1.0)
    # every class keeps at least one example on its diagonal
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1.0))
    rows = joint.sum(axis=1, keepdims=True)
    rows[rows == 0] = 1.0
    calibrated = joint / rows * counts[:, None]
    calibrated = calibrated / max(calibrated.sum(), 1.0) * n
    return _round_keeping_row_sums(calibrated)


def _round_keeping_row_sums(matrix: np.ndarray) -> np.ndarray:
    """Integers whose rows still sum to the rounded row sums (largest remainders first):
    plain rounding of the calibrated joint loses or invents examples in a row."""
    floor = np.floor(matrix)
    out: np.ndarray = floor.astype(np.int64)
    missing = np.rint(matrix.sum(axis=1)).astype(np.int64) - out.sum(axis=1)
    remainders = matrix - floor
    for i, extra in enumerate(missing):
        if extra > 0:
            out[i, np.argsort(-remainders[i], kind="stable")[:extra]] += 1
    return out


def find_label_issues(labels: Any, probs: Any) -> LabelIssues:
    """Confident learning with prune-by-noise-rate on out-of-fold probabilities."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probs, dtype=float)
    if p.ndim != 2 or len(y) != len(p):
        raise ValueError("probs must be an (n, k) array for n labels")
    n, k = p.shape
    if n and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must be class numbers 0..{k - 1}")
    joint = confident_joint(y, p)
    flagged = np.zeros(n, dtype=bool)
    for i in range(k):
        members = np.flatnonzero(y == i)
        if len(members) == 0:
            continue
        # never empty a class: keep at least its diagonal count
        budget = max(0, len(members) - max(int(joint[i, i]), 1))
        for j in range(k):
            if i == j or joint[i, j] == 0 or budget == 0:
                continue
            take = min(int(joint[i, j]), budget)
            margin = p[members, j] - p[members, i]
            order = np.argsort(-margin, kind="stable")[:take]
            flagged[members[order]] = True
            budget -= take
    predicted = p.argmax(axis=1)
    flagged &= predicted != y
    idx = np.flatnonzero(flagged)
    idx = idx[np.argsort(p[idx, y[idx]], kind="stable")]  # least self-confident first
    off = joint.sum() - np.trace(joint)
    return LabelIssues(idx, predicted[idx], p[idx, y[idx]], joint,
                       float(off / max(joint.sum(), 1)))


def out_of_fold_probabilities(features: Any, labels: Any, *, folds: int = 5,
                              model: Any = None, seed: int = 0) -> np.ndarray:
    """Predicted probabilities for every example from a model that never saw it.

    `model` is a scikit-learn classifier, or ``"linear"`` (the default: a logistic
    regression on standardised features, sparse text features as they are; fast,
    calibrated enough for thresholds) or ``"boosting"`` (histogram gradient boosting:
    it finds more errors on data a linear model cannot separate, at 20 to 100 times the
    time; see docs/benchmarks.md). Deterministic with a fixed seed.
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels, dtype=np.int64)
    k = int(y.max()) + 1 if len(y) else 0
    smallest = int(np.bincount(y).min()) if len(y) else 0
    folds = max(2, min(folds, smallest))
    if model is None or model == "linear":
        sparse = hasattr(features, "tocsr")
        base = LogisticRegression(max_iter=1000, C=1.0)
        model = base if sparse else make_pipeline(StandardScaler(), base)
    elif model == "boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        if hasattr(features, "tocsr"):
            features = features.toarray() if features.shape[1] <= 2000 else features
        model = HistGradientBoostingClassifier(max_iter=200, random_state=seed)
    elif isinstance(model, str):
        raise ValueError(f"unknown model {model!r}; use linear or boosting")
    from threadpoolctl import threadpool_limits

    probs = np.zeros((len(y), k), dtype=float)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # one BLAS thread: these fits are small, and on a busy machine threads fighting for
    # cores made them 50 times slower (measured: 8 s against 0.14 s on sklearn digits)
    with threadpool_limits(limits=1):
        for train, test in splitter.split(np.zeros(len(y)), y):
            fitted = clone(model).fit(features[train], y[train])
            classes = np.asarray(fitted.classes_, dtype=np.int64)
            probs[np.ix_(test, classes)] = fitted.predict_proba(features[test])
    return probs
