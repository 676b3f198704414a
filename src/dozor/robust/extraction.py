"""Model extraction: how close does a copy get from N queries?

The attacker sends N rows, keeps the answers and trains a surrogate on them (Tramer et
al. 2016, "Stealing machine learning models via prediction APIs"). The number that
matters is agreement: the fraction of unseen rows where the copy answers like the
original, because a copy that agrees 95% of the time is as good as the model for most
uses, and a white-box copy makes every transfer attack possible.

Query rows come from the attacker's pool (data like the target's); when N is larger
than the pool, extra rows are pool rows plus Gaussian noise of 10% of each feature's
spread, clipped to the pool's range (a realistic attacker has some data, not all).
The default surrogate is a scikit-learn MLP on standardised inputs: it fits both smooth
(neural) and piecewise (tree) decision functions well enough from a few thousand rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dozor.robust.models import Classifier, predict


@dataclass(frozen=True)
class ExtractionResult:
    queries: int
    agreement: float
    """Fraction of held-out rows where surrogate and target predict the same class."""
    surrogate_accuracy: float | None
    target_accuracy: float | None
    seconds: float
    surrogate: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def query_rows(x_pool: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x_pool = np.asarray(x_pool, dtype=np.float64).reshape(len(x_pool), -1)
    if n <= len(x_pool):
        return x_pool[rng.choice(len(x_pool), n, replace=False)]
    extra = x_pool[rng.integers(0, len(x_pool), n - len(x_pool))]
    spread = x_pool.std(axis=0) * 0.1
    extra = extra + rng.standard_normal(extra.shape) * spread
    extra = np.clip(extra, x_pool.min(axis=0), x_pool.max(axis=0))
    return np.concatenate([x_pool, extra])


def extract(model: Classifier, x_pool: np.ndarray, x_test: np.ndarray,
            y_test: np.ndarray | None = None, *, queries: int = 1000,
            surrogate: Any = None, seed: int = 0) -> ExtractionResult:
    """Train `surrogate` (default: an MLP) on `queries` labelled answers of `model`, and
    measure its agreement with `model` on `x_test` (rows never queried)."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    shape = x_test.shape[1:]
    xq = query_rows(x_pool, queries, seed=seed)
    yq = predict(model, xq.astype(np.float32).reshape((len(xq), *shape)))
    if surrogate is None:
        surrogate = make_pipeline(StandardScaler(), MLPClassifier(
            (128,), max_iter=300, random_state=seed))
    name = type(surrogate[-1] if hasattr(surrogate, "steps") else surrogate).__name__
    flat_test = np.asarray(x_test, dtype=np.float64).reshape(len(x_test), -1)
    if len(np.unique(yq)) < 2:
        sur_pred = np.full(len(flat_test), yq[0])
    else:
        surrogate.fit(xq, yq)
        sur_pred = np.asarray(surrogate.predict(flat_test))
    tgt_pred = predict(model, x_test)
    agree = float((sur_pred == tgt_pred).mean())
    sur_acc = tgt_acc = None
    if y_test is not None:
        sur_acc = float((sur_pred == y_test).mean())
        tgt_acc = float((tgt_pred == y_test).mean())
    return ExtractionResult(queries, agree, sur_acc, tgt_acc, time.perf_counter() - t0, name)
