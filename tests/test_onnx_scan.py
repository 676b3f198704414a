"""ONNX handler: fixtures are encoded by hand so the tests need neither onnx nor protobuf."""

from __future__ import annotations

import os
import pickle
import random
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, LimitExceeded, ScanContext, ScanTimeout
from dozor.scan.models.onnx import location_problem, looks_like_onnx, scan_onnx

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


def tensor(name: str, location: str | None = None, *, external: bool = True) -> bytes:
    body = fv(1, 4) + fv(2, 1) + fb(8, name)
    if location is None:
        return body + fb(9, b"\x00" * 16)
    body += fb(13, fb(1, "location") + fb(2, location)) + fb(13, fb(1, "offset") + fb(2, "0"))
    return body + (fv(14, 1) if external else b"")


def attribute(name: str, **fields: bytes) -> bytes:
    numbers = {"t": 5, "g": 6, "tensors": 10, "graphs": 11, "sparse": 22}
    body = fb(1, name)
    for kind, value in fields.items():
        body += fb(numbers[kind], value)
    return body


def node(op: str, domain: str = "", *attrs: bytes) -> bytes:
    body = fb(1, "x") + fb(2, "y") + fb(3, f"{op}_0") + fb(4, op)
    body += b"".join(fb(5, a) for a in attrs)
    return body + (fb(7, domain) if domain else b"")


def graph(
    nodes: Sequence[bytes] = (), initializers: Sequence[bytes] = (), sparse: Sequence[bytes] = ()
) -> bytes:
    body = b"".join(fb(1, n) for n in nodes) + fb(2, "main")
    body += b"".join(fb(5, t) for t in initializers)
    body += fb(11, fb(1, "x")) + fb(12, fb(1, "y"))
    return body + b"".join(fb(15, s) for s in sparse)


def model(
    g: bytes | None,
    opsets: tuple[tuple[str, int], ...] = (("", 17),),
    *,
    functions: tuple[bytes, ...] = (),
    training: tuple[bytes, ...] = (),
) -> bytes:
    body = fv(1, 8) + fb(2, "pytorch") + fb(3, "2.3.0")
    if g is not None:
        body += fb(7, g)
    body += b"".join(fb(8, fb(1, d) + fv(2, v)) for d, v in opsets)
    body += b"".join(fb(20, t) for t in training)
    return body + b"".join(fb(25, f) for f in functions)


def function(name: str, domain: str, nodes: Sequence[bytes], attrs: Sequence[bytes] = ()) -> bytes:
    body = fb(1, name) + fb(4, "x") + fb(5, "y") + b"".join(fb(7, n) for n in nodes)
    body += fb(9, fb(1, "") + fv(2, 17)) + fb(10, domain)
    return body + b"".join(fb(11, a) for a in attrs)


def scan(data: bytes, path: str = "x.onnx") -> list[Finding]:
    return list(scan_onnx(Blob(data, Location(path)), ScanContext()))


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


BENIGN = model(
    graph(
        [node("MatMul"), node("Relu"), node("Gelu", "com.microsoft")],
        [tensor("w"), tensor("b")],
    ),
    (("", 17), ("com.microsoft", 1)),
)


# --------------------------------------------------------------------------- sniffing


def test_looks_like_onnx_accepts_models_and_their_prefix() -> None:
    assert looks_like_onnx(BENIGN)
    assert looks_like_onnx(memoryview(BENIGN))
    assert looks_like_onnx(BENIGN[:40])  # the graph runs past a header-sized prefix


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x08",
        b"\x08\x08",
        b"hello world, this is plain text and not a model\n" * 4,
        b'{"format": "json"}',
        pickle.dumps({"a": [1, 2, 3]}, protocol=2),
        pickle.dumps("x", protocol=0),
        fv(1, 1) + fb(2, fb(1, fb(4, "serve")) + fb(2, fb(1, fb(1, "n") + fb(2, "Const")))),
        fv(1, 0xDEADBEEFCAFE) + fv(2, 12345) + fv(3, 99),  # SavedModel fingerprint.pb
        model(None),  # no graph
        fv(1, 8) + fb(2, b"\xff\xfe\x00bad utf8") + fb(7, graph([node("Relu")])),
        fv(1, 8) + fb(7, b"\x08\x01\x10\x02"),  # graph holding varints, not messages
        fv(1, 8) + fb(7, b""),  # empty graph
        fv(1, 8) + fb(7, fb(1, fb(4, b"\xc3\x28"))),  # node op_type that is not UTF-8
        fv(1, 99) + fb(7, graph([node("Relu")])),  # ir_version out of range
    ],
)
def test_looks_like_onnx_rejects_other_formats(data: bytes) -> None:
    assert not looks_like_onnx(data)


