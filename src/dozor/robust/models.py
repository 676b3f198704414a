"""One interface over the models dozor attacks: torch, scikit-learn, or any callable.

Every attack talks to a `Classifier`: `predict_proba(x) -> (n, classes)` on numpy
arrays, and `n_classes`. Only `TorchClassifier` also has gradients (`loss_gradient`),
which the white-box attacks (FGSM, PGD) need; everything else is a black box for the
Square attack, membership inference and extraction. Wrapping a remote endpoint,
XGBoost, LightGBM or ONNX Runtime is one `CallableClassifier(fn)`: no adapter per
library, because they all answer "give me scores for these rows".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

DEFAULT_BATCH = 4096
"""Rows per forward/backward pass: large, because a small CNN or MLP on CPU is bound by
per-call overhead, not memory (ART's default of 32 is the main reason it is slow)."""


@runtime_checkable
class Classifier(Protocol):
    """What every attack needs: class probabilities for a batch of rows."""

    n_classes: int

    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...


def predict(model: Classifier, x: np.ndarray) -> np.ndarray:
    """Predicted labels."""
    return np.asarray(model.predict_proba(x)).argmax(axis=1)


def accuracy(model: Classifier, x: np.ndarray, y: np.ndarray) -> float:
    if len(x) == 0:
        return float("nan")
    return float((predict(model, x) == np.asarray(y)).mean())


def set_torch_threads() -> int:
    """Use the CPUs this process may run on (cgroup/affinity aware), at most 16, or
    $DOZOR_TORCH_THREADS.

    torch defaults to the number of physical cores of the host, which oversubscribes a
    container limited to fewer; more than 16 threads does not help models this small.
    On a busy shared machine, 1 thread avoids OpenMP spin-waiting on descheduled threads.
    """
    import torch

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    n = max(1, min(cpus, 16))
    env = os.environ.get("DOZOR_TORCH_THREADS", "")
    if env.isdigit() and int(env) > 0:
        n = int(env)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


@dataclass
class TorchClassifier:
    """A torch `nn.Module` returning logits, in eval mode, on CPU unless told otherwise."""

    module: Any
    n_classes: int
    input_shape: tuple[int, ...]
    """Shape of one input without the batch dimension, e.g. (1, 8, 8)."""
    clip_values: tuple[float, float] | None = None
    """The valid input range, e.g. (0, 1) for images; attacks stay inside it."""
    batch_size: int = DEFAULT_BATCH
    device: str = "cpu"
    _torch: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import torch

        self._torch = torch
        set_torch_threads()
        self.module = self.module.to(self.device).eval()

    @classmethod
    def wrap(cls, module: Any, input_shape: tuple[int, ...], *,
             clip_values: tuple[float, float] | None = None,
             n_classes: int | None = None) -> TorchClassifier:
        """Wrap `module`; the number of classes is read from one forward pass if not given."""
        import torch

        if n_classes is None:
            with torch.no_grad():
                out = module.eval()(torch.zeros((1, *input_shape)))
            n_classes = int(out.shape[-1])
        return cls(module, n_classes, tuple(input_shape), clip_values)

    def to_tensor(self, x: np.ndarray) -> Any:
        t = self._torch.as_tensor(np.asarray(x, dtype=np.float32), device=self.device)
        return t.reshape((t.shape[0], *self.input_shape))

    def logits(self, x: np.ndarray) -> np.ndarray:
        torch = self._torch
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), self.batch_size):
                outs.append(self.module(self.to_tensor(x[i:i + self.batch_size])).cpu())
        if not outs:
            return np.zeros((0, self.n_classes), dtype=np.float32)
        return torch.cat(outs).numpy()

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@dataclass
class SklearnClassifier:
    """A fitted scikit-learn estimator or pipeline (anything with `predict_proba`,
    `decision_function` or only `predict`)."""

    estimator: Any
    n_classes: int = 0
    classes: np.ndarray | None = None

    def __post_init__(self) -> None:
        classes = getattr(self.estimator, "classes_", None)
        if classes is None and hasattr(self.estimator, "steps"):
            classes = getattr(self.estimator.steps[-1][1], "classes_", None)
        if classes is not None:
            self.classes = np.asarray(classes)
            self.n_classes = len(self.classes)
        if self.n_classes < 2:
            raise ValueError("the estimator has no classes_: fit it before attacking it")

    def labels_to_index(self, y: np.ndarray) -> np.ndarray:
        """Map labels as the estimator knows them to 0..n_classes-1 (unknown -> -1)."""
        assert self.classes is not None
        lookup = {c: i for i, c in enumerate(self.classes.tolist())}
        return np.array([lookup.get(v, -1) for v in np.asarray(y).tolist()], dtype=np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        import warnings

        with warnings.catch_warnings():
            # fitted on a DataFrame, attacked with arrays of the same columns in order
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return self._proba(np.asarray(x).reshape(len(x), -1))

    def _proba(self, x: np.ndarray) -> np.ndarray:
        est = self.estimator
        if hasattr(est, "predict_proba"):
            try:
                return np.asarray(est.predict_proba(x), dtype=np.float64)
            except AttributeError:  # e.g. SVC(probability=False) exposes it but refuses
                pass
        if hasattr(est, "decision_function"):
            d = np.asarray(est.decision_function(x), dtype=np.float64)
            if d.ndim == 1:
                d = np.stack([-d, d], axis=1)
            d -= d.max(axis=1, keepdims=True)
            e = np.exp(d)
            return e / e.sum(axis=1, keepdims=True)
        return _one_hot(self.labels_to_index(est.predict(x)), self.n_classes)


@dataclass
class CallableClassifier:
    """Any function from rows to scores or labels: a remote endpoint, XGBoost,
    LightGBM, an ONNX Runtime session's `run`, ...

    `output="proba"`: the function returns (n, classes) scores; `"label"`: it returns
    class indices 0..n_classes-1, and score-based attacks see a one-hot vector."""

    fn: Callable[[np.ndarray], Any]
    n_classes: int
    output: str = "proba"
    calls: int = 0
    """Rows sent to `fn` so far (the query count an attacker would pay for)."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.calls += len(x)
        out = np.asarray(self.fn(x))
        if self.output == "label":
            return _one_hot(out.astype(np.int64).reshape(-1), self.n_classes)
        out = out.astype(np.float64).reshape(len(x), -1)
        if out.shape[1] == 1 and self.n_classes == 2:  # P(class 1) only
            out = np.concatenate([1.0 - out, out], axis=1)
        return out


def _one_hot(idx: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(idx), n), dtype=np.float64)
    ok = (idx >= 0) & (idx < n)
    out[np.nonzero(ok)[0], idx[ok]] = 1.0
    return out


def as_classifier(model: Any, *, input_shape: tuple[int, ...] | None = None,
                  clip_values: tuple[float, float] | None = None,
                  n_classes: int | None = None) -> Classifier:
    """Wrap a torch module, a scikit-learn estimator or a callable in a `Classifier`."""
    if isinstance(model, (TorchClassifier, SklearnClassifier, CallableClassifier)):
        return model
    try:
        import torch

        if isinstance(model, torch.nn.Module):
            if input_shape is None:
                raise ValueError("a torch model needs input_shape (one row, no batch dimension)")
            return TorchClassifier.wrap(model, input_shape, clip_values=clip_values,
                                        n_classes=n_classes)
    except ImportError:
        pass
    if hasattr(model, "predict") and (hasattr(model, "classes_") or hasattr(model, "steps")):
        return SklearnClassifier(model)
    if callable(model):
        if n_classes is None:
            raise ValueError("a callable model needs n_classes")
        return CallableClassifier(model, n_classes)
    raise TypeError(f"cannot attack a {type(model).__name__}: give a torch module, a fitted "
                    "scikit-learn estimator, or a function returning class scores")
