"""Membership inference: can an attacker tell whether a row was in the training set?

Two attacks, both black box (they only read `predict_proba`):

- threshold (Yeom et al. 2018): a member tends to have lower loss (or higher
  confidence) than a non-member. The score is minus the cross-entropy loss of the true
  label (or the top probability). It needs no training, and on overfit models it is as
  strong as far costlier attacks; its AUC is threshold-free, so no member has to be
  known in advance.
- shadow models (Shokri et al. 2017): the attacker trains models like the target on
  data from the same distribution, where membership is known, and learns from their
  outputs (true-label log-probability, top log-probability, entropy, margin,
  correctness) what membership looks like, then applies that to the target.

Each reports AUC and TPR at low FPR (0.1%, 1%): a privacy attack matters when it
identifies some members with near certainty, which an average like AUC hides
(Carlini et al. 2022).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dozor.robust.models import Classifier, TorchClassifier

LOW_FPR = (0.001, 0.01)


@dataclass(frozen=True)
class MembershipResult:
    attack: str
    auc: float
    """Probability that a random member scores above a random non-member."""
    tpr_at_fpr: tuple[tuple[float, float], ...]
    """(FPR, TPR) pairs at the low false-positive rates."""
    advantage: float
    """max(TPR - FPR) over thresholds: the best accuracy gain over guessing."""
    n_members: int
    n_nonmembers: int

    def to_dict(self) -> dict[str, Any]:
        return {"attack": self.attack, "auc": self.auc,
                "tpr_at_fpr": {str(f): t for f, t in self.tpr_at_fpr},
                "advantage": self.advantage, "n_members": self.n_members,
                "n_nonmembers": self.n_nonmembers}


def attack_metrics(attack: str, members: np.ndarray, nonmembers: np.ndarray,
                   fprs: tuple[float, ...] = LOW_FPR) -> MembershipResult:
    """AUC, TPR at each FPR and advantage, from scores where higher means "member"."""
    from sklearn.metrics import roc_auc_score, roc_curve

    members = np.nan_to_num(np.asarray(members, dtype=np.float64), nan=-1e30)
    nonmembers = np.nan_to_num(np.asarray(nonmembers, dtype=np.float64), nan=-1e30)
    truth = np.r_[np.ones(len(members)), np.zeros(len(nonmembers))]
    scores = np.r_[members, nonmembers]
    auc = float(roc_auc_score(truth, scores))
    fpr, tpr, _ = roc_curve(truth, scores)
    pairs = []
    for f in fprs:
        # the largest TPR whose FPR does not exceed f (0 if even the strictest threshold
        # lets more than f of non-members through)
        ok = fpr <= f + 1e-12
        pairs.append((f, float(tpr[ok].max()) if ok.any() else 0.0))
    return MembershipResult(attack, auc, tuple(pairs), float((tpr - fpr).max()),
                            len(members), len(nonmembers))


def _true_loss(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0)))


def threshold_attack(model: Classifier, x_in: np.ndarray, y_in: np.ndarray, x_out: np.ndarray,
                     y_out: np.ndarray, *, score: str = "loss") -> MembershipResult:
    """Loss (or confidence) threshold attack; `y` are class indices."""
    p_in, p_out = model.predict_proba(x_in), model.predict_proba(x_out)
    if score == "loss":
        s_in, s_out = -_true_loss(p_in, y_in), -_true_loss(p_out, y_out)
    elif score == "confidence":
        s_in, s_out = p_in.max(axis=1), p_out.max(axis=1)
    else:
        raise ValueError("score must be 'loss' or 'confidence'")
    return attack_metrics(f"{score}-threshold", s_in, s_out)


def _features(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    lp = np.log(np.clip(p, 1e-12, 1.0))
    true = lp[np.arange(len(y)), y]
    other = lp.copy()
    other[np.arange(len(y)), y] = -np.inf
    ent = -(p * lp).sum(axis=1)
    return np.stack([true, lp.max(axis=1), true - other.max(axis=1), ent,
                     (p.argmax(axis=1) == y).astype(np.float64)], axis=1)


def shadow_attack(model: Classifier, x_in: np.ndarray, y_in: np.ndarray, x_out: np.ndarray,
                  y_out: np.ndarray, *, x_pool: np.ndarray, y_pool: np.ndarray,
                  make_shadow: Callable[[], Any], n_shadows: int = 4,
                  seed: int = 0) -> MembershipResult:
    """Shadow-model attack. `x_pool`/`y_pool` is the attacker's own data from the target's
    distribution (never rows of x_in or x_out); `make_shadow()` returns an unfitted model
    like the target (`fit(x, y)`, `predict_proba(x)`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for _ in range(max(1, n_shadows)):
        idx = rng.permutation(len(x_pool))
        half = len(idx) // 2
        a, b = idx[:half], idx[half:2 * half]
        shadow = make_shadow()
        shadow.fit(x_pool[a], y_pool[a])
        for part, member in ((a, 1.0), (b, 0.0)):
            p = _padded_proba(shadow, x_pool[part], model.n_classes)
            feats.append(_features(p, y_pool[part]))
            labels.append(np.full(len(part), member))
    attacker = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    attacker.fit(np.concatenate(feats), np.concatenate(labels))
    s_in = attacker.predict_proba(_features(model.predict_proba(x_in), y_in))[:, 1]
    s_out = attacker.predict_proba(_features(model.predict_proba(x_out), y_out))[:, 1]
    return attack_metrics("shadow-models", s_in, s_out)


def _padded_proba(model: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Shadow models trained on a subset may not have seen every class."""
    p = np.asarray(model.predict_proba(x), dtype=np.float64)
    classes = getattr(model, "classes_", None)
    if p.shape[1] == n_classes or classes is None:
        return p
    out = np.zeros((len(x), n_classes))
    out[:, np.asarray(classes, dtype=np.int64)] = p
    return out


class TorchShadow:
    """A fresh copy of a torch target's architecture, trained like an ordinary model
    (Adam, cross-entropy, full passes over the data); the shadow for `shadow_attack`."""

    def __init__(self, target: TorchClassifier, *, epochs: int = 100, lr: float = 1e-2,
                 batch_size: int = 256, seed: int = 0) -> None:
        self.target, self.epochs, self.lr, self.batch_size = target, epochs, lr, batch_size
        self.seed = seed
        self.model: TorchClassifier | None = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> TorchShadow:
        import torch

        torch.manual_seed(self.seed)
        module = copy.deepcopy(self.target.module)
        for m in module.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
        module.train()
        opt = torch.optim.Adam(module.parameters(), lr=self.lr)
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(
            (len(x), *self.target.input_shape))
        yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
        for _ in range(self.epochs):
            perm = torch.randperm(len(xt))
            for i in range(0, len(xt), self.batch_size):
                j = perm[i:i + self.batch_size]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(module(xt[j]), yt[j]).backward()
                opt.step()
        self.model = TorchClassifier(module, self.target.n_classes, self.target.input_shape,
                                     self.target.clip_values)
        self.seed += 1
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        assert self.model is not None, "fit first"
        return self.model.predict_proba(x)


def default_shadow(model: Any, *, epochs: int = 100) -> Callable[[], Any]:
    """A factory of shadow models like `model`: a clone of a scikit-learn estimator, a
    retrained copy of a torch module, or (for a black box) a scikit-learn MLP."""
    from dozor.robust.models import SklearnClassifier

    if isinstance(model, TorchClassifier):
        counter = iter(range(10_000))
        return lambda: TorchShadow(model, epochs=epochs, seed=next(counter))
    if isinstance(model, SklearnClassifier):
        from sklearn.base import clone

        est = model.estimator
        return lambda: clone(est)
    from sklearn.neural_network import MLPClassifier

    return lambda: MLPClassifier((128,), max_iter=500, random_state=0)
