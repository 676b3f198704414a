"""The symbolic pickle reader: benign pickles pass, every known trick is caught."""

from __future__ import annotations

import collections
import datetime
import os
import pickle
import pickletools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dozor.findings import Severity
from dozor.scan.models.pickle_imports import Verdict, judge
from tests.conftest import rules, scan_bytes, worst

SHORT = b"\x8c"  # SHORT_BINUNICODE


def s(text: str) -> bytes:
    raw = text.encode()
    return SHORT + bytes([len(raw)]) + raw


def stack_global(module: str, name: str) -> bytes:
    return s(module) + s(name) + b"\x93"


def call1(func: bytes, arg: str) -> bytes:
    return func + s(arg) + b"\x85R"


def proto(n: int, body: bytes) -> bytes:
    return b"\x80" + bytes([n]) + body + b"."


class Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


# -- benign -------------------------------------------------------------------------------

BENIGN = [
    {"a": 1, "b": [1.5, None, True], "c": ("x", b"y" * 70000)},
    collections.OrderedDict(weight=[0.1] * 100, bias=b"\x00" * 10),
    {1, 2, 3},
    frozenset({"a"}),
    datetime.datetime(2024, 1, 2, 3, 4, 5),
    [collections.Counter("hello"), collections.defaultdict(list), range(5), slice(1, 2)],
    "x" * 200_000,
    complex(1, 2),
    bytearray(b"abc"),
]


@pytest.mark.parametrize("protocol", range(0, 6))
@pytest.mark.parametrize("obj", BENIGN, ids=range(len(BENIGN)))
def test_benign_pickles_are_clean(obj: object, protocol: int) -> None:
    findings = scan_bytes(pickle.dumps(obj, protocol=protocol))
    assert worst(findings) < Severity.MEDIUM, findings


def test_numpy_arrays_are_clean() -> None:
    np = pytest.importorskip("numpy")
    for protocol in (2, 4, 5):
        data = pickle.dumps({"w": np.arange(12, dtype=np.float32).reshape(3, 4),
                             "s": np.float64(1.5), "r": np.random.RandomState(0)},
                            protocol=protocol)
        assert worst(scan_bytes(data)) < Severity.MEDIUM


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.binary(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner) | st.tuples(inner, inner)
    | st.frozensets(st.integers()),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(0, 5))
def test_machine_agrees_with_pickletools_on_benign_data(obj: object, protocol: int) -> None:
    data = pickle.dumps(obj, protocol=protocol)
    findings = scan_bytes(data)
    assert worst(findings) < Severity.MEDIUM
    ops = list(pickletools.genops(data))
    assert ops[-1][0].name == "STOP"


# -- malicious -----------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", range(0, 6))
def test_reduce_payload_every_protocol(protocol: int, marker) -> None:  # type: ignore[no-untyped-def]
    data = pickle.dumps({"model": Payload(marker())}, protocol=protocol)
    found = scan_bytes(data)
    assert "DZ-PKL-001" in rules(found)
    assert worst(found) == Severity.CRITICAL


@pytest.mark.parametrize("module,name", [
    ("pip", "main"), ("pip._internal.cli.main", "main"), ("pkgutil", "resolve_name"),
    ("importlib", "import_module"), ("asyncio.unix_events", "_UnixSelectorEventLoop"),
    ("_operator", "attrgetter"), ("operator", "methodcaller"), ("runpy", "run_path"),
    ("numpy.testing._private.utils", "runstring"), ("code", "InteractiveInterpreter"),
    ("cProfile", "run"), ("timeit", "timeit"), ("pty", "spawn"), ("webbrowser", "open"),
    ("torch.serialization", "load"), ("torch", "load"), ("builtins", "getattr"),
    ("__builtin__", "eval"), ("copy_reg", "_reconstructor.__globals__"),
    ("torch.fx.graph_module", "reduce_graph_module"), ("subprocess", "Popen"),
    ("shutil", "rmtree"), ("socket", "create_connection"), ("ctypes", "CDLL"),
])
def test_dangerous_imports_are_critical(module: str, name: str) -> None:
    data = proto(2, b"c" + module.encode() + b"\n" + name.encode() + b"\n" + s("x") + b"\x85R")
    found = scan_bytes(data)
    assert worst(found) == Severity.CRITICAL, (module, name, found)


def test_unknown_import_is_medium_and_names_it() -> None:
    data = proto(4, stack_global("mycompany.models", "Classifier") + b")\x81")
    found = scan_bytes(data)
    assert rules(found) == {"DZ-PKL-002"}
    assert found[0].severity == Severity.MEDIUM
    assert found[0].detail("import") == "mycompany.models.Classifier"


def test_memo_assembled_stack_global() -> None:
    # module and name strings stored in the memo, fetched back for STACK_GLOBAL
    body = s("os") + b"\x94" + s("nothing") + b"\x94" + s("system") + b"\x94"
    body += b"0" + b"h\x00h\x02\x93" + s("true") + b"\x85R"
    found = scan_bytes(proto(4, body))
    assert any(f.detail("import") == "os.system" for f in found)


