"""Backdoor scan for torch classifiers: activation clustering, decided by input consistency.

A backdoor (BadNets, Gu et al. 2017) is planted by adding a trigger to some training
rows and relabelling them to a target class. The network learns a shortcut, so inside
the target class the poisoned rows form their own cluster of penultimate-layer
activations (activation clustering, Chen et al. 2018): dozor splits each class's
activations in two (PCA to 10 dimensions, 2-means).

Every class splits in two, so the question is which split, if any, is poison. ART
answers by size ("the smaller cluster is poison"), which fails when poison is 30-50%
of the target class (10% poison overall does that) and flags a random cluster of every
clean class. dozor asks the data instead: a poisoned row is an image (or record) of
another class with a trigger, so in input space its nearest neighbours mostly carry
*other* labels, while rows of a genuine sub-style of the class are surrounded by their
own label. A cluster is flagged when its rows' neighbour-label agreement is below 0.5
and at least 0.25 below the other cluster's, it has at least 5 rows, and the model
predicts the class for at least 80% of them (a backdoor is learned; ambiguous natural
rows of a weak model are mostly predicted as their look-alike). The suspected rows are
the cluster plus the class's rows whose own neighbours mostly carry another label.
This is the exclusionary-reclassification idea of Chen et al. without retraining the
model: a k-nearest-neighbour vote in input space stands in for "a model trained
without this cluster".

Give `features=` (for example activations of an early layer) when raw inputs are not a
meaningful space for neighbours (large natural images).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dozor.robust.models import TorchClassifier

MAX_AGREEMENT = 0.5
MIN_GAP = 0.25
MIN_ROWS = 5
MIN_LEARNED = 0.8


@dataclass(frozen=True)
class ClassScan:
    label: int
    rows: int
    cluster_sizes: tuple[int, int]
    agreement: tuple[float, float]
    """Mean fraction of input-space neighbours sharing the class label, per cluster."""
    flagged_cluster: int | None


@dataclass(frozen=True)
class BackdoorResult:
    suspect_classes: tuple[int, ...]
    suspected: np.ndarray
    """Indices of rows suspected to be poisoned."""
    classes: tuple[ClassScan, ...]
    precision: float | None = None
    recall: float | None = None

    @property
    def found(self) -> bool:
        return bool(self.suspect_classes)

    def to_dict(self) -> dict[str, Any]:
        return {"suspect_classes": list(self.suspect_classes),
                "suspected_rows": len(self.suspected),
                "suspected_indices": self.suspected[:1000].tolist(),
                "precision": self.precision, "recall": self.recall,
                "classes": [c.__dict__ for c in self.classes]}


def activations(model: TorchClassifier, x: np.ndarray, layer: Any = None) -> np.ndarray:
    """Inputs of `layer` (default: the last `nn.Linear`, i.e. the penultimate features)."""
    torch = model._torch
    if layer is None:
        linears = [m for m in model.module.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ValueError("the model has no nn.Linear layer; pass layer=")
        layer = linears[-1]
    seen: list[Any] = []
    handle = layer.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0].detach()))
    try:
        model.logits(x)
    finally:
        handle.remove()
    return torch.cat(seen).reshape(len(x), -1).numpy().astype(np.float64)


def scan_backdoor(model: TorchClassifier, x: np.ndarray, y: np.ndarray, *,
                  layer: Any = None, features: np.ndarray | None = None,
                  neighbours: int = 10, poisoned: np.ndarray | None = None,
                  seed: int = 0, on_class: Callable[[int], None] | None = None
                  ) -> BackdoorResult:
    """Scan training rows `x` with their labels `y` (class indices) for planted poison.

    `poisoned` (a boolean mask or indices), when known, adds precision and recall."""
    from sklearn.cluster import KMeans
    from sklearn.neighbors import NearestNeighbors

    y = np.asarray(y, dtype=np.int64)
    acts = activations(model, x, layer)
    space = np.asarray(features if features is not None else x, dtype=np.float64)
    space = space.reshape(len(space), -1)
    sd = space.std(axis=0)
    space = (space - space.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    k = min(neighbours, max(1, len(x) - 1))
    nn = NearestNeighbors(n_neighbors=k + 1).fit(space)
    _, idx = nn.kneighbors(space)
    agree_row = (y[idx[:, 1:]] == y[:, None]).mean(axis=1)
    learned = model.predict_proba(x).argmax(axis=1) == y

    scans, suspects, flagged_rows = [], [], []
    for c in np.unique(y):
        rows = np.nonzero(y == c)[0]
        if len(rows) < 10:
            continue
        a = acts[rows] - acts[rows].mean(axis=0)
        u, s, _ = np.linalg.svd(a, full_matrices=False)
        comp = min(10, a.shape[1], len(rows) - 1)
        z = u[:, :comp] * s[:comp]
        labels = KMeans(2, n_init=10, random_state=seed).fit_predict(z)
        sizes = (int((labels == 0).sum()), int((labels == 1).sum()))
        agree = tuple(float(agree_row[rows[labels == j]].mean()) if sizes[j] else 1.0
                      for j in (0, 1))
        low = int(np.argmin(agree))
        flagged = None
        members = rows[labels == low]
        # poison is learned: the model gives the target label to rows that look like
        # other classes; hard natural rows of a weak model mostly keep their look-alike
        if (agree[low] < MAX_AGREEMENT and agree[1 - low] - agree[low] >= MIN_GAP
                and sizes[low] >= max(MIN_ROWS, 0.02 * len(rows))
                and learned[members].mean() >= MIN_LEARNED):
            flagged = low
            suspects.append(int(c))
            # rows of the class that look like another class join the cluster: at high
            # poison rates 2-means can leave some poison in the larger cluster
            flagged_rows.append(np.union1d(members, rows[agree_row[rows] < MAX_AGREEMENT]))
        scans.append(ClassScan(int(c), len(rows), sizes, (agree[0], agree[1]), flagged))
        if on_class is not None:
            on_class(int(c))
    suspected = np.sort(np.concatenate(flagged_rows)) if flagged_rows else np.zeros(0, int)
    precision = recall = None
    if poisoned is not None:
        mask = np.zeros(len(x), dtype=bool)
        mask[np.asarray(poisoned)] = True
        hit = int(mask[suspected].sum())
        precision = hit / len(suspected) if len(suspected) else (1.0 if not mask.any() else 0.0)
        recall = hit / int(mask.sum()) if mask.any() else 1.0
    return BackdoorResult(tuple(suspects), suspected, tuple(scans), precision, recall)
