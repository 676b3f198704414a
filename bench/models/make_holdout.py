#!/usr/bin/env python3
"""Build a held-out set of BENIGN model files to measure dozor's false positives.

    KERAS_BACKEND=torch bench/.venvs/corpus/bin/python bench/models/make_holdout.py OUTDIR [--scan DOZOR]

Why a second benign set: dozor's pickle allowlist was tuned on the benign files of
``make_corpus.py``. A false-positive rate measured on the files you tuned on says
little, so this script writes files that ``make_corpus.py`` does not make: other
estimators, layer types, optimizers and schedulers, dtypes, container layouts,
pandas extension dtypes, numpy/scipy objects, statsmodels results, a transformers
``training_args.bin``, a functional Keras model, an exported ONNX CNN and GGUF files
with tool-calling chat templates. Everything is made by the real libraries, the way
a user would make it (``pickle.dump``, ``joblib.dump``, ``torch.save``, ``model.save``
...); nothing is hand-assembled and nothing is malicious. Do not tune the allowlist
on these files, or they stop being held out: add new files here instead.

Libraries: the corpus venv (``bench/.venvs/corpus``, see README.md) plus
``statsmodels`` and ``transformers`` (only ``TrainingArguments`` is built; nothing is
downloaded). Items whose library is missing or fails to build are skipped and listed
on stderr; the others are still written. Every file is under 5 MB.

Output: ``OUTDIR/benign/<file>`` and ``OUTDIR/manifest.json`` (a list of ``file``,
``label`` (always ``benign``), ``library``, ``format``, ``description``). Seeds are
fixed; byte-for-byte reproducibility is not a goal (library timestamps are kept).

``--scan DOZOR`` then runs ``DOZOR scan OUTDIR/benign -f json`` and prints every file
with a finding of severity medium or higher: each such file is a false positive at
dozor's default policy.

Full-module saves (``torch.save(model)``) deliberately reference the model classes
defined below as ``__main__.<Class>``, as real training scripts do.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # transformers must never download
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SEED = 20240607
MAX_BYTES = 5 * 1024 * 1024

# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------

ITEMS: list[tuple[str, str, str, str, Callable[[], bytes]]] = []


def item(
    file: str, library: str, fmt: str, description: str
) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def deco(fn: Callable[[], bytes]) -> Callable[[], bytes]:
        ITEMS.append((file, library, fmt, description, fn))
        return fn

    return deco


def pkl(obj: Any, protocol: int) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def joblib_bytes(obj: Any, compress: Any = 0) -> bytes:
    import joblib

    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "m.joblib")
        joblib.dump(obj, p, compress=compress)
        return Path(p).read_bytes()


def torch_bytes(obj: Any, **kw: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ---------------------------------------------------------------------------
# scikit-learn: other estimators, every pickle protocol, joblib compressions
# ---------------------------------------------------------------------------


@functools.cache
def xy() -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=240, n_features=8, n_informative=5, n_classes=3, random_state=SEED
    )


TEXTS = [
    "the model converged after ten epochs",
    "loss went down but accuracy stalled",
    "tokenizer splits words into pieces",
    "gradient clipping fixed the explosion",
    "the scanner reads files without loading them",
    "weights are stored as float16",
    "learning rate warmup helps transformers",
    "batch norm statistics drift at eval",
    "quantization shrinks the checkpoint",
    "the dataset has duplicate rows",
] * 3
TEXT_Y = [0, 1, 0, 1, 0, 0, 1, 1, 0, 1] * 3


@item("sklearn_svc_rbf_p0.pkl", "scikit-learn", "pickle", "SVC(rbf, balanced), pickle protocol 0")
def _svc() -> bytes:
    from sklearn.svm import SVC

    X, y = xy()
    return pkl(SVC(C=2.0, class_weight="balanced", random_state=SEED).fit(X, y), 0)


@item(
    "sklearn_knn_kdtree_p1.pkl",
    "scikit-learn",
    "pickle",
    "KNeighborsClassifier(kd_tree), protocol 1",
)
def _knn() -> bytes:
    from sklearn.neighbors import KNeighborsClassifier

    X, y = xy()
    return pkl(KNeighborsClassifier(n_neighbors=5, algorithm="kd_tree").fit(X, y), 1)


@item("sklearn_isolation_forest_p2.pkl", "scikit-learn", "pickle", "IsolationForest, protocol 2")
def _iforest() -> bytes:
    from sklearn.ensemble import IsolationForest

    X, _ = xy()
    return pkl(IsolationForest(n_estimators=8, random_state=SEED).fit(X), 2)


@item("sklearn_pca_whiten_p3.pkl", "scikit-learn", "pickle", "PCA(whiten=True), protocol 3")
def _pca() -> bytes:
    from sklearn.decomposition import PCA

    X, _ = xy()
    return pkl(PCA(n_components=3, whiten=True, random_state=SEED).fit(X), 3)


@item("sklearn_kmeans_p4.pkl", "scikit-learn", "pickle", "KMeans(n_clusters=4), protocol 4")
def _kmeans() -> bytes:
    from sklearn.cluster import KMeans

    X, _ = xy()
    return pkl(KMeans(n_clusters=4, n_init=3, random_state=SEED).fit(X), 4)


@item("sklearn_mlp_p5.pkl", "scikit-learn", "pickle", "MLPClassifier(adam), protocol 5")
def _mlp() -> bytes:
    from sklearn.neural_network import MLPClassifier

    X, y = xy()
    with quiet():
        m = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=40, random_state=SEED).fit(X, y)
    return pkl(m, 5)


@item(
    "sklearn_histgb_zlib.joblib",
    "scikit-learn",
    "joblib",
    "HistGradientBoostingClassifier, joblib ('zlib', 3)",
)
def _hgb() -> bytes:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = xy()
    return joblib_bytes(
        HistGradientBoostingClassifier(max_iter=8, random_state=SEED).fit(X, y), ("zlib", 3)
    )


@item(
    "sklearn_tfidf_linearsvc_gzip.joblib",
    "scikit-learn",
    "joblib",
    "Pipeline(TfidfVectorizer(ngram 1-2), LinearSVC), joblib ('gzip', 3)",
)
def _tfidf() -> bytes:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    m = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LinearSVC(random_state=SEED)
    )
    return joblib_bytes(m.fit(TEXTS, TEXT_Y), ("gzip", 3))


@item(
    "sklearn_calibrated_bz2.joblib",
    "scikit-learn",
    "joblib",
    "CalibratedClassifierCV(LinearSVC, isotonic), joblib ('bz2', 3)",
)
def _calibrated() -> bytes:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    X, y = xy()
    m = CalibratedClassifierCV(LinearSVC(random_state=SEED), method="isotonic", cv=3).fit(X, y)
    return joblib_bytes(m, ("bz2", 3))


@item(
    "sklearn_voting_xz.joblib",
    "scikit-learn",
    "joblib",
    "VotingClassifier(soft: LogisticRegression, DecisionTree, GaussianNB), joblib ('xz', 3)",
)
def _voting() -> bytes:
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier

    X, y = xy()
    m = VotingClassifier(
        [
            ("lr", LogisticRegression(max_iter=300)),
            ("dt", DecisionTreeClassifier(max_depth=3, random_state=SEED)),
            ("nb", GaussianNB()),
        ],
        voting="soft",
    ).fit(X, y)
    return joblib_bytes(m, ("xz", 3))


@item(
    "sklearn_log1p_ridge_lzma.joblib",
    "scikit-learn",
    "joblib",
    "Pipeline(FunctionTransformer(np.log1p, inverse_func=np.expm1), Ridge), joblib ('lzma', 3)",
)
def _log1p() -> bytes:
    import numpy as np
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = xy()
    m = make_pipeline(FunctionTransformer(np.log1p, inverse_func=np.expm1), Ridge(alpha=0.5))
    return joblib_bytes(m.fit(np.abs(X), y.astype(float)), ("lzma", 3))


@item(
    "sklearn_impute_kbins_p5.pkl",
    "scikit-learn",
    "pickle",
    "Pipeline(SimpleImputer(median), KBinsDiscretizer(onehot), LogisticRegression), protocol 5",
)
def _kbins() -> bytes:
    import numpy as np
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import KBinsDiscretizer

    X, y = xy()
    X = X.copy()
    X[::7, 2] = np.nan
    with quiet():
        m = make_pipeline(
            SimpleImputer(strategy="median"),
            KBinsDiscretizer(n_bins=4, encode="onehot", strategy="quantile"),
            LogisticRegression(max_iter=300),
        ).fit(X, y)
    return pkl(m, 5)


@item(
    "sklearn_gridsearch_p4.pkl",
    "scikit-learn",
    "pickle",
    "GridSearchCV(SVC) with cv_results_ (masked arrays), protocol 4",
)
def _grid() -> bytes:
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    X, y = xy()
    g = GridSearchCV(SVC(), {"C": [0.1, 1.0], "kernel": ["linear", "rbf"]}, cv=3).fit(X, y)
    return pkl(g, 4)


@item(
    "sklearn_gaussian_mixture.joblib",
    "scikit-learn",
    "joblib",
    "GaussianMixture(full), joblib uncompressed",
)
def _gmm() -> bytes:
    from sklearn.mixture import GaussianMixture

    X, _ = xy()
    return joblib_bytes(GaussianMixture(n_components=3, random_state=SEED).fit(X))


@item(
    "sklearn_balltree_nn_p5.pkl",
    "scikit-learn",
    "pickle",
    "NearestNeighbors(ball_tree, haversine-free), protocol 5",
)
def _balltree() -> bytes:
    from sklearn.neighbors import NearestNeighbors

    X, _ = xy()
    return pkl(NearestNeighbors(n_neighbors=3, algorithm="ball_tree").fit(X), 5)


@item(
    "sklearn_hashing_sgd_p3.pkl",
    "scikit-learn",
    "pickle",
    "Pipeline(HashingVectorizer, TfidfTransformer, SGDClassifier(log_loss)), protocol 3",
)
def _hashing() -> bytes:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    m = make_pipeline(
        HashingVectorizer(n_features=256, alternate_sign=False),
        TfidfTransformer(),
        SGDClassifier(loss="log_loss", random_state=SEED),
    )
    return pkl(m.fit(TEXTS, TEXT_Y), 3)


@item(
    "sklearn_encoders_p2.pkl",
    "scikit-learn",
    "pickle",
    "dict of LabelEncoder, OrdinalEncoder, QuantileTransformer, PolynomialFeatures, MinMaxScaler, protocol 2",
)
def _encoders() -> bytes:
    import numpy as np
    from sklearn.preprocessing import (
        LabelEncoder,
        MinMaxScaler,
        OrdinalEncoder,
        PolynomialFeatures,
        QuantileTransformer,
    )

    X, _ = xy()
    cats = np.array([["a", "x"], ["b", "y"], ["c", "x"], ["a", "z"]], dtype=object)
    return pkl(
        {
            "label": LabelEncoder().fit(["cat", "dog", "bird"]),
            "ordinal": OrdinalEncoder().fit(cats),
            "quantile": QuantileTransformer(n_quantiles=50, random_state=SEED).fit(X),
            "poly": PolynomialFeatures(degree=2).fit(X),
            "minmax": MinMaxScaler().fit(X),
        },
        2,
    )


@item(
    "sklearn_stacking_isotonic_c9.joblib",
    "scikit-learn",
    "joblib",
    "StackingRegressor(Lasso, ExtraTrees -> RidgeCV) and IsotonicRegression, joblib compress=9",
)
def _stacking() -> bytes:
    import numpy as np
    from sklearn.ensemble import ExtraTreesRegressor, StackingRegressor
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import Lasso, RidgeCV

    X, y = xy()
    st = StackingRegressor(
        [
            ("lasso", Lasso(alpha=0.1)),
            ("et", ExtraTreesRegressor(n_estimators=5, max_depth=3, random_state=SEED)),
        ],
        final_estimator=RidgeCV(),
    ).fit(X, y.astype(float))
    iso = IsotonicRegression(out_of_bounds="clip").fit(
        np.arange(50.0), np.sort(np.random.RandomState(SEED).rand(50))
    )
    return joblib_bytes({"stack": st, "calibration": iso}, 9)


# ---------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------


def _torch_classes() -> dict[str, Any]:
    import torch
    from torch import nn

    class SmallCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1),
                nn.BatchNorm2d(16),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(1),
            )
            self.dropout = nn.Dropout(0.1)
            self.head = nn.Linear(16, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.dropout(torch.flatten(self.features(x), 1)))

    class SeqTagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(50, 16, padding_idx=0)
            self.gru = nn.GRU(16, 16, batch_first=True, bidirectional=True)
            self.lstm = nn.LSTM(32, 16, num_layers=2, batch_first=True, dropout=0.1)
            self.norm = nn.LayerNorm(16)
            self.out = nn.Linear(16, 5)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            h, _ = self.gru(self.emb(ids))
            h, _ = self.lstm(h)
            return self.out(self.norm(h))

    class Gate(nn.Module):
        """Data-dependent control flow, for torch.jit.script."""

        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(8, 8)
            self.b = nn.Linear(8, 8)
            self.steps = 3

        def forward(self, x: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
            for _ in range(self.steps):
                if bool(x.mean() > threshold):
                    x = torch.relu(self.a(x))
                else:
                    x = torch.tanh(self.b(x))
            while bool(x.abs().max() > 10.0):
                x = x / 2
            return x

    # make the classes look like a training script's own (pickled as __main__.<name>)
    for cls in (SmallCNN, SeqTagger, Gate):
        cls.__module__ = "__main__"
        cls.__qualname__ = cls.__name__
        setattr(sys.modules["__main__"], cls.__name__, cls)
    return {"SmallCNN": SmallCNN, "SeqTagger": SeqTagger, "Gate": Gate}


@functools.cache
def torch_models() -> dict[str, Any]:
    import torch

    torch.manual_seed(SEED)
    cls = _torch_classes()
    cnn = cls["SmallCNN"]()
    cnn(torch.randn(4, 1, 12, 12))  # update BatchNorm running stats
    cnn.eval()
    tagger = cls["SeqTagger"]()
    enc_layer = torch.nn.TransformerEncoderLayer(
        d_model=32, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True, norm_first=True
    )
    with quiet():
        encoder = torch.nn.TransformerEncoder(enc_layer, num_layers=2, norm=torch.nn.LayerNorm(32))
    return {"cnn": cnn, "tagger": tagger, "encoder": encoder, "gate": cls["Gate"]()}


@item(
    "torch_cnn_bn_state_dict.pt",
    "torch",
    "torch-zip",
    "state_dict of Conv2d/BatchNorm2d/MaxPool CNN",
)
def _cnn_sd() -> bytes:
    return torch_bytes(torch_models()["cnn"].state_dict())


@item(
    "torch_cnn_full_module.pt",
    "torch",
    "torch-zip",
    "torch.save of a whole CNN module (__main__.SmallCNN)",
)
def _cnn_full() -> bytes:
    return torch_bytes(torch_models()["cnn"])


@item(
    "torch_gru_lstm_state_dict.pt",
    "torch",
    "torch-zip",
    "state_dict of Embedding+GRU(bidir)+LSTM(2 layers)",
)
def _rnn_sd() -> bytes:
    return torch_bytes(torch_models()["tagger"].state_dict())


@item(
    "torch_gru_lstm_full_module.pt", "torch", "torch-zip", "torch.save of a whole GRU/LSTM module"
)
def _rnn_full() -> bytes:
    return torch_bytes(torch_models()["tagger"])


@item(
    "torch_transformer_encoder_full.pt",
    "torch",
    "torch-zip",
    "torch.save of a whole nn.TransformerEncoder (norm_first, final LayerNorm)",
)
def _enc_full() -> bytes:
    return torch_bytes(torch_models()["encoder"])


@item(
    "torch_transformer_encoder_sd.pt", "torch", "torch-zip", "state_dict of nn.TransformerEncoder"
)
def _enc_sd() -> bytes:
    return torch_bytes(torch_models()["encoder"].state_dict())


@item(
    "torch_embedding_bag_sd.pt",
    "torch",
    "torch-zip",
    "state_dict of Embedding(max_norm) and EmbeddingBag(mean)",
)
def _emb() -> bytes:
    import torch

    torch.manual_seed(SEED)
    m = torch.nn.ModuleDict(
        {
            "tok": torch.nn.Embedding(100, 12, max_norm=1.0),
            "bag": torch.nn.EmbeddingBag(100, 12, mode="mean"),
        }
    )
    return torch_bytes(m.state_dict())


def _train_steps(model: Any, opt: Any, sched: Any, steps: int = 3) -> None:
    import torch

    for _ in range(steps):
        opt.zero_grad()
        model(torch.randn(4, 1, 12, 12)).logsumexp(1).mean().backward()
        opt.step()
        sched.step()


@item(
    "torch_optim_sgd_momentum_steplr.pt",
    "torch",
    "torch-zip",
    "checkpoint: model, SGD(momentum, nesterov) state_dict, StepLR state_dict",
)
def _sgd() -> bytes:
    import torch

    m = torch_models()["cnn"]
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    _train_steps(m, opt, sched)
    m.eval()
    return torch_bytes(
        {
            "model": m.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": 3,
        }
    )


@item(
    "torch_optim_adamw_cosine.pt",
    "torch",
    "torch-zip",
    "AdamW(amsgrad) state_dict and CosineAnnealingLR state_dict",
)
def _adamw() -> bytes:
    import torch

    m = torch_models()["cnn"]
    m.train()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-4, weight_decay=0.05, amsgrad=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-6)
    _train_steps(m, opt, sched)
    m.eval()
    return torch_bytes({"optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict()})


@item(
    "torch_optim_rmsprop_onecycle.pt",
    "torch",
    "torch-zip",
    "RMSprop(centered) state_dict and OneCycleLR state_dict, plus SequentialLR/LinearLR",
)
def _rmsprop() -> bytes:
    import torch

    m = torch_models()["cnn"]
    m.train()
    opt = torch.optim.RMSprop(m.parameters(), lr=1e-3, momentum=0.5, centered=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=20)
    _train_steps(m, opt, sched)
    opt2 = torch.optim.Adagrad(m.parameters(), lr=0.01)
    seq = torch.optim.lr_scheduler.SequentialLR(
        opt2,
        [
            torch.optim.lr_scheduler.LinearLR(opt2, start_factor=0.1, total_iters=2),
            torch.optim.lr_scheduler.ExponentialLR(opt2, gamma=0.9),
        ],
        milestones=[2],
    )
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=2)
    m.eval()
    return torch_bytes(
        {
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "warmup": seq.state_dict(),
            "plateau": plateau.state_dict(),
            "adagrad": opt2.state_dict(),
        }
    )


@item(
    "torch_ckpt_numpy_scalars.pt",
    "torch",
    "torch-zip",
    "torch.save of a dict with numpy arrays/scalars, python scalars, dtype, device, Size, RNG states",
)
def _np_ckpt() -> bytes:
    import numpy as np
    import torch

    rng = np.random.RandomState(SEED)
    random.seed(SEED)
    return torch_bytes(
        {
            "weights_np": rng.randn(4, 4).astype(np.float32),
            "ids_np": np.arange(10, dtype=np.int64),
            "best_metric": np.float64(0.8731),
            "best_step": np.int64(1200),
            "flag": np.bool_(True),
            "lr": 3e-4,
            "epoch": 7,
            "name": "run-17",
            "ok": True,
            "none": None,
            "ratio": 2 + 1j,
            "dtype": torch.float16,
            "device": torch.device("cpu"),
            "shape": torch.Size([3, 224, 224]),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": np.random.get_state(),
            "python_rng": random.getstate(),
        },
        pickle_protocol=2,
    )


@item(
    "torch_dynamic_quant_full.pt",
    "torch",
    "torch-zip",
    "torch.save of a whole model after torch.ao.quantization.quantize_dynamic(Linear, qint8)",
)
def _dq_full() -> bytes:
    import torch

    torch.manual_seed(SEED)
    m = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    with quiet():
        q = torch.ao.quantization.quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
    return torch_bytes(q)


@item(
    "torch_dynamic_quant_sd.pt", "torch", "torch-zip", "state_dict of a dynamically quantized model"
)
def _dq_sd() -> bytes:
    import torch

    torch.manual_seed(SEED)
    m = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    with quiet():
        q = torch.ao.quantization.quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
    return torch_bytes(q.state_dict())


@item(
    "torch_many_dtypes.pt",
    "torch",
    "torch-zip",
    "complex64/complex128/float64/int64/int16/bool/uint8 tensors, a strided view and a channels_last tensor",
)
def _dtypes() -> bytes:
    import torch

    torch.manual_seed(SEED)
    base = torch.randn(6, 6, dtype=torch.float64)
    return torch_bytes(
        {
            "c64": torch.randn(4, dtype=torch.complex64),
            "c128": torch.randn(3, 3, dtype=torch.complex128),
            "f64": base,
            "i64": torch.arange(12, dtype=torch.int64),
            "i16": torch.arange(5, dtype=torch.int16),
            "mask": torch.rand(8) > 0.5,
            "img": torch.randint(0, 255, (3, 4, 4), dtype=torch.uint8),
            "view": base[::2, 1:],
            "channels_last": torch.randn(1, 3, 4, 4).to(memory_format=torch.channels_last),
        }
    )


@item("torch_sparse_tensors.pt", "torch", "torch-zip", "sparse COO, CSR and CSC tensors")
def _sparse() -> bytes:
    import torch

    dense = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.25]])
    return torch_bytes(
        {
            "coo": dense.to_sparse().coalesce(),
            "csr": dense.to_sparse_csr(),
            "csc": dense.to_sparse_csc(),
        }
    )


@item(
    "torch_nested_containers.pt",
    "torch",
    "torch-zip",
    "nested dicts/lists/tuples/OrderedDict/set with tensors at several depths, legacy pickle protocol 2",
)
def _nested() -> bytes:
    from collections import OrderedDict

    import torch

    torch.manual_seed(SEED)
    return torch_bytes(
        {
            "layers": [
                {"w": torch.randn(2, 2), "b": torch.zeros(2), "meta": {"act": "gelu", "idx": i}}
                for i in range(3)
            ],
            "buffers": OrderedDict([("running", torch.ones(3)), ("count", torch.tensor(5))]),
            "history": [(1, 0.9), (2, 0.7), (3, 0.55)],
            "tags": {"vision", "small"},
            "deep": {"a": {"b": {"c": [torch.arange(3), [torch.eye(2)]]}}},
        }
    )


@item(
    "torchscript_control_flow.pt",
    "torch",
    "torchscript",
    "torch.jit.script of a module with for/if/while control flow",
)
def _script() -> bytes:
    import torch

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch_models()["gate"]), buf)
    return buf.getvalue()


@item(
    "torch_export_cnn.pt2",
    "torch",
    "torch-export",
    "torch.export.export + torch.export.save of the CNN",
)
def _export() -> bytes:
    import torch

    buf = io.BytesIO()
    ep = torch.export.export(torch_models()["cnn"], (torch.randn(2, 1, 12, 12),))
    torch.export.save(ep, buf)
    return buf.getvalue()


@item(
    "torch_legacy_checkpoint.pt",
    "torch",
    "torch-legacy",
    "legacy (non-zip) torch.save of a checkpoint dict: GRU/LSTM state_dict, Adam state, epoch",
)
def _legacy() -> bytes:
    import torch

    m = torch_models()["tagger"]
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    m(torch.randint(1, 50, (2, 6))).mean().backward()
    opt.step()
    return torch_bytes(
        {"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 1},
        _use_new_zipfile_serialization=False,
    )


@item(
    "torch_gradscaler_swa.pt",
    "torch",
    "torch-zip",
    "GradScaler state_dict, AveragedModel (SWA/EMA) state_dict, SWALR state_dict",
)
def _swa() -> bytes:
    import torch
    from torch.optim.swa_utils import SWALR, AveragedModel

    m = torch_models()["cnn"]
    avg = AveragedModel(m)
    avg.update_parameters(m)
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    swa = SWALR(opt, swa_lr=0.01, anneal_epochs=2)
    with quiet():
        scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    return torch_bytes(
        {
            "scaler": scaler.state_dict(),
            "swa_model": avg.state_dict(),
            "swa_sched": swa.state_dict(),
        }
    )


@item(
    "training_args.bin",
    "transformers",
    "torch-zip",
    "transformers TrainingArguments saved with torch.save, as Trainer writes training_args.bin",
)
def _training_args() -> bytes:
    from transformers import TrainingArguments

    with tempfile.TemporaryDirectory() as td:
        args = TrainingArguments(
            output_dir=os.path.join(td, "out"),
            per_device_train_batch_size=4,
            learning_rate=2e-5,
            num_train_epochs=1,
            warmup_steps=10,
            lr_scheduler_type="cosine",
            eval_strategy="steps",
            eval_steps=50,
            save_strategy="steps",
            save_steps=50,
            logging_steps=10,
            seed=SEED,
            report_to="none",
            use_cpu=True,
        )
        return torch_bytes(args)


# ---------------------------------------------------------------------------
# gradient boosting
# ---------------------------------------------------------------------------


@item("xgboost_regressor_p5.pkl", "xgboost", "pickle", "pickled XGBRegressor(hist)")
def _xgbr() -> bytes:
    import xgboost as xgb

    X, y = xy()
    m = xgb.XGBRegressor(
        n_estimators=6, max_depth=3, tree_method="hist", random_state=SEED, n_jobs=1
    )
    return pkl(m.fit(X, y.astype(float)), 5)


@item(
    "xgboost_booster_raw.pkl",
    "xgboost",
    "pickle",
    "pickle of a dict holding Booster.save_raw() bytearrays (ubj and json) plus feature names",
)
def _xgbraw() -> bytes:
    import xgboost as xgb

    X, y = xy()
    dtrain = xgb.DMatrix(X, label=y, feature_names=[f"f{i}" for i in range(X.shape[1])])
    b = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "nthread": 1, "seed": SEED},
        dtrain,
        num_boost_round=4,
    )
    return pkl(
        {"ubj": b.save_raw("ubj"), "json": b.save_raw("json"), "features": b.feature_names}, 4
    )


@item("xgboost_rf_classifier.joblib", "xgboost", "joblib", "XGBRFClassifier via joblib compress=3")
def _xgbrf() -> bytes:
    import xgboost as xgb

    X, y = xy()
    return joblib_bytes(
        xgb.XGBRFClassifier(n_estimators=4, max_depth=3, random_state=SEED, n_jobs=1).fit(X, y), 3
    )


@functools.cache
def lgb_booster() -> Any:
    import lightgbm as lgb

    X, y = xy()
    ds = lgb.Dataset(X, label=y, params={"verbose": -1})
    return lgb.train(
        {
            "objective": "multiclass",
            "num_class": 3,
            "num_leaves": 6,
            "verbose": -1,
            "seed": SEED,
            "deterministic": True,
            "num_threads": 1,
        },
        ds,
        num_boost_round=4,
    )


@item("lightgbm_booster_p4.pkl", "lightgbm", "pickle", "pickled lightgbm.Booster from lgb.train")
def _lgb_pkl() -> bytes:
    return pkl(lgb_booster(), 4)


@item("lightgbm_booster.joblib", "lightgbm", "joblib", "lightgbm.Booster via joblib ('zlib', 6)")
def _lgb_jl() -> bytes:
    return joblib_bytes(lgb_booster(), ("zlib", 6))


@item("lightgbm_regressor_p2.pkl", "lightgbm", "pickle", "pickled LGBMRegressor, protocol 2")
def _lgbr() -> bytes:
    import lightgbm as lgb

    X, y = xy()
    m = lgb.LGBMRegressor(n_estimators=4, num_leaves=4, random_state=SEED, n_jobs=1, verbose=-1)
    return pkl(m.fit(X, y.astype(float)), 2)


# ---------------------------------------------------------------------------
# pandas
# ---------------------------------------------------------------------------


def _pd_pickle(obj: Any, compression: Any = None, protocol: int = 5) -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.to_pickle(obj, buf, compression=compression, protocol=protocol)
    return buf.getvalue()


@item(
    "pandas_categorical.pkl",
    "pandas",
    "pickle",
    "DataFrame with ordered/unordered categorical columns",
)
def _pd_cat() -> bytes:
    import pandas as pd

    df = pd.DataFrame(
        {
            "size": pd.Categorical(["S", "M", "L", "M"], categories=["S", "M", "L"], ordered=True),
            "color": pd.Series(["red", "blue", "red", "green"], dtype="category"),
            "n": [1, 2, 3, 4],
        }
    )
    return _pd_pickle(df.set_index(pd.CategoricalIndex(["a", "b", "c", "a"])))


@item("pandas_multiindex.pkl", "pandas", "pickle", "DataFrame with MultiIndex rows and columns")
def _pd_mi() -> bytes:
    import numpy as np
    import pandas as pd

    rows = pd.MultiIndex.from_product([["train", "val"], [1, 2, 3]], names=["split", "fold"])
    cols = pd.MultiIndex.from_tuples([("loss", "mean"), ("loss", "std"), ("acc", "mean")])
    return _pd_pickle(
        pd.DataFrame(np.random.RandomState(SEED).rand(6, 3), index=rows, columns=cols), protocol=4
    )


@item(
    "pandas_datetime_tz.pkl",
    "pandas",
    "pickle",
    "DataFrame with tz-aware DatetimeIndex, timedelta column",
)
def _pd_tz() -> bytes:
    import pandas as pd

    idx = pd.date_range("2024-03-30", periods=5, freq="6h", tz="Europe/Berlin")
    df = pd.DataFrame(
        {
            "t_utc": idx.tz_convert("UTC"),
            "lag": pd.to_timedelta([1, 2, 3, 4, 5], unit="min"),
            "v": range(5),
        },
        index=idx,
    )
    return _pd_pickle(df)


@item(
    "pandas_period_interval.pkl",
    "pandas",
    "pickle",
    "DataFrame with Period and Interval columns / IntervalIndex",
)
def _pd_period() -> bytes:
    import pandas as pd

    df = pd.DataFrame(
        {
            "month": pd.period_range("2023-01", periods=4, freq="M"),
            "bucket": pd.arrays.IntervalArray.from_breaks([0, 1, 5, 10, 50]),
        },
        index=pd.interval_range(0, 4),
    )
    return _pd_pickle(df, protocol=3)


@item("pandas_sparse.pkl", "pandas", "pickle", "DataFrame with SparseDtype columns")
def _pd_sparse() -> bytes:
    import numpy as np
    import pandas as pd

    a = np.zeros(20)
    a[[2, 7]] = [1.5, 3.0]
    df = pd.DataFrame(
        {"s": pd.arrays.SparseArray(a), "i": pd.arrays.SparseArray(np.arange(20) % 5 == 0)}
    )
    return _pd_pickle(df)


@item(
    "pandas_nullable.pkl",
    "pandas",
    "pickle",
    "DataFrame with nullable Int64, Float64, boolean and string dtypes",
)
def _pd_null() -> bytes:
    import pandas as pd

    df = pd.DataFrame(
        {
            "i": pd.array([1, None, 3], dtype="Int64"),
            "u": pd.array([1, 2, None], dtype="UInt8"),
            "f": pd.array([0.5, None, 1.5], dtype="Float64"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "s": pd.array(["x", None, "z"], dtype="string"),
        }
    )
    return _pd_pickle(df)


@item(
    "pandas_mixed.pkl.gz",
    "pandas",
    "pickle+gzip",
    "pd.to_pickle(compression='gzip') of a mixed-dtype DataFrame",
)
def _pd_gz() -> bytes:
    import gzip

    import pandas as pd

    df = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", "2024-06-01"]),
            "cat": pd.Categorical(["a", "b"]),
            "n": pd.array([1, None], dtype="Int64"),
            "x": [0.1, 0.2],
        }
    )
    raw = _pd_pickle(df)
    return gzip.compress(raw, mtime=0)


@item(
    "pandas_series_p2.pkl",
    "pandas",
    "pickle",
    "pickle protocol 2 of a Series with a TimedeltaIndex and a RangeIndex DataFrame",
)
def _pd_series() -> bytes:
    import pandas as pd

    s = pd.Series(
        [1.0, 2.0, 3.0], index=pd.timedelta_range("1s", periods=3, freq="s"), name="latency"
    )
    return pkl({"series": s, "frame": pd.DataFrame({"a": [1, 2]})}, 2)


# ---------------------------------------------------------------------------
# numpy and scipy
# ---------------------------------------------------------------------------


@item(
    "numpy_structured_p4.pkl",
    "numpy",
    "pickle",
    "structured array, record array and a void scalar, protocol 4",
)
def _np_struct() -> bytes:
    import numpy as np

    dt = np.dtype([("name", "U8"), ("score", "<f4"), ("pos", "<i2", (2,))])
    arr = np.array([("alpha", 0.5, (1, 2)), ("beta", 0.25, (3, 4))], dtype=dt)
    return pkl({"arr": arr, "rec": arr.view(np.recarray), "row": arr[0]}, 4)


@item(
    "numpy_datetime64_p2.pkl",
    "numpy",
    "pickle",
    "datetime64/timedelta64 arrays and scalars, protocol 2",
)
def _np_dt() -> bytes:
    import numpy as np

    d = np.arange("2024-01-01", "2024-01-08", dtype="datetime64[D]")
    return pkl(
        {
            "days": d,
            "deltas": np.diff(d.astype("datetime64[s]")),
            "t0": np.datetime64("2024-02-29T12:00"),
            "nat": np.datetime64("NaT"),
        },
        2,
    )


@item(
    "numpy_complex_p0.pkl",
    "numpy",
    "pickle",
    "complex64/complex128 arrays and a Fortran-ordered array, protocol 0",
)
def _np_complex() -> bytes:
    import numpy as np

    rng = np.random.RandomState(SEED)
    z = rng.randn(3, 3) + 1j * rng.randn(3, 3)
    return pkl(
        {
            "c128": z,
            "c64": z.astype(np.complex64),
            "fortran": np.asfortranarray(rng.randn(3, 4)),
            "scalar": np.complex128(1 - 2j),
        },
        0,
    )


@item(
    "numpy_masked_p5.pkl",
    "numpy",
    "pickle",
    "numpy.ma masked arrays (float and int with fill value), protocol 5",
)
def _np_masked() -> bytes:
    import numpy as np

    m1 = np.ma.masked_invalid(np.array([1.0, np.nan, 3.0, np.inf]))
    m2 = np.ma.array([1, 2, 3, 4], mask=[False, True, False, True], fill_value=-1)
    return pkl({"a": m1, "b": m2, "matrix": np.asmatrix(np.eye(2))}, 5)


@item(
    "numpy_rng_states.pkl",
    "numpy",
    "pickle",
    "np.random.Generator(PCG64 / PCG64DXSM / Philox / MT19937 / SFC64), RandomState, SeedSequence",
)
def _np_rng() -> bytes:
    import numpy as np

    ss = np.random.SeedSequence(SEED)
    gens = {
        name: np.random.Generator(getattr(np.random, name)(ss))
        for name in ("PCG64", "PCG64DXSM", "Philox", "MT19937", "SFC64")
    }
    return pkl(
        {
            "default": np.random.default_rng(SEED),
            "gens": gens,
            "legacy": np.random.RandomState(SEED),
            "seedseq": ss,
        },
        4,
    )


@item("numpy_structured.npy", "numpy", "npy", "np.save of a structured array (no pickle)")
def _np_npy() -> bytes:
    import numpy as np

    dt = np.dtype([("id", "<i8"), ("emb", "<f2", (4,)), ("ok", "?")])
    buf = io.BytesIO()
    np.save(buf, np.zeros(5, dtype=dt), allow_pickle=False)
    return buf.getvalue()


@item(
    "numpy_datetime_complex.npz",
    "numpy",
    "npz",
    "np.savez of datetime64, complex and bool arrays (no pickle)",
)
def _np_npz() -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.savez(
        buf,
        t=np.arange("2024-01", "2024-05", dtype="datetime64[M]"),
        z=np.ones(3, np.complex64),
        b=np.array([True, False]),
    )
    return buf.getvalue()


@item(
    "scipy_sparse_matrices_p4.pkl",
    "scipy",
    "pickle",
    "csr/csc/coo/bsr/dia/dok/lil matrices, protocol 4",
)
def _sp_mat() -> bytes:
    import numpy as np
    import scipy.sparse as sp

    a = sp.random(6, 6, density=0.3, random_state=SEED, format="csr")
    return pkl(
        {
            "csr": a,
            "csc": a.tocsc(),
            "coo": a.tocoo(),
            "bsr": a.tobsr(blocksize=(2, 2)),
            "dia": sp.diags([1.0, 2.0, 3.0]),
            "dok": a.todok(),
            "lil": a.tolil(),
            "eye": sp.identity(3, dtype=np.int8, format="csr"),
        },
        4,
    )


@item(
    "scipy_sparse_arrays_p5.pkl",
    "scipy",
    "pickle",
    "csr_array/coo_array (sparse array API), protocol 5",
)
def _sp_arr() -> bytes:
    import numpy as np
    import scipy.sparse as sp

    a = sp.csr_array(np.array([[0, 1, 0], [2, 0, 3]], dtype=np.float32))
    return pkl({"csr": a, "coo": a.tocoo(), "csc": a.tocsc()}, 5)


@item("scipy_sparse.npz", "scipy", "npz", "scipy.sparse.save_npz of a CSR matrix (no pickle)")
def _sp_npz() -> bytes:
    import scipy.sparse as sp

    buf = io.BytesIO()
    sp.save_npz(buf, sp.random(8, 8, density=0.25, random_state=SEED, format="csr"))
    return buf.getvalue()


@item("scipy_kdtree_p4.pkl", "scipy", "pickle", "scipy.spatial.cKDTree and KDTree, protocol 4")
def _sp_kd() -> bytes:
    import numpy as np
    from scipy.spatial import KDTree, cKDTree

    pts = np.random.RandomState(SEED).rand(30, 3)
    return pkl({"ckd": cKDTree(pts, leafsize=4), "kd": KDTree(pts)}, 4)


@item(
    "scipy_stats_interp_p4.pkl",
    "scipy",
    "pickle",
    "frozen scipy.stats distributions, a gaussian_kde and CubicSpline/interp1d interpolators, protocol 4",
)
def _sp_stats() -> bytes:
    import numpy as np
    from scipy import interpolate, stats

    x = np.linspace(0, 1, 10)
    return pkl(
        {
            "norm": stats.norm(loc=1.0, scale=2.0),
            "gamma": stats.gamma(a=2.0),
            "kde": stats.gaussian_kde(np.random.RandomState(SEED).randn(50)),
            "spline": interpolate.CubicSpline(x, x**2),
            "interp": interpolate.interp1d(x, np.sin(x)),
        },
        4,
    )


def _sm_save(results: Any) -> bytes:
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "r.pickle")
        results.save(p)
        return Path(p).read_bytes()


@item(
    "statsmodels_ols_results.pickle",
    "statsmodels",
    "pickle",
    "statsmodels OLS(HC3) results via results.save()",
)
def _sm_ols() -> bytes:
    import numpy as np
    import statsmodels.api as sm

    rng = np.random.RandomState(SEED)
    X = sm.add_constant(rng.randn(50, 2))
    y = X @ np.array([1.0, 2.0, -0.5]) + rng.randn(50) * 0.1
    return _sm_save(sm.OLS(y, X).fit(cov_type="HC3"))


@item(
    "statsmodels_glm_formula.pickle",
    "statsmodels",
    "pickle",
    "statsmodels formula GLM(Poisson) results via results.save(remove_data=False)",
)
def _sm_glm() -> bytes:
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rng = np.random.RandomState(SEED)
    df = pd.DataFrame({"x": rng.randn(60), "g": rng.choice(["a", "b"], 60)})
    df["y"] = rng.poisson(np.exp(0.3 * df["x"]))
    return _sm_save(smf.glm("y ~ x + C(g)", df, family=sm.families.Poisson()).fit())


# ---------------------------------------------------------------------------
# Keras, ONNX, safetensors
# ---------------------------------------------------------------------------


@functools.cache
def keras_model() -> Any:
    import logging

    import keras

    logging.getLogger("absl").setLevel(logging.ERROR)
    keras.utils.set_random_seed(SEED)
    img = keras.Input((16, 16, 1), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same")(img)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    seq = keras.Input((10, 4), name="series")
    s = keras.layers.LSTM(8, return_sequences=True)(seq)
    s = keras.layers.GRU(8)(s)
    h = keras.layers.Concatenate()([x, s])
    h = keras.layers.Dropout(0.2)(h)
    out = keras.layers.Dense(3, activation="softmax", name="label")(h)
    m = keras.Model([img, seq], out, name="conv_bn_lstm")
    m.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return m


def _keras_save(ext: str) -> bytes:
    m = keras_model()
    with tempfile.TemporaryDirectory() as td, quiet():
        p = os.path.join(td, "m." + ext)
        m.save(p)
        return Path(p).read_bytes()


@item(
    "keras_functional_conv_bn_lstm.keras",
    "keras",
    "keras",
    "Keras 3 functional model (Conv2D, BatchNormalization, LSTM, GRU, Concatenate), compiled, .keras",
)
def _keras_native() -> bytes:
    return _keras_save("keras")


@item(
    "keras_functional_conv_bn_lstm.h5",
    "keras",
    "keras-h5",
    "the same functional model saved as legacy .h5",
)
def _keras_h5() -> bytes:
    return _keras_save("h5")


@item(
    "onnx_cnn_export.onnx",
    "torch+onnx",
    "onnx",
    "torch.onnx.export (TorchScript exporter, dynamo=False) of the BatchNorm CNN, opset 17, dynamic batch",
)
def _onnx() -> bytes:
    import torch

    m = torch_models()["cnn"].eval()
    with tempfile.TemporaryDirectory() as td, quiet():
        p = os.path.join(td, "m.onnx")
        torch.onnx.export(
            m,
            (torch.randn(1, 1, 12, 12),),
            p,
            opset_version=17,
            dynamo=False,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        )
        return Path(p).read_bytes()


@item(
    "safetensors_cnn.safetensors",
    "safetensors",
    "safetensors",
    "safetensors.torch.save of the CNN state_dict (float32 + int64 num_batches_tracked), with metadata",
)
def _st() -> bytes:
    from safetensors.torch import save

    sd = {k: v.contiguous() for k, v in torch_models()["cnn"].state_dict().items()}
    return save(sd, metadata={"format": "pt", "arch": "SmallCNN", "epochs": "3"})


# ---------------------------------------------------------------------------
# GGUF with tool-calling chat templates (written for this file)
# ---------------------------------------------------------------------------

# In the style of Qwen2.5's ChatML template with <tools>/<tool_call> blocks.
QWEN_STYLE_TOOLS = """\
{%- set default_system = 'You are a concise assistant. Answer in the language of the user.' %}
{%- if messages and messages[0]['role'] == 'system' %}
  {%- set system_text = messages[0]['content'] %}
  {%- set rest = messages[1:] %}
{%- else %}
  {%- set system_text = default_system %}
  {%- set rest = messages %}
{%- endif %}
{{- '<|im_start|>system\\n' + system_text }}
{%- if tools %}
  {{- '\\n\\n# Tools\\n\\nYou may call the functions below.' }}
  {{- ' Their JSON signatures are inside <tools></tools>:\\n<tools>' }}
  {%- for tool in tools %}
    {{- '\\n' + (tool | tojson) }}
  {%- endfor %}
  {{- '\\n</tools>\\n\\nFor each call, write a JSON object with "name" and "arguments"' }}
  {{- ' between <tool_call> and </tool_call>.' }}
{%- endif %}
{{- '<|im_end|>\\n' }}
{%- for m in rest %}
  {%- if m.role == 'assistant' and m.tool_calls is defined and m.tool_calls %}
    {{- '<|im_start|>assistant' }}
    {%- if m.content %}{{- '\\n' + m.content }}{%- endif %}
    {%- for call in m.tool_calls %}
      {%- set fn = call.function if call.function is defined else call %}
      {%- set args = fn.arguments if fn.arguments is string else (fn.arguments | tojson) %}
      {{- '\\n<tool_call>\\n{"name": "' + fn.name + '", "arguments": ' + args + '}\\n</tool_call>' }}
    {%- endfor %}
    {{- '<|im_end|>\\n' }}
  {%- elif m.role == 'tool' %}
    {%- set prev = rest[loop.index0 - 1].role if loop.index0 > 0 else '' %}
    {%- set next = rest[loop.index0 + 1].role if not loop.last else '' %}
    {%- if prev != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
    {{- '\\n<tool_response>\\n' + m.content + '\\n</tool_response>' }}
    {%- if next != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}
  {%- else %}
    {{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}
  {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""

# In the style of Llama-3.1's template: ipython environment, built-in tools, custom
# JSON tools in the first user turn, <|python_tag|> calls and <|eom_id|>.
LLAMA31_STYLE_TOOLS = """\
{{- bos_token }}
{%- if date_string is not defined %}{%- set date_string = '01 Jan 2025' %}{%- endif %}
{%- if tools_in_user_message is not defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if tools is not defined %}{%- set tools = none %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}
  {%- set sys_text = messages[0]['content'] | trim %}
  {%- set messages = messages[1:] %}
{%- else %}
  {%- set sys_text = '' %}
{%- endif %}
{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}
{%- if builtin_tools is defined or tools is not none %}{{- 'Environment: ipython\\n' }}{%- endif %}
{%- if builtin_tools is defined %}
  {{- 'Tools: ' + (builtin_tools | reject('equalto', 'code_interpreter') | join(', ')) + '\\n\\n' }}
{%- endif %}
{{- 'Cutting Knowledge Date: December 2023\\nToday Date: ' + date_string + '\\n\\n' }}
{%- if tools is not none and not tools_in_user_message %}
  {{- 'You can call these functions. Reply with {"name": function name, "parameters": {argument: value}}.\\n\\n' }}
  {%- for t in tools %}{{- t | tojson(indent=2) + '\\n\\n' }}{%- endfor %}
{%- endif %}
{{- sys_text + '<|eot_id|>' }}
{%- if tools_in_user_message and tools is not none %}
  {%- if messages | length == 0 %}
    {{- raise_exception('tools_in_user_message needs a first user message') }}
  {%- endif %}
  {%- set first = messages[0]['content'] | trim %}
  {%- set messages = messages[1:] %}
  {{- '<|start_header_id|>user<|end_header_id|>\\n\\nGiven these functions, answer with a function call in JSON ' }}
  {{- '{"name": function name, "parameters": {argument: value}} and no variables.\\n\\n' }}
  {%- for t in tools %}{{- t | tojson(indent=2) + '\\n\\n' }}{%- endfor %}
  {{- first + '<|eot_id|>' }}
{%- endif %}
{%- for message in messages %}
  {%- if message.role in ['ipython', 'tool'] %}
    {{- '<|start_header_id|>ipython<|end_header_id|>\\n\\n' }}
    {%- if message.content is mapping or (message.content is iterable and message.content is not string) %}
      {{- message.content | tojson }}
    {%- else %}
      {{- message.content }}
    {%- endif %}
    {{- '<|eot_id|>' }}
  {%- elif message.tool_calls is defined and message.tool_calls %}
    {%- set call = message.tool_calls[0].function %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
    {%- if builtin_tools is defined and call.name in builtin_tools %}
      {{- '<|python_tag|>' + call.name + '.call(' }}
      {%- for k, v in call.arguments | items %}
        {{- k + '="' + v + '"' }}{%- if not loop.last %}{{- ', ' }}{%- endif %}
      {%- endfor %}
      {{- ')<|eom_id|>' }}
    {%- else %}
      {{- '{"name": "' + call.name + '", "parameters": ' + (call.arguments | tojson) + '}<|eot_id|>' }}
    {%- endif %}
  {%- else %}
    {{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + (message.content | trim) + '<|eot_id|>' }}
  {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}
"""


def _check_template(template: str) -> None:
    """Render once (sandboxed) with tools so a typo fails here, not in a user's runtime."""
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        return
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = lambda msg: (_ for _ in ()).throw(ValueError(msg))
    env.filters["tojson"] = lambda v, indent=None: json.dumps(v, indent=indent)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    msgs = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
        },
        {"role": "tool", "content": '{"temp": 3}'},
    ]
    env.from_string(template).render(
        messages=msgs, tools=tools, add_generation_prompt=True, bos_token="<s>"
    )


def _gguf(template: str, arch: str, tokens: list[str], name: str) -> bytes:
    import gguf
    import numpy as np

    _check_template(template)
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "m.gguf")
        w = gguf.GGUFWriter(p, arch)
        w.add_name(name)
        w.add_context_length(256)
        w.add_embedding_length(16)
        w.add_block_count(1)
        w.add_head_count(2)
        w.add_head_count_kv(1)
        w.add_rope_freq_base(1_000_000.0)
        w.add_layer_norm_rms_eps(1e-6)
        w.add_tokenizer_model("gpt2")
        w.add_token_list(tokens)
        w.add_token_types([1] * (len(tokens) - 4) + [3] * 4)
        w.add_token_merges(["h e", "l l", "he ll"])
        w.add_bos_token_id(0)
        w.add_eos_token_id(len(tokens) - 1)
        w.add_chat_template(template)
        rng = np.random.RandomState(SEED)
        w.add_tensor("token_embd.weight", rng.randn(len(tokens), 16).astype(np.float16))
        w.add_tensor("blk.0.attn_norm.weight", np.ones(16, np.float32))
        w.add_tensor("output_norm.weight", np.ones(16, np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return Path(p).read_bytes()


@item(
    "gguf_qwen25_style_tools.gguf",
    "gguf",
    "gguf",
    "GGUFWriter (qwen2 arch) with a Qwen2.5-style tool-calling template",
)
def _gguf_qwen() -> bytes:
    toks = [
        "h",
        "e",
        "l",
        "o",
        "he",
        "ll",
        "hell",
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<tool_call>",
    ]
    return _gguf(QWEN_STYLE_TOOLS, "qwen2", toks, "holdout-qwen-style")


@item(
    "gguf_llama31_style_tools.gguf",
    "gguf",
    "gguf",
    "GGUFWriter (llama arch) with a Llama-3.1-style template: ipython, builtin tools, <|python_tag|>",
)
def _gguf_llama() -> bytes:
    toks = [
        "<|begin_of_text|>",
        "h",
        "e",
        "l",
        "o",
        "he",
        "ll",
        "hell",
        "<|python_tag|>",
        "<|eom_id|>",
        "<|eot_id|>",
    ]
    return _gguf(LLAMA31_STYLE_TOOLS, "llama", toks, "holdout-llama31-style")


@item(
    "hf_tokenizer/tokenizer_config.json",
    "transformers-style",
    "tokenizer-config",
    "Hugging Face tokenizer_config.json carrying the Qwen2.5-style tool template",
)
def _tok_cfg() -> bytes:
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "model_max_length": 32768,
        "clean_up_tokenization_spaces": False,
        "errors": "replace",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"],
        "chat_template": QWEN_STYLE_TOOLS,
    }
    return json.dumps(cfg, indent=2).encode()


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


def scan(dozor: str, folder: Path) -> int:
    """Run dozor on folder and print each file with a medium+ finding (a false positive)."""
    with tempfile.TemporaryDirectory() as td:
        rep = Path(td, "r.json")
        subprocess.run([dozor, "scan", str(folder), "-f", "json", "-o", str(rep)], check=False)
        data = json.loads(rep.read_text())
    scanned = len(data.get("files", []))
    bad: dict[str, list[dict[str, Any]]] = {}
    for f in data.get("findings", []):
        if f["severity"] in ("medium", "high", "critical"):
            bad.setdefault(f["location"]["path"], []).append(f)
    print(f"dozor scanned {scanned} files; {len(bad)} with a medium+ finding (false positives):")
    for path in sorted(bad):
        print(f"  {os.path.relpath(path, folder)}")
        for f in bad[path]:
            print(f"    {f['severity']:8} {f['rule_id']}: {f['evidence']}")
    for e in data.get("errors", []):
        print("  scan error:", e)
    return len(bad)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument(
        "--scan", metavar="DOZOR", help="path of the dozor executable: scan the result afterwards"
    )
    ap.add_argument("--only", nargs="*", help="build only these file names (debugging)")
    args = ap.parse_args(argv)
    out = args.outdir.resolve()
    ben = out / "benign"
    if not args.only:
        import shutil

        shutil.rmtree(ben, ignore_errors=True)
    ben.mkdir(parents=True, exist_ok=True)
    random.seed(SEED)
    entries: list[dict[str, Any]] = []
    skipped: list[str] = []
    for file, library, fmt, desc, fn in ITEMS:
        if args.only and file not in args.only:
            continue
        try:
            data = fn()
        except Exception as exc:  # an item that cannot be built here is skipped, not fatal
            skipped.append(
                f"{file}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            )
            if os.environ.get("HOLDOUT_DEBUG"):
                traceback.print_exc()
            continue
        if len(data) >= MAX_BYTES:
            skipped.append(f"{file}: {len(data)} bytes is over the 5 MB limit")
            continue
        dest = ben / file
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        entries.append(
            {
                "file": f"benign/{file}",
                "label": "benign",
                "library": library,
                "format": fmt,
                "description": desc,
                "bytes": len(data),
            }
        )
    (out / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")
    print(
        f"{ben}: {len(entries)} benign files ({sum(e['bytes'] for e in entries)} bytes); "
        f"{len(skipped)} skipped"
    )
    for s in skipped:
        print("skipped:", s, file=sys.stderr)
    if args.scan:
        scan(args.scan, ben)
    return 0


if __name__ == "__main__":
    sys.exit(main())
