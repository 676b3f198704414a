"""Outliers: rows far from the rest, by robust z-scores per numeric feature.

Why robust z-scores and not an isolation forest by default: the median and the median
absolute deviation are not dragged by the outliers themselves, a score of 8 means the
same on every dataset, and the finding can say which feature is odd and by how much.
A clean Gaussian column essentially never reaches |z| = 8 (p < 1e-14).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Outlier:
    row: int
    feature: int
    """Index of the feature with the largest robust z-score."""
    score: float


def robust_z_outliers(features: np.ndarray, *, threshold: float = 8.0,
                      max_rows: int = 1000) -> list[Outlier]:
    """Rows whose robust z-score exceeds `threshold` in some feature, worst first."""
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or len(x) < 20:
        return []
    med = np.nanmedian(x, axis=0)
    dev = np.abs(x - med)
    mad = np.nanmedian(dev, axis=0) * 1.4826
    mean_dev = np.nanmean(dev, axis=0) * 1.2533
    # a column that is almost constant has MAD 0: fall back to the mean deviation
    scale = np.where(mad > 0, mad, mean_dev)
    valid = scale > 0
    if not valid.any():
        return []
    z = np.zeros_like(x)
    z[:, valid] = dev[:, valid] / scale[valid]
    z = np.nan_to_num(z, nan=0.0)
    worst = z.argmax(axis=1)
    score = z[np.arange(len(x)), worst]
    rows = np.flatnonzero(score > threshold)
    rows = rows[np.argsort(-score[rows], kind="stable")][:max_rows]
    return [Outlier(int(r), int(worst[r]), float(score[r])) for r in rows]