def test_stack_global_from_computed_value_is_critical() -> None:
    # the module name is the result of a call, unknown until load time
    body = stack_global("builtins", "str") + s("os") + b"\x85R" + s("system") + b"\x93"
    found = scan_bytes(proto(4, body))
    assert "DZ-PKL-004" in rules(found)


def test_dotted_name_walks_into_globals() -> None:
    body = stack_global("collections", "OrderedDict.__init__.__globals__")
    found = scan_bytes(proto(4, body + b")R"))
    assert worst(found) == Severity.CRITICAL


def test_build_setattr_on_imported_class() -> None:
    body = stack_global("collections", "OrderedDict") + b"N}" + s("__reduce__") + s("x") + b"s\x86b"
    found = scan_bytes(proto(4, body))
    assert "DZ-PKL-006" in rules(found)


def test_build_state_with_dunder_key() -> None:
    body = stack_global("collections", "OrderedDict") + b")\x81" + b"}" + s("__class__")
    body += b"Ns" + b"b"
    found = scan_bytes(proto(4, body))
    assert "DZ-PKL-007" in rules(found)


def test_reduce_chain_calls_result_of_call() -> None:
    body = stack_global("collections", "OrderedDict") + b")R" + s("x") + b"\x85R"
    assert "DZ-PKL-011" in rules(scan_bytes(proto(4, body)))


def test_ufunc_reconstruct_import_gadget() -> None:
    body = stack_global("numpy.core", "_ufunc_reconstruct") + s("os") + s("system") + b"\x86R"
    found = scan_bytes(proto(4, body))
    assert "DZ-PKL-005" in rules(found)
    benign = stack_global("numpy.core", "_ufunc_reconstruct") + s("numpy") + s("log1p") + b"\x86R"
    assert worst(scan_bytes(proto(4, benign))) < Severity.MEDIUM


def test_extension_registry_is_flagged() -> None:
    assert "DZ-PKL-008" in rules(scan_bytes(proto(2, b"\x82\x01)R")))


def test_inst_and_obj_opcodes() -> None:
    inst = b"(S'touch x'\nios\nsystem\n."
    assert worst(scan_bytes(inst)) == Severity.CRITICAL
    obj = proto(2, b"(cos\nsystem\nS'touch x'\no")
    assert worst(scan_bytes(obj)) == Severity.CRITICAL


def test_nested_pickle_in_bytes_and_in_text(marker) -> None:  # type: ignore[no-untyped-def]
    inner = pickle.dumps(Payload(marker()), protocol=2)
    outer = pickle.dumps({"blob": inner}, protocol=4)
    found = scan_bytes(outer)
    assert "DZ-PKL-001" in rules(found)
    assert any("<bytes at" in m for f in found for m in f.location.members)
    text = inner.decode("latin-1")
    found = scan_bytes(pickle.dumps({"t": text}, protocol=4))
    assert "DZ-PKL-001" in rules(found)


def test_nested_loader_is_critical() -> None:
    inner = pickle.dumps([1, 2], protocol=2)
    body = stack_global("pickle", "loads") + b"C" + bytes([len(inner)]) + inner + b"\x85R"
    found = scan_bytes(proto(4, body))
    assert "DZ-PKL-003" in rules(found)


def test_second_pickle_in_stream(marker) -> None:  # type: ignore[no-untyped-def]
    data = pickle.dumps({"ok": 1}, protocol=2) + pickle.dumps(Payload(marker()), protocol=2)
    assert "DZ-PKL-001" in rules(scan_bytes(data))


def test_truncated_pickle_keeps_payload_before_the_fault(marker) -> None:  # type: ignore[no-untyped-def]
    data = pickle.dumps([Payload(marker()), list(range(50))], protocol=2)[:-10]
    found = scan_bytes(data)
    assert {"DZ-PKL-001", "DZ-PKL-009"} <= rules(found)


def test_trailing_data_is_info_only() -> None:
    found = scan_bytes(pickle.dumps([1], protocol=4) + b"\x00\x01garbage")
    assert rules(found) == {"DZ-PKL-012"} and worst(found) == Severity.INFO


def test_legacy_torch_stream_stops_before_raw_storage() -> None:
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    parts = [magic, pickle.dumps(1001, protocol=2), pickle.dumps({"little_endian": True},
             protocol=2), pickle.dumps({"w": 1}, protocol=2), pickle.dumps(["0"], protocol=2)]
    raw = struct.pack("<q", 4) + b"\x80\x05garbage-tensor-bytes"
    found = scan_bytes(b"".join(parts) + raw)
    assert worst(found) < Severity.MEDIUM, found


def test_text_file_is_not_a_pickle() -> None:
    assert scan_bytes(b"(this is a README, not a pickle)\n" * 5) == []
    assert scan_bytes(b"cat and dog\nare animals\n") == []


