"""Evasion: FGSM and PGD with gradients, and the Square attack without them.

White box (torch): FGSM (one signed-gradient step) and PGD (Madry et al. 2018), L-inf
and L2, random start, whole batches of `DEFAULT_BATCH` rows per pass, gradients only
where needed (`torch.no_grad` for everything else) and projection done on tensors.

Black box: the Square attack (Andriushchenko et al., ECCV 2020), score-based random
search. Chosen over HopSkipJump because (1) it attacks at a fixed budget, which is the
question "accuracy left at eps" asks, where HopSkipJump minimises the perturbation and
needs thousands of boundary queries per row before its answer can be read at a budget;
(2) every proposal is a plain row that `Constraints.project` can make valid before it
is queried, so integer, one-hot and immutable columns need no special gradient
estimate; (3) it needs only scores, which every `predict_proba` (scikit-learn, XGBoost,
ONNX, a REST endpoint) returns, and is the most query-efficient published L-inf
black-box attack. Proposals change a random subset of mutable features (the
"square" for tabular rows) to a vertex of the L-inf box, or move on the L2 sphere.
With a label-only model the margin is flat and the search degrades to random vertex
sampling; the report says how many queries were spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dozor.robust.constraints import Constraints, _norm, project_ball
from dozor.robust.models import Classifier, TorchClassifier, predict

ATTACKS = ("fgsm", "pgd", "blackbox")


@dataclass(frozen=True)
class BudgetResult:
    """Accuracy left at one budget."""

    eps: float
    robust_accuracy: float
    """Fraction of all rows still classified correctly after the attack."""
    success_rate: float
    """Fraction of rows that were correct before and wrong after."""
    seconds: float
    queries: int = 0
    """Model queries spent (black-box attacks)."""


@dataclass(frozen=True)
class EvasionResult:
    """A robustness curve: one attack, one norm, several budgets."""

    attack: str
    norm: str
    n: int
    clean_accuracy: float
    budgets: tuple[BudgetResult, ...]
    settings: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """The attack's parameters, for the report (steps, step size, random start, ...)."""

    def robust_accuracy(self) -> dict[float, float]:
        return {b.eps: b.robust_accuracy for b in self.budgets}

    def to_dict(self) -> dict[str, Any]:
        return {
            "attack": self.attack,
            "norm": self.norm,
            "n": self.n,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": {str(b.eps): b.robust_accuracy for b in self.budgets},
            "budgets": [b.__dict__ for b in self.budgets],
            "settings": dict(self.settings),
        }


def _torch_bounds(model: TorchClassifier, constraints: Constraints | None, d: int) -> Any:
    torch = model._torch
    lo = np.full(d, -np.inf)
    hi = np.full(d, np.inf)
    if model.clip_values is not None:
        lo[:], hi[:] = model.clip_values
    scale = np.ones(d)
    mask = np.ones(d, dtype=bool)
    if constraints is not None:
        clo, chi = constraints._bounds(d)
        lo, hi = np.maximum(lo, clo), np.minimum(hi, chi)
        scale = constraints._scale(d).astype(np.float64)
        mask = constraints.mutable_mask(d)

    def t(a: np.ndarray) -> Any:
        return torch.as_tensor(np.asarray(a, dtype=np.float32)).reshape(1, d)

    return t(lo), t(hi), t(scale), t(mask.astype(np.float32))


