"""Which inputs are valid: ranges, integer and one-hot columns, columns an attacker cannot
change, and the perturbation budget.

An adversarial loan application must still be an application: an age stays an integer
in range, exactly one "employment type" column is 1, the applicant's recorded birth date
does not move. Attacks search in a continuous space and call `project` at every step
and once at the end, so no row they return breaks a declared constraint; `violations`
checks that independently (tests use it on every adversarial row).

Budgets are measured in units of `scale` per feature: with `relative=True`,
`from_data` sets it to each feature's observed range, so `eps=0.1` means "10% of each
feature's range" on tabular data of mixed units; images in [0, 1] use scale 1.

Rows are 2-D (n, features); image batches are flattened by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_TOL = 1e-6


@dataclass(frozen=True)
class Constraints:
    """Declared validity of rows; every field optional."""

    lower: np.ndarray | None = None
    """Per-feature minimum (or one value for all)."""
    upper: np.ndarray | None = None
    """Per-feature maximum (or one value for all)."""
    integer: tuple[int, ...] = ()
    """Columns that hold whole numbers."""
    categorical: tuple[tuple[int, ...], ...] = ()
    """One-hot groups: in each, exactly one column is 1 and the rest 0."""
    immutable: tuple[int, ...] = ()
    """Columns an attacker cannot change (they keep the original value)."""
    scale: np.ndarray | None = None
    """Per-feature unit of the budget (default 1)."""

    @classmethod
    def box(cls, lower: float, upper: float) -> Constraints:
        return cls(np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64))

    @classmethod
    def from_data(cls, x: np.ndarray, *, integer: str | tuple[int, ...] = "auto",
                  categorical: tuple[tuple[int, ...], ...] = (),
                  immutable: tuple[int, ...] = (), relative: bool = True) -> Constraints:
        """Ranges observed in `x`; integer columns found when `integer="auto"` (every value
        whole and not in a one-hot group); budget relative to the range if `relative`."""
        x = np.asarray(x, dtype=np.float64)
        lo, hi = x.min(axis=0), x.max(axis=0)
        in_group = {c for g in categorical for c in g}
        if integer == "auto":
            whole = np.all(np.isclose(x, np.round(x)), axis=0)
            ints = tuple(int(i) for i in np.nonzero(whole)[0] if int(i) not in in_group)
        else:
            ints = tuple(int(i) for i in integer)
        scale = np.where(hi > lo, hi - lo, 1.0) if relative else None
        return cls(lo, hi, ints, tuple(tuple(g) for g in categorical), tuple(immutable), scale)

    def _scale(self, d: int) -> np.ndarray:
        return np.ones(d) if self.scale is None else np.broadcast_to(self.scale, (d,))

    def _bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        lo = np.full(d, -np.inf) if self.lower is None else np.broadcast_to(self.lower, (d,))
        hi = np.full(d, np.inf) if self.upper is None else np.broadcast_to(self.upper, (d,))
        lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
        if self.integer:
            idx = list(self.integer)
            lo[idx], hi[idx] = np.ceil(lo[idx] - _TOL), np.floor(hi[idx] + _TOL)
        return lo, hi

    def mutable_mask(self, d: int) -> np.ndarray:
        mask = np.ones(d, dtype=bool)
        mask[list(self.immutable)] = False
        return mask

    def clip(self, x_adv: np.ndarray, x0: np.ndarray, eps: float, norm: str) -> np.ndarray:
        """The continuous part of the projection: budget ball, ranges, immutable columns.

        Cheap enough to run at every attack step."""
        d = x0.shape[1]
        s = self._scale(d)
        delta = (x_adv - x0) / s
        delta[:, ~self.mutable_mask(d)] = 0.0
        delta = project_ball(delta, eps, norm)
        lo, hi = self._bounds(d)
        return np.clip(x0 + delta * s, lo, hi)

    def project(self, x_adv: np.ndarray, x0: np.ndarray, eps: float, norm: str) -> np.ndarray:
        """The nearest valid row within the budget: continuous clip, then integers rounded
        (toward the original when rounding would leave the budget), one-hot groups set to
        their largest entry (kept as original when the change does not fit the budget)."""
        x_adv = np.asarray(x_adv, dtype=np.float64)
        x0 = np.asarray(x0, dtype=np.float64)
        x = self.clip(x_adv.copy(), x0, eps, norm)
        d = x0.shape[1]
        s = self._scale(d)
        lo, hi = self._bounds(d)
        if self.integer:
            idx = np.array(self.integer)
            near = np.round(x[:, idx])
            toward = x0[:, idx] + np.trunc(x[:, idx] - x0[:, idx])
            x[:, idx] = near
            over = _norm((x - x0) / s, norm) > eps + _TOL
            x[np.ix_(over, idx)] = np.round(toward[over])
            x[:, idx] = np.clip(x[:, idx], lo[idx], hi[idx])
        for group in self.categorical:
            g = np.array(group)
            pick = x[:, g].argmax(axis=1)
            onehot = np.zeros((len(x), len(g)))
            onehot[np.arange(len(x)), pick] = 1.0
            x[:, g] = onehot
        if self.categorical:
            over = _norm((x - x0) / s, norm) > eps + _TOL
            for group in self.categorical:
                g = np.array(group)
                x[np.ix_(over, g)] = x0[np.ix_(over, g)]
        # L2 only: reverting whole groups can leave the continuous part over budget in
        # rare rows; shrink just those rows' continuous columns.
        over = _norm((x - x0) / s, norm) > eps + _TOL
        if over.any():
            cont = self.mutable_mask(d)
            cont[list(self.integer)] = False
            for group in self.categorical:
                cont[list(group)] = False
            fixed = (x - x0) / s
            fixed[:, cont] = 0.0
            rest = max(0.0, eps)
            free = (x[over] - x0[over]) / s
            free[:, ~cont] = 0.0
            room = np.sqrt(np.maximum(rest ** 2 - (fixed[over] ** 2).sum(axis=1), 0.0))
            n = np.sqrt((free ** 2).sum(axis=1)) + 1e-12
            free *= np.minimum(1.0, room / n)[:, None]
            x[np.ix_(over, cont)] = (x0[over] + free * s)[:, cont]
        x[:, ~self.mutable_mask(d)] = x0[:, ~self.mutable_mask(d)]
        return x

    def violations(self, x_adv: np.ndarray, x0: np.ndarray, eps: float | None = None,
                   norm: str = "inf") -> list[str]:
        """Every broken constraint, one sentence each (empty when all rows are valid)."""
        x_adv = np.asarray(x_adv, dtype=np.float64)
        x0 = np.asarray(x0, dtype=np.float64)
        d = x0.shape[1]
        lo, hi = self._bounds(d)
        out = []
        bad = np.nonzero(((x_adv < lo - _TOL) | (x_adv > hi + _TOL)).any(axis=1))[0]
        if len(bad):
            out.append(f"{len(bad)} rows out of range (first: row {bad[0]})")
        if self.integer:
            v = x_adv[:, list(self.integer)]
            bad = np.nonzero((np.abs(v - np.round(v)) > _TOL).any(axis=1))[0]
            if len(bad):
                out.append(f"{len(bad)} rows with a non-integer integer column")
        for group in self.categorical:
            v = x_adv[:, list(group)]
            ok = (np.isclose(v, 0) | np.isclose(v, 1)).all(axis=1) & np.isclose(v.sum(axis=1), 1)
            if not ok.all():
                out.append(f"{int((~ok).sum())} rows with an invalid one-hot group {group}")
        if self.immutable:
            imm = list(self.immutable)
            moved = np.nonzero((np.abs(x_adv[:, imm] - x0[:, imm]) > _TOL).any(axis=1))[0]
            if len(moved):
                out.append(f"{len(moved)} rows changed an immutable column")
        if eps is not None:
            dist = _norm((x_adv - x0) / self._scale(d), norm)
            over = np.nonzero(dist > eps + 1e-5)[0]
            if len(over):
                out.append(f"{len(over)} rows beyond the budget {norm} {eps} "
                           f"(max {dist.max():.4g})")
        return out


def project_ball(delta: np.ndarray, eps: float, norm: str) -> np.ndarray:
    """Project perturbations (one per row) onto the L-inf or L2 ball of radius eps."""
    if norm == "inf":
        return np.clip(delta, -eps, eps)
    n = np.sqrt((delta ** 2).sum(axis=1, keepdims=True))
    return delta * np.minimum(1.0, eps / np.maximum(n, 1e-12))


def _norm(delta: np.ndarray, norm: str) -> np.ndarray:
    if norm == "inf":
        return np.abs(delta).max(axis=1) if delta.shape[1] else np.zeros(len(delta))
    return np.sqrt((delta ** 2).sum(axis=1))
