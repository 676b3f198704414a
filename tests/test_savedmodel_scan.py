"""TF SavedModel handler: fixtures are encoded by hand, so the tests need no tensorflow."""

from __future__ import annotations

import json
import pickle
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, LimitExceeded, ScanContext, ScanTimeout
from dozor.scan.models import savedmodel
from dozor.scan.models.onnx import looks_like_onnx
from dozor.scan.models.savedmodel import (
    looks_like_keras_metadata,
    looks_like_savedmodel,
    scan_savedmodel,
)

# --------------------------------------------------------------------------- encoder


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def fv(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def fb(number: int, value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def node(
    name: str,
    op: str,
    inputs: Sequence[str] = (),
    attrs: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """A NodeDef (without its field tag)."""
    body = fb(1, name) + fb(2, op) + b"".join(fb(3, i) for i in inputs) + fb(4, "/device:CPU:0")
    return body + b"".join(fb(5, fb(1, k) + fb(2, v)) for k, v in attrs)


def s_attr(value: str) -> bytes:
    return fb(2, value)  # AttrValue.s


def const(name: str, value: str) -> bytes:
    tensor = fv(1, 7) + fb(2, b"") + fb(8, value)  # DT_STRING, scalar shape, string_val
    return node(name, "Const", attrs=[("dtype", fv(6, 7)), ("value", fb(8, tensor))])


def function(name: str, nodes: Sequence[bytes]) -> bytes:
    signature = fb(1, name) + fb(2, fb(1, "args_0") + fv(3, 1))
    return fb(1, signature) + b"".join(fb(3, n) for n in nodes) + fb(4, fb(1, "out") + fb(2, "x"))


def saved_model(
    nodes: Sequence[bytes],
    functions: Sequence[bytes] = (),
    *,
    assets: Sequence[str] = (),
    meta_graphs: int = 1,
) -> bytes:
    graph = b"".join(fb(1, n) for n in nodes)
    if functions:
        graph += fb(2, b"".join(fb(1, f) for f in functions))
    graph += fb(4, fv(1, 1645) + fv(2, 12))
    info = fb(1, fb(1, "") + fb(2, fb(1, fb(1, "Const"))) + fb(4, "serve") + fb(5, "2.15.0"))
    meta = info + fb(2, graph) + fb(3, fb(1, "saver_filename:0"))
    meta += b"".join(fb(6, fb(1, fb(1, f"asset_{i}:0")) + fb(2, a)) for i, a in enumerate(assets))
    meta += fb(5, fb(1, "serving_default") + fb(2, fb(3, "tensorflow/serving/predict")))
    return fv(1, 1) + fb(2, meta) * meta_graphs


def scan(data: bytes, path: str = "model/saved_model.pb") -> list[Finding]:
    return list(scan_savedmodel(Blob(data, Location(path)), ScanContext()))


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


# What tf.saved_model.save writes for an ordinary Keras model, in miniature: variables,
# the sharded saver graph, lookup tables from a vocabulary asset, a tf.print to stderr.
BENIGN_NODES = [
    node("x", "Placeholder", attrs=[("dtype", fv(6, 1))]),
    node("dense/kernel", "VarHandleOp"),
    node("dense/MatMul/ReadVariableOp", "ReadVariableOp", ["dense/kernel"]),
    node("dense/MatMul", "MatMul", ["x", "dense/MatMul/ReadVariableOp:0"]),
    node("saver_filename", "Placeholder", attrs=[("dtype", fv(6, 7))]),
    node("call", "StatefulPartitionedCall", ["x"], [("f", fb(10, fb(1, "__inference_call")))]),
    node("save", "StatefulPartitionedCall", ["saver_filename"]),
    node("table_init", "InitializeTableFromTextFileV2", ["table", "asset_path"]),
    const("asset_path", "/home/exporter/model/assets/vocab.txt"),  # TF1 keeps this; remapped
    const("save/Const", "model"),  # TF1 non-sharded saver: SaveV2 reads a relative Const
    node("save/SaveV2", "SaveV2", ["save/Const", "save/names", "save/slices"]),
    node("print", "PrintV2", ["msg"], [("output_stream", s_attr("stderr"))]),
    node("proto", "DecodeProtoV2", ["b"], [("descriptor_source", s_attr("local://"))]),
]
BENIGN_FUNCTIONS = [
    function(
        "__inference__traced_save_99",
        [
            node("StaticRegexFullMatch", "StaticRegexFullMatch", ["file_prefix"]),
            node("Const", "Const"),
            node("Select", "Select", ["StaticRegexFullMatch:output:0", "Const:output:0"]),
            node("StringJoin", "StringJoin", ["file_prefix", "Select:output:0"]),
            node("ShardedFilename", "ShardedFilename", ["StringJoin:output:0", "num_shards"]),
            node("SaveV2", "SaveV2", ["ShardedFilename:filename:0", "tensor_names"]),
            node("MergeV2Checkpoints", "MergeV2Checkpoints", ["StringJoin:output:0"]),
        ],
    ),
    function(
        "__inference__traced_restore_120",
        [node("RestoreV2", "RestoreV2", ["file_prefix", "names", "slices"])],
    ),
]
BENIGN = saved_model(BENIGN_NODES, BENIGN_FUNCTIONS, assets=["vocab.txt"])


# --------------------------------------------------------------------------- sniffing


def test_looks_like_savedmodel_accepts_models_and_prefixes() -> None:
    assert looks_like_savedmodel(BENIGN)
    assert looks_like_savedmodel(memoryview(BENIGN))
    assert looks_like_savedmodel(saved_model(BENIGN_NODES, meta_graphs=3))
    assert looks_like_savedmodel(BENIGN[:60])  # header-sized prefix


def test_savedmodel_and_onnx_are_told_apart() -> None:
    onnx_like = (
        fv(1, 1)  # ir_version 1 looks exactly like schema version 1
        + fb(2, "pytorch")  # producer_name: a string at field 2, like a MetaGraphDef
        + fb(7, fb(1, fb(1, "x") + fb(2, "y") + fb(4, "Relu")) + fb(2, "g"))
        + fb(8, fb(1, "") + fv(2, 17))
    )
    assert looks_like_onnx(onnx_like) and not looks_like_savedmodel(onnx_like)
    assert looks_like_savedmodel(BENIGN) and not looks_like_onnx(BENIGN)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x08\x01",
        fv(1, 1),  # no meta graph
        fv(1, 1) + fb(2, b""),  # empty meta graph
        fv(1, 1) + fb(2, fb(3, fb(1, "x"))),  # complete meta graph without a graph_def
        fv(1, 0xDEADBEEFCAFE) + fv(2, 12345) + fv(3, 99) + fb(6, fv(1, 1)),  # fingerprint.pb
        fv(1, 1) + fv(2, 5),  # field 2 is a varint
        fv(1, 1) + fb(2, fb(2, fb(1, fb(1, b"\xc3\x28")))),  # node name not UTF-8
        b"# a text file\nvalue = 1\n",
        pickle.dumps([1, 2, 3], protocol=4),
    ],
)
def test_looks_like_savedmodel_rejects_other_data(data: bytes) -> None:
    assert not looks_like_savedmodel(data)


def test_looks_like_savedmodel_needs_a_small_schema_version() -> None:
    assert not looks_like_savedmodel(b"\x08" + varint(1 << 40) + BENIGN[2:])


def test_looks_like_savedmodel_rejects_random_bytes() -> None:
    rng = random.Random(4321)
    for _ in range(3000):
        data = b"\x08\x01" + rng.randbytes(rng.randrange(0, 200))
        assert not looks_like_savedmodel(data), data


def test_looks_like_savedmodel_is_fast_on_a_big_model() -> None:
    big = saved_model([node(f"n{i}", "MatMul", ["a", "b"]) for i in range(50_000)])
    start = time.perf_counter()
    for _ in range(100):
        assert looks_like_savedmodel(big)
    assert (time.perf_counter() - start) / 100 < 0.001


# --------------------------------------------------------------------------- rules


def test_benign_savedmodel_has_no_findings() -> None:
    assert scan(BENIGN) == []


@pytest.mark.parametrize("op", ["PyFunc", "PyFuncStateless", "EagerPyFunc", "MyPyFuncWrapper"])
def test_python_callbacks_are_critical(op: str) -> None:
    data = saved_model([node("cb", op, ["x"], [("token", s_attr("pyfunc_3"))])])
    found = scan(data)
    assert rules(found) == {"DZ-TF-001"}
    assert found[0].severity == Severity.CRITICAL
    assert op in found[0].evidence and "pyfunc_3" in found[0].evidence


@pytest.mark.parametrize(
    "op",
    [
        "ReadFile",
        "WriteFile",
        "MatchingFiles",
        "ImmutableConst",
        "FixedLengthRecordDatasetV2",
        "CSVDataset",
        "ExperimentalMatchingFilesDataset",
        "DebugIdentityV3",
        "DistributedSave",
        "DataServiceDatasetV4",
        "RpcCall",
        "Save",
        "SaveSlices",
    ],
)
def test_file_and_network_ops_are_high(op: str) -> None:
    found = scan(saved_model([node("evil", op, ["arg"])]))
    assert rules(found) == {"DZ-TF-002"}
    assert found[0].severity == Severity.HIGH
    assert found[0].detail("op") == op


def test_ops_inside_library_functions_are_found() -> None:
    fn = function("__inference_call_7", [node("r", "ReadFile", ["path"])])
    found = scan(saved_model(BENIGN_NODES, [*BENIGN_FUNCTIONS, fn]))
    assert rules(found) == {"DZ-TF-002"}
    assert "__inference_call_7" in found[0].evidence


def test_constant_path_is_shown_as_evidence() -> None:
    data = saved_model([const("p", "/etc/passwd"), node("r", "ReadFile", ["p:0"])])
    (found,) = scan(data)
    assert "/etc/passwd" in found.evidence


def test_same_op_in_many_nodes_is_one_finding() -> None:
    found = scan(saved_model([node(f"w{i}", "WriteFile", ["f", "c"]) for i in range(40)]))
    assert len(found) == 1
    assert found[0].detail("nodes") == "40"
    assert "37 more" in found[0].evidence


def test_printv2_to_a_file() -> None:
    bad = node("p", "PrintV2", ["m"], [("output_stream", s_attr("file:///home/u/.bashrc"))])
    found = scan(saved_model([bad]))
    assert rules(found) == {"DZ-TF-002"}
    assert "file:///home/u/.bashrc" in found[0].evidence


def test_decode_proto_with_a_descriptor_file() -> None:
    bad = node("d", "DecodeProtoV2", ["b"], [("descriptor_source", s_attr("/etc/shadow"))])
    assert rules(scan(saved_model([bad]))) == {"DZ-TF-002"}
    ok = node("d", "DecodeProtoV2", ["b"], [("descriptor_source", s_attr("bytes://\x0a\x00"))])
    assert scan(saved_model([ok])) == []


@pytest.mark.parametrize("path", ["/root/.ssh/authorized_keys", "../../../tmp/x", "C:\\x"])
def test_savev2_with_a_constant_outside_path(path: str) -> None:
    found = scan(saved_model([const("prefix", path), node("s", "SaveV2", ["prefix"])]))
    assert rules(found) == {"DZ-TF-002"}


def test_namespaced_custom_op_is_medium() -> None:
    found = scan(saved_model([node("g", "Addons>GatherTree", ["a", "b"])]))
    assert rules(found) == {"DZ-TF-003"}
    assert found[0].severity == Severity.MEDIUM


@pytest.mark.parametrize("asset", ["/etc/passwd", "../../secrets.txt", "https://x.invalid/v"])
def test_asset_outside_the_model_folder(asset: str) -> None:
    found = scan(saved_model(BENIGN_NODES, assets=["vocab.txt", asset]))
    assert rules(found) == {"DZ-TF-007"}
    assert found[0].severity == Severity.HIGH


# --------------------------------------------------------------------------- keras metadata


def keras_metadata(*layers: Mapping[str, Any]) -> bytes:
    """SavedMetadata: one SavedObject per layer, its JSON config at field 5."""
    out = b""
    for i, layer in enumerate(layers):
        config = layer.get("config")
        nested = isinstance(config, dict) and "layers" in config
        ident = "_tf_keras_network" if nested else "_tf_keras_layer"
        body = fb(1, fv(1, 1)) + fv(2, i) + fb(3, f"root.layer-{i}") + fb(4, ident)
        out += fb(1, body + fb(5, json.dumps(layer)))
    return out


LAMBDA: dict[str, Any] = {
    "class_name": "Lambda",
    "name": "lam",
    "config": {
        "name": "lam",
        "function": ["4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMMAAAAdABkAaMBAQB8AFMA", None, None],
        "function_type": "lambda",
        "module": "__main__",
        "output_shape": None,
        "output_shape_type": "raw",
    },
}
DENSE: dict[str, Any] = {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 4}}