def pgd(model: TorchClassifier, x: np.ndarray, y: np.ndarray, *, eps: float, norm: str = "inf",
        steps: int = 40, step_size: float | None = None, random_start: bool = True,
        constraints: Constraints | None = None, seed: int = 0,
        batch_size: int | None = None) -> np.ndarray:
    """Projected gradient descent on the cross-entropy loss; returns adversarial rows
    shaped like `x`. `steps=1, random_start=False, step_size=eps` is FGSM."""
    torch = model._torch
    if norm not in ("inf", "2"):
        raise ValueError("norm must be 'inf' or '2'")
    alpha = step_size if step_size is not None else 2.5 * eps / max(steps, 1)
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    flat = x.reshape(n, -1)
    d = flat.shape[1]
    lo, hi, scale, mask = _torch_bounds(model, constraints, d)
    gen = torch.Generator().manual_seed(seed)
    bs = batch_size or model.batch_size
    out = np.empty_like(flat)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    plain = bool((scale == 1).all() and (mask == 1).all())
    step_scale = alpha * scale * mask
    params = list(model.module.parameters())
    had_grad = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)  # gradients w.r.t. inputs only: skip the weight graph
    try:
        for i in range(0, n, bs):
            x0 = torch.as_tensor(flat[i:i + bs])
            yt = torch.as_tensor(np.asarray(y[i:i + bs]), dtype=torch.long)
            with torch.no_grad():
                if random_start and eps > 0:
                    delta = _random_start(len(x0), d, eps, norm, gen) * mask
                else:
                    delta = torch.zeros_like(x0)
                xa = torch.minimum(torch.maximum(x0 + delta * scale, lo), hi)
                if norm == "inf":
                    # the L-inf ball intersected with the valid range, once per batch: a step
                    # is then one clamp, and immutable columns (mask 0) have lo == hi == x0
                    box_lo = torch.maximum(x0 - eps * scale * mask, lo)
                    box_hi = torch.minimum(x0 + eps * scale * mask, hi)
            for _ in range(steps):
                xa.requires_grad_(True)
                loss = loss_fn(model.module(xa.reshape((len(xa), *model.input_shape))), yt)
                (grad,) = torch.autograd.grad(loss, xa)
                with torch.no_grad():
                    if norm == "inf":
                        step = grad.sign_() if plain else grad.sign_() * step_scale
                        xa = torch.minimum(torch.maximum(xa.detach().add_(
                            step, alpha=alpha if plain else 1.0), box_lo), box_hi)
                        continue
                    g = grad if plain else grad * scale * mask  # gradient in budget units
                    step = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
                    delta = (xa.detach() - x0) if plain else (xa.detach() - x0) / scale
                    delta = delta + alpha * step
                    nrm = delta.norm(dim=1, keepdim=True).clamp_min(1e-12)
                    delta = delta * torch.clamp(eps / nrm, max=1.0)
                    if not plain:
                        delta = delta * scale * mask
                    xa = torch.minimum(torch.maximum(x0 + delta, lo), hi)
            out[i:i + bs] = xa.detach().numpy()
    finally:
        for p, had in zip(params, had_grad, strict=True):
            p.requires_grad_(had)
    if constraints is not None and (constraints.integer or constraints.categorical):
        out = constraints.project(out, flat, eps, norm).astype(np.float32)
    return out.reshape(x.shape)


def fgsm(model: TorchClassifier, x: np.ndarray, y: np.ndarray, *, eps: float, norm: str = "inf",
         constraints: Constraints | None = None, batch_size: int | None = None) -> np.ndarray:
    """The fast gradient sign method: one step of size eps."""
    return pgd(model, x, y, eps=eps, norm=norm, steps=1, step_size=eps, random_start=False,
               constraints=constraints, batch_size=batch_size)


def _random_start(n: int, d: int, eps: float, norm: str, gen: Any) -> Any:
    import torch

    if norm == "inf":
        return (torch.rand((n, d), generator=gen) * 2 - 1) * eps
    v = torch.randn((n, d), generator=gen)
    v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
    r = torch.rand((n, 1), generator=gen) ** (1.0 / d)
    return v * r * eps


