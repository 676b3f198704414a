"""Hostile bytes must never make the Keras/HDF5 handlers raise: they report or stay silent.

Bounded (about a hundred examples each, no deadline) so the suite stays quick on CI.
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dozor.findings import Finding, Location
from dozor.scan.base import Blob, Limits, ScanContext, ScanTimeout
from dozor.scan.models.keras import HDF5_MAGIC, scan_hdf5, scan_keras_config

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(handler: Any, data: bytes) -> list[Finding]:
    # libhdf5 hangs on some mutations; the isolated child is then killed after this budget.
    ctx = ScanContext(limits=Limits(seconds_per_file=10))
    try:
        found = list(handler(Blob(data, Location("fuzz")), ctx))
    except ScanTimeout:
        return []  # the engine reports this as DZ-GEN-002; on a loaded machine it can happen

    assert all(f.rule_id.startswith("DZ-KER-") for f in found)
    return found


@functools.cache
def sample_h5() -> bytes:
    """A small legacy-Keras-like HDF5 file with attributes, groups, links and datasets."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["model_config"] = json.dumps(
            {
                "class_name": "Sequential",
                "config": {"layers": [{"class_name": "Dense", "config": {"name": "d"}}]},
            }
        )
        f.attrs["keras_version"] = "3.15.1"
        group = f.create_group("model_weights/dense/dense")
        group.create_dataset("kernel:0", data=np.arange(32, dtype="f4").reshape(8, 4))
        group.create_dataset("bias:0", data=np.zeros(4, "f4"), compression="gzip")
        f["ext"] = h5py.ExternalLink("other.h5", "/x")
        f["soft"] = h5py.SoftLink("/model_weights")
    return buffer.getvalue()


keras_words = st.sampled_from(
    [
        "class_name",
        "config",
        "module",
        "registered_name",
        "function",
        "function_type",
        "layers",
        "__lambda__",
        "Lambda",
        "TFOpLambda",
        "builtins",
        "os",
        "keras.layers",
        "lambda",
        "code",
        "vocabulary",
        "StringLookup",
        "http://x",
        "a>b",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | keras_words,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(keras_words, children, max_size=5)
    ),
    max_leaves=40,
)


@FUZZ
@given(st.binary(max_size=2048))
def test_config_random_bytes(data: bytes) -> None:
    run(scan_keras_config, data)


@FUZZ
@given(json_values)
def test_config_random_keras_like_json(value: Any) -> None:
    run(scan_keras_config, json.dumps(value).encode())


@FUZZ
@given(st.binary(max_size=4096))
def test_hdf5_random_bytes_after_magic(data: bytes) -> None:
    run(scan_hdf5, HDF5_MAGIC + data)


@FUZZ
@given(st.integers(min_value=0, max_value=len(sample_h5())))
def test_hdf5_truncated(cut: int) -> None:
    run(scan_hdf5, sample_h5()[:cut])


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(sample_h5()) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_hdf5_mutated(edits: list[tuple[int, int]]) -> None:
    data = bytearray(sample_h5())
    for offset, value in edits:
        data[offset] = value
    run(scan_hdf5, bytes(data))
