"""Read the model and data files `dozor robust` is given, after dozor's static scan.

The model file is scanned with `dozor.scan` first and loaded only when no finding is at
or above the policy's threshold: loading a pickle or a full torch module runs code,
and that is exactly what the scanner looks for. What a user can pass:

- scikit-learn: a joblib or pickle file of a fitted estimator or pipeline.
- torch: a TorchScript file (`torch.jit.save`, self-contained, recommended), a whole
  pickled module (`torch.save(model)`, loaded with `weights_only=False` only after a
  clean scan), or a state dict (`torch.save(model.state_dict())`, loaded with
  `weights_only=True`) plus `--arch file.py:ClassName`, a class of the user's own code
  constructed without arguments.

Data: CSV, Parquet (pandas; Parquet needs pyarrow) or NPZ (arrays `x`/`X` and the label
array named by `--label`). Row counts are capped by `max_rows`.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

MAX_NPZ_BYTES = 2 << 30


class LoadError(Exception):
    """One sentence saying what could not be read and what to do."""


def scan_model(path: Path, policy_path: str | None) -> tuple[bool, str, Any]:
    """(clean, one-line reason, the policy's fail_on) from dozor's static scanner."""
    import dozor
    from dozor.policy import PolicyError, load_policy

    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        raise LoadError(str(exc)) from None
    report = dozor.scan(str(path))  # type: ignore[operator]
    policy.apply(report)
    bad = report.at_least(policy.fail_on)
    if report.errors:
        return False, report.errors[0], policy.fail_on
    if bad:
        worst = max(bad, key=lambda f: f.severity)
        return False, (f"{len(bad)} finding(s) at or above {policy.fail_on} (worst: "
                       f"{worst.rule_id} {worst.title}); run `dozor scan {path}`"), policy.fail_on
    return True, "", policy.fail_on


def load_data(path: Path, label: str, *, max_rows: int = 100_000
              ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, labels and feature names."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LoadError(f"data file {path} does not exist")
    if suffix == ".npz":
        try:
            return _load_npz(path, label, max_rows)
        except LoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - zip, header or shape errors of a bad file
            raise LoadError(f"cannot read {path} as NPZ: {type(exc).__name__}") from None
    return _load_table(path, label, suffix, max_rows)


def _load_npz(path: Path, label: str, max_rows: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if path.stat().st_size > MAX_NPZ_BYTES:
        raise LoadError(f"{path} is larger than {MAX_NPZ_BYTES >> 20} MiB")
    with np.load(path, allow_pickle=False) as npz:
        if label not in npz.files:
            raise LoadError(f"{path} has no array {label!r} (arrays: {', '.join(npz.files)})")
        keys = [k for k in ("x", "X", "features", "data") if k in npz.files]
        if not keys:
            others = [k for k in npz.files if k != label]
            if not others:
                raise LoadError(f"{path} has no feature array besides {label!r}")
            keys = others[:1]
        x = np.asarray(npz[keys[0]])[:max_rows]
        y = np.asarray(npz[label])[:max_rows]
    if x.ndim < 2 or len(x) != len(y):
        raise LoadError(f"{path}: features must be 2-D or more with one label per row")
    names = [f"f{i}" for i in range(int(np.prod(x.shape[1:])))]
    return x.astype(np.float32), y, names


def _load_table(path: Path, label: str, suffix: str, max_rows: int
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import pandas as pd

    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt", ".tsv"):
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", nrows=max_rows)
        else:
            raise LoadError(f"{path}: unknown data format; use .csv, .parquet or .npz")
    except ImportError as exc:
        raise LoadError(f"reading {path} needs {exc.name}: pip install pyarrow") from None
    except (ValueError, OSError, IndexError) as exc:
        raise LoadError(f"cannot read {path}: {str(exc)[:200]}") from None
    frame = frame.iloc[:max_rows]
    if label not in frame.columns:
        raise LoadError(f"{path} has no column {label!r}")
    y = frame[label].to_numpy()
    feats = frame.drop(columns=[label])
    non_numeric = [c for c in feats.columns if not pd.api.types.is_numeric_dtype(feats[c])]
    if non_numeric:
        raise LoadError(f"{path}: column {non_numeric[0]!r} is not numeric; one-hot encode it "
                        "and pass the group with --one-hot")
    return feats.to_numpy(dtype=np.float64), y, [str(c) for c in feats.columns]


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n or n.startswith("code/") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_model(path: Path, arch: str | None) -> tuple[str, Any]:
    """("torch" | "sklearn", the object)."""
    head = path.read_bytes()[:4]
    if head.startswith(b"PK") or arch:
        import torch

        if _is_torchscript(path):
            try:
                return "torch", torch.jit.load(str(path), map_location="cpu")
            except Exception as exc:  # noqa: BLE001
                raise LoadError(f"cannot load {path} as TorchScript: "
                                f"{type(exc).__name__}") from None
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception:  # not plain tensors: a whole pickled module, scanned clean above
            try:
                obj = torch.load(str(path), map_location="cpu", weights_only=False)
            except Exception as exc:  # noqa: BLE001 - any load error is a bad model file
                raise LoadError(f"cannot load {path} as a torch model: "
                                f"{type(exc).__name__}") from None
        if isinstance(obj, torch.nn.Module):
            return "torch", obj
        if isinstance(obj, dict):
            if not arch:
                raise LoadError(f"{path} is a state dict: name the architecture with "
                                "--arch file.py:ClassName")
            module = _arch(arch)
            try:
                module.load_state_dict(obj)
            except RuntimeError as exc:
                raise LoadError(f"--arch {arch} does not match the weights: "
                                f"{str(exc).splitlines()[0]}") from None
            return "torch", module
        raise LoadError(f"{path} holds a {type(obj).__name__}, not a torch module")
    import joblib

    try:
        obj = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling error is a bad model file
        raise LoadError(f"cannot load {path} as a scikit-learn model: {exc}") from None
    if not hasattr(obj, "predict"):
        raise LoadError(f"{path} holds a {type(obj).__name__}, not a fitted estimator")
    return "sklearn", obj


def _arch(spec: str) -> Any:
    file, _, name = spec.rpartition(":")
    if not file or not name or not Path(file).is_file():
        raise LoadError(f"--arch {spec!r}: give file.py:ClassName with an existing file")
    mod_spec = importlib.util.spec_from_file_location("dozor_user_arch", file)
    if mod_spec is None or mod_spec.loader is None:
        raise LoadError(f"--arch: cannot import {file}")
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)  # the user's own code, named explicitly by them
    cls = getattr(module, name, None)
    if cls is None:
        raise LoadError(f"--arch: {file} has no {name}")
    return cls()