def _margin(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log p(true) - max log p(other): below 0 means misclassified."""
    lp = np.log(np.clip(p, 1e-12, 1.0))
    true = lp[np.arange(len(y)), y]
    lp[np.arange(len(y)), y] = -np.inf
    return np.asarray(true - lp.max(axis=1))


def square(model: Classifier, x: np.ndarray, y: np.ndarray, *, eps: float, norm: str = "inf",
           queries: int = 1000, p_init: float = 0.3, constraints: Constraints | None = None,
           seed: int = 0, on_step: Callable[[int], None] | None = None
           ) -> tuple[np.ndarray, int]:
    """The Square attack (score-based random search) at budget eps.

    Returns the adversarial rows (shaped like `x`, every one valid under `constraints`)
    and the number of model queries spent. `queries` bounds the iterations per row."""
    rng = np.random.default_rng(seed)
    shape = x.shape
    x0 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y)
    n, d = x0.shape
    clip = getattr(model, "clip_values", None)
    cons = constraints or (Constraints.box(*clip) if clip is not None else Constraints())
    s = cons._scale(d)
    mutable = np.nonzero(cons.mutable_mask(d))[0]
    if len(mutable) == 0 or eps <= 0 or n == 0:
        return x0.reshape(shape), 0

    def proj(xa: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return cons.project(xa, x0[rows], eps, norm)

    spent = n
    p = model.predict_proba(x0.astype(np.float32).reshape(shape))
    best_m = _margin(p, y)
    best = x0.copy()
    active = np.nonzero(best_m > 0)[0]
    if len(active):
        # start at a random vertex (L-inf) or a random point on the sphere (L2)
        delta = np.zeros((len(active), d))
        if norm == "inf":
            delta[:, mutable] = rng.choice([-eps, eps], size=(len(active), len(mutable)))
        else:
            delta[:, mutable] = rng.standard_normal((len(active), len(mutable)))
            delta = project_ball(delta * 1e6, eps, "2")
        cand = proj(x0[active] + delta * s, active)
        pa = model.predict_proba(cand.astype(np.float32).reshape((len(active), *shape[1:])))
        spent += len(active)
        m = _margin(pa, y[active])
        better = m < best_m[active]
        best[active[better]] = cand[better]
        best_m[active[better]] = m[better]
    k_all = len(mutable)
    for it in range(1, queries):
        active = np.nonzero(best_m > 0)[0]
        if len(active) == 0:
            break
        frac = p_init * 0.5 ** np.searchsorted([10, 50, 200, 500, 1000, 2000, 4000], it *
                                               10000 / max(queries, 1))
        k = max(1, int(round(frac * k_all)))
        cols = np.argsort(rng.random((len(active), k_all)), axis=1)[:, :k]
        cols = mutable[cols]
        cur = (best[active] - x0[active]) / s
        rows = np.arange(len(active))[:, None]
        if norm == "inf":
            cur[rows, cols] = rng.choice([-eps, eps], size=cols.shape)
        else:
            cur[rows, cols] += rng.standard_normal(cols.shape) * eps / np.sqrt(k)
            nrm = _norm(cur, "2")[:, None]
            cur = cur * (eps / np.maximum(nrm, 1e-12))
        cand = proj(x0[active] + cur * s, active)
        pa = model.predict_proba(cand.astype(np.float32).reshape((len(active), *shape[1:])))
        spent += len(active)
        m = _margin(pa, y[active])
        better = m < best_m[active]
        best[active[better]] = cand[better]
        best_m[active[better]] = m[better]
        if on_step is not None:
            on_step(it)
    return best.reshape(shape), spent


def evaluate(model: Classifier, x: np.ndarray, y: np.ndarray, *, attack: str = "pgd",
             eps: tuple[float, ...] | list[float] = (0.05, 0.1, 0.2), norm: str = "inf",
             steps: int = 40, step_size: float | None = None, random_start: bool = True,
             queries: int = 500, constraints: Constraints | None = None, seed: int = 0,
             on_budget: Callable[[BudgetResult], None] | None = None) -> EvasionResult:
    """Run one attack at each budget and return the robustness curve.

    `y` holds class indices 0..n_classes-1. A `KeyboardInterrupt` stops between budgets
    and the budgets done so far are returned."""
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; choose one of {', '.join(ATTACKS)}")
    if attack in ("fgsm", "pgd") and not isinstance(model, TorchClassifier):
        raise ValueError(f"{attack} needs gradients (a torch model); use the blackbox attack")
    y = np.asarray(y, dtype=np.int64)
    clean_pred = predict(model, x)
    clean_ok = clean_pred == y
    results: list[BudgetResult] = []
    settings: dict[str, str] = {"norm": norm}
    if attack == "pgd":
        settings.update(steps=str(steps), random_start=str(random_start),
                        step_size=str(step_size) if step_size else "2.5*eps/steps")
    elif attack == "blackbox":
        settings.update(method="square", queries_per_row=str(queries))
    if constraints is not None:
        settings.update(integer=str(len(constraints.integer)),
                        categorical_groups=str(len(constraints.categorical)),
                        immutable=str(len(constraints.immutable)),
                        budget_unit="feature range" if constraints.scale is not None else "1")
    try:
        for e in eps:
            t0 = time.perf_counter()
            used = 0
            if attack == "pgd":
                assert isinstance(model, TorchClassifier)
                xa = pgd(model, x, y, eps=e, norm=norm, steps=steps, step_size=step_size,
                         random_start=random_start, constraints=constraints, seed=seed)
            elif attack == "fgsm":
                assert isinstance(model, TorchClassifier)
                xa = fgsm(model, x, y, eps=e, norm=norm, constraints=constraints)
            else:
                xa, used = square(model, x, y, eps=e, norm=norm, queries=queries,
                                  constraints=constraints, seed=seed)
            ok = predict(model, xa) == y
            r = BudgetResult(float(e), float(ok.mean()),
                             float((clean_ok & ~ok).sum() / max(clean_ok.sum(), 1)),
                             time.perf_counter() - t0, used)
            results.append(r)
            if on_budget is not None:
                on_budget(r)
    except KeyboardInterrupt:
        pass
    return EvasionResult(attack, norm, len(x), float(clean_ok.mean()), tuple(results),
                         tuple(settings.items()))