def test_looks_like_onnx_rejects_random_bytes() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        # random bytes after a plausible ir_version, the worst case for the sniffer
        data = b"\x08" + bytes([rng.randrange(1, 12)]) + rng.randbytes(rng.randrange(0, 200))
        assert not looks_like_onnx(data), data


def test_looks_like_onnx_is_fast_on_a_big_model() -> None:
    big = model(graph([node("Relu")] * 20_000, [tensor(f"w{i}") for i in range(2000)]))
    start = time.perf_counter()
    for _ in range(100):
        assert looks_like_onnx(big)
    assert (time.perf_counter() - start) / 100 < 0.001


# --------------------------------------------------------------------------- rules


def test_benign_model_has_nothing_at_medium_or_above() -> None:
    found = scan(BENIGN)
    assert [f for f in found if f.severity >= Severity.MEDIUM] == []
    info = [f for f in found if f.rule_id == "DZ-ONNX-005"]
    assert len(info) == 1 and info[0].severity == Severity.INFO
    assert "Gelu" in info[0].evidence


@pytest.mark.parametrize(
    "location",
    [
        "/etc/passwd",
        "/proc/self/environ",
        "/dev/zero",
        "../../home/user/.ssh/id_rsa",
        "weights/../../../etc/shadow",
        "..\\..\\Windows\\win.ini",
        "C:\\Windows\\win.ini",
        "c:relative.bin",
        "\\\\server\\share\\w.bin",
        "file:///etc/passwd",
        "https://example.invalid/w.bin",
        "w.bin\x00.txt",
    ],
)
def test_unsafe_external_location_in_initializer(location: str) -> None:
    data = model(graph([node("MatMul")], [tensor("w", location)]))
    # a file on disk, and a member of an archive (no folder to resolve against)
    for where in (Location("models/x.onnx"), Location("bundle.zip", ("x.onnx",))):
        found = list(scan_onnx(Blob(data, where), ScanContext()))
        high = [f for f in found if f.rule_id == "DZ-ONNX-001"]
        assert len(high) == 1
        assert high[0].severity == Severity.HIGH
        assert high[0].detail("reason") != "resolves outside the model's folder (symbolic link)"
        assert "\x00" not in high[0].evidence  # printable() escaped it


@pytest.mark.parametrize("location", ["weights.bin", "data/w.bin", "./w.bin", "a..b.bin"])
def test_safe_external_location_is_info_only(location: str) -> None:
    found = scan(model(graph([node("MatMul")], [tensor("w", location), tensor("v", location)])))
    assert rules(found) == {"DZ-ONNX-004"}
    assert found[0].severity == Severity.INFO
    assert "2 external tensor(s) in 1 file(s)" in found[0].evidence


def test_unsafe_location_is_found_everywhere_tensors_live() -> None:
    bad = tensor("t", "/etc/passwd")
    sparse = fb(1, bad) + fb(2, tensor("i", "../idx.bin"))
    inner = graph([node("Constant", "", attribute("value", t=tensor("c", "/proc/1/mem")))])
    loop_body = graph([node("If", "", attribute("then_branch", g=inner))])
    places = {
        "initializer": model(graph([node("Relu")], [bad])),
        "sparse initializer": model(graph([node("Relu")], sparse=[sparse])),
        "attribute t": model(graph([node("Constant", "", attribute("value", t=bad))])),
        "attribute tensors": model(graph([node("X", "", attribute("v", tensors=bad))])),
        "attribute sparse": model(graph([node("Constant", "", attribute("v", sparse=sparse))])),
        "nested subgraphs": model(graph([node("Loop", "", attribute("body", graphs=loop_body))])),
        "function": model(
            graph([node("F", "local")]),
            (("", 17), ("local", 1)),
            functions=(function("F", "local", [node("Constant", "", attribute("v", t=bad))]),),
        ),
        "function attribute default": model(
            graph([node("Relu")]),
            functions=(function("F", "local", [node("Relu")], [attribute("v", t=bad)]),),
        ),
        "training graph": model(graph([node("Relu")]), training=(fb(1, graph([], [bad])),)),
    }
    for where, data in places.items():
        found = scan(data)
        assert "DZ-ONNX-001" in rules(found), where


