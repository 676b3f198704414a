"""Models and data shared by the robust benchmarks: digits CNN/MLP, breast-cancer MLP,
an overfit MLP for membership inference, and a BadNets-poisoned digits CNN.

Everything is built here from scikit-learn's bundled datasets (digits: UCI optdigits,
CC BY 4.0; breast cancer: UCI WDBC, CC BY 4.0), with fixed seeds, so each run of the
benchmark attacks exactly the same models."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8), d.target.astype(np.int64)


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    x = d.data
    x = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))  # min-max to [0, 1]
    return x.astype(np.float32), d.target.astype(np.int64)


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(), nn.Linear(64, 10))


def mlp(d_in: int, n_out: int, hidden: int = 128) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(d_in, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def train(module: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int = 30,
          lr: float = 1e-3, batch: int = 64, seed: int = 0, wd: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=wd)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            j = perm[i:i + batch]
            opt.zero_grad()
            nn.functional.cross_entropy(module(xt[j]), yt[j]).backward()
            opt.step()
    return module.eval()


def split(n: int, test: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n)
    k = int(n * (1 - test))
    return idx[:k], idx[k:]


def poison(x: np.ndarray, y: np.ndarray, rate: float, *, target: int = 0, seed: int = 0
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BadNets: a 2x2 white trigger in the bottom-right corner of `rate` of the rows (taken
    from classes other than `target`), relabelled to `target`. Returns x, y, poisoned mask."""
    rng = np.random.default_rng(seed)
    x, y = x.copy(), y.copy()
    candidates = np.nonzero(y != target)[0]
    chosen = rng.choice(candidates, int(round(rate * len(x))), replace=False)
    x[chosen, :, -3:-1, -3:-1] = 1.0
    y[chosen] = target
    mask = np.zeros(len(x), dtype=bool)
    mask[chosen] = True
    return x, y, mask


def add_trigger(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[:, :, -3:-1, -3:-1] = 1.0
    return x