def test_keras_metadata_lambda_bytecode_is_high() -> None:
    model = {"class_name": "Functional", "config": {"layers": [DENSE, LAMBDA]}}
    data = keras_metadata(DENSE, LAMBDA, model)
    assert looks_like_keras_metadata(data)
    assert not looks_like_savedmodel(data) and not looks_like_onnx(data)
    found = scan(data, "model/keras_metadata.pb")
    assert rules(found) == {"DZ-TF-005"}
    assert len(found) == 1  # the layer and the model config name the same Lambda
    assert found[0].severity == Severity.HIGH
    assert "lam" in found[0].evidence


def test_keras_metadata_named_function_is_low() -> None:
    named = json.loads(json.dumps(LAMBDA))
    named["config"].update(function="my_activation", function_type="function", module="mypkg")
    found = scan(keras_metadata(DENSE, named), "model/keras_metadata.pb")
    assert rules(found) == {"DZ-TF-006"}
    assert found[0].severity == Severity.LOW
    assert "mypkg.my_activation" in found[0].evidence


def test_keras_metadata_without_lambda_is_clean() -> None:
    model = {"class_name": "Sequential", "config": {"layers": [DENSE, DENSE]}}
    data = keras_metadata(DENSE, model)
    assert looks_like_keras_metadata(data)
    assert scan(data, "model/keras_metadata.pb") == []