def test_location_checked_even_without_the_external_flag() -> None:
    # protobuf merges repeated occurrences of a field, so the flag may live elsewhere
    found = scan(model(graph([node("Relu")], [tensor("w", "/etc/passwd", external=False)])))
    assert rules(found) == {"DZ-ONNX-001"}


def test_each_unsafe_location_reported_once() -> None:
    tensors = [tensor(f"w{i}", "../shared.bin") for i in range(50)]
    found = [f for f in scan(model(graph([node("Relu")], tensors))) if f.rule_id == "DZ-ONNX-001"]
    assert len(found) == 1
    assert found[0].evidence == "../shared.bin"


def test_symlink_beside_the_model_that_leaves_the_folder(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("token")
    folder = tmp_path / "model"
    folder.mkdir()
    try:
        os.symlink(secret, folder / "weights.bin")
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links are not available")
    (folder / "inside.bin").write_bytes(b"\x00" * 16)
    data = model(graph([node("Relu")], [tensor("w", "weights.bin"), tensor("v", "inside.bin")]))
    found = scan(data, str(folder / "m.onnx"))
    high = [f for f in found if f.rule_id == "DZ-ONNX-001"]
    assert [f.evidence for f in high] == ["weights.bin"]
    assert "symbolic link" in (high[0].detail("reason") or "")
    assert location_problem("inside.bin", str(folder)) is None


def test_custom_domain_reported_once_with_its_ops() -> None:
    data = model(
        graph([node("Evil", "evil.ops"), node("Evil", "evil.ops"), node("Other", "evil.ops")]),
        (("", 17), ("evil.ops", 1)),
    )
    found = [f for f in scan(data) if f.rule_id == "DZ-ONNX-002"]
    assert len(found) == 1
    assert found[0].severity == Severity.MEDIUM
    assert found[0].evidence == "domain evil.ops: Evil, Other"
    assert found[0].detail("domain") == "evil.ops"


def test_custom_domain_only_in_opset_import() -> None:
    found = scan(model(graph([node("Relu")]), (("", 17), ("ai.onnx.contrib", 1))))
    assert rules(found) == {"DZ-ONNX-002"}
    assert "opset_import" in found[0].evidence


def test_custom_domain_inside_a_subgraph() -> None:
    inner = graph([node("Hidden", "my.native")])
    found = scan(model(graph([node("If", "", attribute("then_branch", g=inner))])))
    assert rules(found) == {"DZ-ONNX-002"}
    assert "Hidden" in found[0].evidence


@pytest.mark.parametrize(
    "domain", ["", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"]
)
def test_standard_domains_are_not_reported(domain: str) -> None:
    assert scan(model(graph([node("Relu", domain)]), (("", 17), (domain or "ai.onnx.ml", 3)))) == []


def test_model_local_functions_are_not_custom_ops() -> None:
    # torch.onnx's dynamo exporter defines its own domains with functions in the model
    fn = function("aten_gelu", "pkg.onnxscript.torch_lib", [node("Tanh"), node("Mul")])
    data = model(
        graph([node("aten_gelu", "pkg.onnxscript.torch_lib")]),
        (("", 18), ("pkg.onnxscript.torch_lib", 1)),
        functions=(fn,),
    )
    assert scan(data) == []
    # ...but an op of that domain that no function defines still needs native code
    data = model(
        graph(
            [
                node("aten_gelu", "pkg.onnxscript.torch_lib"),
                node("nope", "pkg.onnxscript.torch_lib"),
            ]
        ),
        functions=(fn,),
    )
    found = scan(data)
    assert rules(found) == {"DZ-ONNX-002"}
    assert found[0].evidence.endswith(": nope")


# --------------------------------------------------------------------------- malformed input


def test_truncated_model_is_malformed_not_an_exception() -> None:
    for cut in range(1, len(BENIGN)):
        found = scan(BENIGN[:cut])
        assert all(f.severity <= Severity.MEDIUM for f in found)
    found = scan(BENIGN[: len(BENIGN) // 2])
    assert "DZ-ONNX-003" in rules(found)
    assert [f.severity for f in found if f.rule_id == "DZ-ONNX-003"] == [Severity.MEDIUM]


def test_model_without_graph_is_malformed() -> None:
    assert rules(scan(model(None))) == {"DZ-ONNX-003"}


def test_external_tensor_without_location_is_malformed() -> None:
    broken = fv(1, 4) + fb(8, "w") + fv(14, 1)
    assert rules(scan(model(graph([node("Relu")], [broken])))) == {"DZ-ONNX-003"}


def test_findings_before_the_damage_are_kept() -> None:
    data = model(graph([node("Relu")], [tensor("w", "/etc/passwd")]))
    found = scan(data + b"\x0a\x7f")  # a length that runs past the end
    assert rules(found) == {"DZ-ONNX-001", "DZ-ONNX-003"}


@pytest.mark.parametrize(
    "data",
    [
        b"\x08\x08\x3a\x05\x0a\x03\x1b\x00\x00",  # group wire type inside a node
        b"\x08\x08\x3a\x02\x0a\xff",  # truncated varint
        b"\x08" + b"\xff" * 20,  # over-long varint
        b"\x08\x08\x3a\x01\x07",  # invalid wire type 7
    ],
)
def test_hostile_structure_is_malformed(data: bytes) -> None:
    assert rules(scan(data)) == {"DZ-ONNX-003"}


def test_random_bytes_never_raise() -> None:
    rng = random.Random(99)
    for _ in range(500):
        data = rng.randbytes(rng.randrange(0, 300))
        for f in scan(data):
            assert f.rule_id.startswith("DZ-ONNX-")


def test_deep_subgraph_nesting_is_bounded() -> None:
    g = graph([node("Relu")])
    for _ in range(60):
        g = graph([node("If", "", attribute("then_branch", g=g))])
    with pytest.raises(LimitExceeded):
        scan(model(g))


def test_time_budget_is_checked() -> None:
    ctx = ScanContext(deadline=time.monotonic() - 1)
    with pytest.raises(ScanTimeout):
        list(scan_onnx(Blob(BENIGN, Location("x.onnx")), ctx))


# --------------------------------------------------------------------------- real onnx


def test_real_onnx_model_is_clean_and_recognised(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])
    t = helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 64])
    branch = helper.make_graph([helper.make_node("Identity", ["h"], ["t"])], "b", [], [t])
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["m", "bias"], ["h0"]),
        helper.make_node("Relu", ["h0"], ["h"]),
        helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.array(True))),
        helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch),
    ]
    inits = [
        numpy_helper.from_array(np.ones((64, 64), np.float32), "w"),
        numpy_helper.from_array(np.zeros(64, np.float32), "bias"),
    ]
    proto = helper.make_model(
        helper.make_graph(nodes, "g", [x], [y], inits),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    onnx.checker.check_model(proto)
    inline = proto.SerializeToString()
    assert looks_like_onnx(inline)
    assert [f for f in scan(inline) if f.severity >= Severity.MEDIUM] == []

    path = tmp_path / "model.onnx"
    onnx.save(proto, str(path), save_as_external_data=True, location="model.data", size_threshold=0)
    data = path.read_bytes()
    assert looks_like_onnx(data)
    found = scan(data, str(path))
    assert rules(found) == {"DZ-ONNX-004"}
    assert "model.data" in found[0].evidence

    tampered = onnx.load(str(path), load_external_data=False)
    for init in tampered.graph.initializer:
        for entry in init.external_data:
            if entry.key == "location":
                entry.value = "../../../etc/passwd"
    found = scan(tampered.SerializeToString(), str(path))
    assert "DZ-ONNX-001" in rules(found)