@pytest.mark.parametrize("module,name,verdict", [
    ("torch._utils", "_rebuild_tensor_v2", Verdict.SAFE),
    ("sklearn.linear_model._logistic", "LogisticRegression", Verdict.SAFE),
    ("sklearn.utils._testing", "TempMemmap", Verdict.DANGEROUS),
    ("pandas.io.parsers", "TextFileReader", Verdict.DANGEROUS),
    ("pandas.core.frame", "DataFrame", Verdict.SAFE),
    ("torch.nn.modules.linear", "Linear", Verdict.SAFE),
    ("torch", "float32", Verdict.SAFE),
    ("torch.storage", "_load_from_bytes", Verdict.NESTED_SAFE),
    ("mylib", "thing", Verdict.UNKNOWN),
    ("xgboost.core", "Booster", Verdict.SAFE),
    ("numpy", "float64", Verdict.SAFE),
    ("pandas.core.indexes.base", "_new_Index", Verdict.SAFE),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked", Verdict.SAFE),
    ("pandas", "HDFStore", Verdict.UNKNOWN),
    ("torch.jit._pickle", "build_intlist", Verdict.SAFE),
    ("torch.jit", "load", Verdict.NESTED),
    ("__torch__.torch.nn.modules.linear", "Linear", Verdict.SAFE),
    ("dill._dill", "_create_array", Verdict.SAFE),
    ("dill._dill", "_create_code", Verdict.DANGEROUS),
    ("dill._dill", "_import_module", Verdict.DANGEROUS),
])

def test_judge(module: str, name: str, verdict: Verdict) -> None:
    assert judge(module, name).verdict is verdict


def test_real_pandas_and_joblib_files_are_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pd = pytest.importorskip("pandas")
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "t": pd.to_datetime(["2024-01-01"] * 2)})
    assert worst(scan_bytes(pickle.dumps(frame, protocol=5))) < Severity.MEDIUM
    obj = {"w": np.arange(1000, dtype=np.float64), "o": np.array([{"k": 1}, None], dtype=object),
           "s": np.array(["ab", "cde"])}
    for compress in (0, 3, ("lzma", 3), ("gzip", 3), ("bz2", 3), ("xz", 3)):
        path = tmp_path / f"m{hash(compress)}.joblib"
        joblib.dump(obj, path, compress=compress)
        found = scan_bytes(path.read_bytes())
        assert worst(found) < Severity.MEDIUM, (compress, found)


def test_getattr_is_allowed_only_for_zoneinfo_unpickle() -> None:
    zone = stack_global("builtins", "getattr") + stack_global("zoneinfo", "ZoneInfo")
    zone += s("_unpickle") + b"\x86R" + s("Europe/Berlin") + b"K\x01\x86R"
    assert worst(scan_bytes(proto(4, zone))) < Severity.MEDIUM
    other = stack_global("builtins", "getattr") + stack_global("zoneinfo", "ZoneInfo")
    other += s("__init__") + b"\x86R"
    assert worst(scan_bytes(proto(4, other))) == Severity.CRITICAL
    # getattr handed to an allowed function that would call it
    passed = stack_global("torch._tensor", "_rebuild_from_type_v2") + b"("
    passed += stack_global("builtins", "getattr") + stack_global("torch", "Tensor")
    passed += b")Nt" + b"R"
    assert worst(scan_bytes(proto(4, passed))) == Severity.CRITICAL


def test_real_timezone_dataframe_is_clean() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=3, tz="Europe/Berlin")})
    assert worst(scan_bytes(pickle.dumps(frame, protocol=5))) < Severity.MEDIUM


def test_scipy_exec_template_in_state_is_flagged() -> None:
    body = stack_global("scipy.stats._continuous_distns", "norm_gen") + b")\x81"
    body += b"}" + s("_parse_arg_template") + s("import os") + b"sb"
    assert "DZ-PKL-007" in rules(scan_bytes(proto(4, body)))
    body = stack_global("statsmodels.distributions.edgeworth", "ExpandedNormal") + b")\x81."
    assert worst(scan_bytes(proto(4, body[:-1]))) == Severity.CRITICAL


def test_array_bytes_are_not_probed_as_pickles() -> None:
    import random
    import time

    rng = random.Random(7)
    blobs = [bytes([b"(]}c"[i % 4]]) + rng.randbytes(200_000) for i in range(40)]
    data = pickle.dumps(blobs, protocol=4)
    start = time.perf_counter()
    found = scan_bytes(data)
    assert worst(found) < Severity.MEDIUM
    assert not any(f.location.members for f in found)
    assert time.perf_counter() - start < 2.0


def test_arrow_backed_pandas_and_arrow_tables_are_clean() -> None:
    """pandas 3 with pyarrow pickles strings as Arrow arrays (pyarrow.lib reconstructors)."""
    pa = pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    objects = [
        pa.table({"a": [1, 2], "s": ["x", "y"], "l": [[1], [2]],
                  "d": pa.array([1.5, 2.5]).dictionary_encode()}),
        pa.record_batch({"a": [1]}), pa.schema([("a", pa.int32())]), pa.scalar(1),
        pd.DataFrame({"s": pd.array(["a", "b"], dtype="string[pyarrow]"),
                      "i": pd.array([1, None], dtype="int64[pyarrow]")}),
    ]
    for obj in objects:
        for protocol in (2, 5):
            assert worst(scan_bytes(pickle.dumps(obj, protocol=protocol))) < Severity.MEDIUM
