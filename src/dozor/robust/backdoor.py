"""Backdoor scan for torch classifiers: activation clustering, decided by input consistency.

A backdoor (BadNets, Gu et al. 2017) is planted by adding a trigger to some training
rows and relabelling them to a target class. The network learns a shortcut, so inside
the target class the poisoned rows form their own cluster of penultimate-layer
activations (activation clustering, Chen et al. 2018): dozor splits each class's
activations in two (PCA to 10 dimensions, 2-means).

Every class splits in two, so the question is which split, if any, is poison. ART
answers by size ("the smaller cluster is poison"), which fails when poison is 30-50%
of the target class (10% poison overall does that) and flags a cluster of every clean
class. dozor asks the data instead: a poisoned row is an image (or record) of another
class with a trigger, so in input space most of its nearest neighbours carry *other*
labels (a k-NN vote stands in for Chen et al.'s "model retrained without the cluster"),
yet the model learned it as this class; and because the model learned one shortcut for
all of them, such rows sit together in activation space. A class is suspect when at
least 5 rows (and 2% of the class) are look-alikes learned as the class, and their
activation-space neighbours are at least 35% look-alikes too (cohesion). Hard natural
rows of a clean class are few and scattered among their class (cohesion 0.0-0.27 on
clean digits models; 0.41-0.80 for poison, measured on development seeds 0-2; the
threshold sits between). The
suspected rows are the look-alikes plus the 2-means activation cluster made mostly of
them.

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
MIN_ROWS = 5
MIN_COHESION = 0.35


@dataclass(frozen=True)
class ClassScan:
    label: int
    rows: int
    cluster_sizes: tuple[int, int]
    agreement: tuple[float, float]
    """Mean fraction of input-space neighbours sharing the class label, per cluster."""
    flagged_cluster: int | None
    look_alike: float = 0.0
    """Fraction of the class's rows that look like another class yet were learned as it."""
    cohesion: float = 0.0
    """Among those rows, the fraction of activation-space neighbours that are such rows too."""
    suspect: bool = False


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
        # rows that look like another class in input space but were learned as this one
        cand = (agree_row[rows] < MAX_AGREEMENT) & learned[rows]
        a = acts[rows]
        a = (a - a.mean(axis=0)) / (a.std(axis=0) + 1e-9)
        kk = min(neighbours, len(rows) - 1)
        _, nb = NearestNeighbors(n_neighbors=kk + 1).fit(a).kneighbors(a)
        cohesion = float(cand[nb[:, 1:]][cand].mean()) if cand.any() else 0.0
        z = np.linalg.svd(a, full_matrices=False)
        comp = min(10, a.shape[1], len(rows) - 1)
        labels = KMeans(2, n_init=10, random_state=seed).fit_predict(z[0][:, :comp] * z[1][:comp])
        sizes = (int((labels == 0).sum()), int((labels == 1).sum()))
        agree = tuple(float(agree_row[rows[labels == j]].mean()) if sizes[j] else 1.0
                      for j in (0, 1))
        share = [float(cand[labels == j].mean()) if sizes[j] else 0.0 for j in (0, 1)]
        flagged = None
        if cand.sum() >= max(MIN_ROWS, 0.02 * len(rows)) and cohesion >= MIN_COHESION:
            suspects.append(int(c))
            found = rows[cand]
            j = int(np.argmax(share))
            if share[j] >= 0.5:  # the activation cluster that is mostly such rows
                flagged = j
                found = np.union1d(found, rows[labels == j])
            flagged_rows.append(found)
        scans.append(ClassScan(int(c), len(rows), sizes, (agree[0], agree[1]), flagged,
                               float(cand.mean()), cohesion, int(c) in suspects))
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