def test_keras_metadata_with_broken_json_is_malformed() -> None:
    data = fb(1, fv(2, 0) + fb(3, "root") + fb(4, "_tf_keras_layer") + fb(5, "{not json"))
    assert rules(scan(data, "model/keras_metadata.pb")) == {"DZ-TF-004"}


# --------------------------------------------------------------------------- malformed input


def test_truncated_savedmodel_is_malformed_not_an_exception() -> None:
    for cut in range(1, len(BENIGN)):
        found = scan(BENIGN[:cut])
        assert all(f.severity <= Severity.MEDIUM for f in found), cut
    assert rules(scan(BENIGN[: len(BENIGN) // 2])) == {"DZ-TF-004"}


def test_no_meta_graph_is_malformed() -> None:
    assert rules(scan(fv(1, 1))) == {"DZ-TF-004"}


@pytest.mark.parametrize(
    "data",
    [
        fv(1, 1) + fb(2, fb(2, b"\x0a\x05\x0a\x03")),  # node length past the end
        fv(1, 1) + b"\x13\x00",  # group wire type
        fv(1, 1) + b"\x12" + b"\xff" * 11,  # over-long length varint
    ],
)
def test_hostile_structure_is_malformed(data: bytes) -> None:
    assert rules(scan(data)) == {"DZ-TF-004"}


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    for _ in range(500):
        for prefix in (b"\x08\x01", b"\x0a"):
            data = prefix + rng.randbytes(rng.randrange(0, 300))
            for f in scan(data):
                assert f.rule_id.startswith("DZ-TF-")


def test_node_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(savedmodel, "MAX_NODES", 10)
    with pytest.raises(LimitExceeded):
        scan(saved_model([node(f"n{i}", "Identity") for i in range(11)]))


def test_time_budget_is_checked() -> None:
    ctx = ScanContext(deadline=time.monotonic() - 1)
    with pytest.raises(ScanTimeout):
        list(scan_savedmodel(Blob(BENIGN, Location("saved_model.pb")), ctx))
