""".npy scanner: hand-built headers, numpy's own writer, and the object-array hand-off."""

from __future__ import annotations

import ast
import io
import struct
from collections.abc import Iterator

import pytest

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext
from dozor.scan.models.numpy_scan import scan_npy


def npy(header: str, data: bytes = b"", version: tuple[int, int] = (1, 0)) -> bytes:
    fmt = "<H" if version == (1, 0) else "<I"
    raw = header.encode("utf8" if version == (3, 0) else "latin1")
    total = 6 + 2 + struct.calcsize(fmt) + len(raw) + 1
    raw += b" " * (-total % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(raw)) + raw + data


class Recorder:
    """A stand-in for the engine's dispatch: records what it was handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, str | None, tuple[str, ...], str]] = []

    def __call__(self, blob: Blob, ctx: ScanContext, kind: str | None) -> Iterator[Finding]:
        self.calls.append((bytes(blob.data), kind, blob.location.members, blob.parent))
        return iter(())


def scan(data: bytes, recorder: Recorder | None = None) -> list[Finding]:
    ctx = ScanContext(dispatch=recorder or Recorder())
    return list(scan_npy(Blob(data, Location("a.npy")), ctx))


def rules(findings: list[Finding]) -> dict[str, Severity]:
    return {f.rule_id: f.severity for f in findings}


F8_HEADER = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_plain_array_has_no_findings(version: tuple[int, int]) -> None:
    assert scan(npy(F8_HEADER, b"\0" * 48, version)) == []


@pytest.mark.parametrize(
    ("descr", "shape", "itemsize"),
    [
        ("'|b1'", "(3,)", 1),
        ("'<U5'", "(2,)", 20),
        ("'|S7'", "()", 7),
        ("'<M8[ns]'", "(4,)", 8),
        ("'<c16'", "(1, 1)", 16),
        ("[('x', '<i4'), ('y', '<f8', (2,))]", "(3,)", 20),
        ("[('a', [('b', '<u2'), ('c', '|u1')]), ('', '|V1')]", "(2,)", 4),
        ("'<f4'", "(0, 5)", 4),
    ],
)
def test_itemsize_of_common_dtypes(descr: str, shape: str, itemsize: int) -> None:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}"
    count = 1
    for d in ast.literal_eval(shape):
        count *= d
    assert scan(npy(header, b"\0" * (count * itemsize))) == []
    if count:
        assert rules(scan(npy(header, b"\0" * (count * itemsize - 1)))) == {
            "DZ-NPY-003": Severity.MEDIUM
        }


def test_truncated_and_trailing_data() -> None:
    assert rules(scan(npy(F8_HEADER, b"\0" * 47))) == {"DZ-NPY-003": Severity.MEDIUM}
    trailing = scan(npy(F8_HEADER, b"\0" * 48 + b"PK\x03\x04hidden"))
    assert rules(trailing) == {"DZ-NPY-003": Severity.LOW}
    assert "10 trailing bytes" in trailing[0].evidence


def test_python2_long_literals_are_accepted_in_v1() -> None:
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 1L), }"
    assert scan(npy(header, b"\0" * 16)) == []
    assert "DZ-NPY-001" in rules(scan(npy(header, b"\0" * 16, (3, 0))))


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "magic"),
        (b"\x93NUMPX\x01\x00" + b"\0" * 10, "magic"),
        (b"\x93NUMPY\x04\x00" + b"\0" * 10, "version"),
        (b"\x93NUMPY\x01\x00\xff\xff{}", "past the end"),
        (b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 30) + b"{}", "limit"),
        (npy("[1, 2, 3]"), "not a dict"),
        (npy("{'descr': '<f8', 'shape': (1,)}"), "keys"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"), "keys"),
        (npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}"), "repeat"),
        (npy("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}"), "fortran_order"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}"), "shape"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': [1]}"), "shape"),
        (npy("{'descr': 5, 'fortran_order': False, 'shape': (1,)}"), "descr"),
        (npy("{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': ()}"), ""),
        (
            npy("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 100 + ")" * 100 + "}"),
            "",
        ),
        (npy("{**x, 'descr': '<f8'}"), ""),
        (npy("{1: 2}"), "non-string key"),
        (b"\x93NUMPY\x03\x00" + struct.pack("<I", 2) + b"\xff\xfe", "utf8"),
    ],
)
def test_malformed_headers(data: bytes, needle: str) -> None:
    found = scan(data)
    assert rules(found) == {"DZ-NPY-001": Severity.MEDIUM}
    assert needle in found[0].evidence


@pytest.mark.parametrize(
    "descr",
    [
        "'|O'",
        "'O'",
        "'object'",
        "[('a', '<f8'), ('b', '|O')]",
        "[('outer', [('inner', '|O')])]",
        "[('a', '|O', (2,))]",
        "('|O', (3,))",
    ],
)
def test_object_arrays_hand_the_pickle_to_the_pickle_scanner(descr: str) -> None:
    payload = b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n."
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}"
    data = npy(header, payload)
    recorder = Recorder()
    found = scan(data, recorder)
    assert [(f.rule_id, f.severity) for f in found] == [("DZ-NPY-002", Severity.INFO)]
    assert recorder.calls == [(payload, "pickle", ("<object array pickle>",), "npy")]


def test_field_names_with_capital_o_are_not_objects() -> None:
    header = "{'descr': [('Origin', '<f4')], 'fortran_order': False, 'shape': (1,), }"
    recorder = Recorder()
    assert scan(npy(header, b"\0" * 4), recorder) == []
    assert recorder.calls == []


def test_every_truncation_is_handled() -> None:
    data = npy(F8_HEADER, b"\0" * 48)
    for cut in range(len(data)):
        found = scan(data[:cut])
        assert found, cut
        assert all(f.rule_id in ("DZ-NPY-001", "DZ-NPY-003") for f in found)


def test_real_numpy_files() -> None:
    np = pytest.importorskip("numpy")
    arrays = [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.asfortranarray(np.ones((2, 5), dtype=np.int16)),
        np.array(["ab", "cde"]),
        np.zeros(3, dtype=[("x", "<i4"), ("y", "<f8", (2,)), ("s", "S3")]),
        np.zeros(
            2, dtype=np.dtype({"names": ["a", "b"], "formats": ["u1", "<f8"], "offsets": [0, 8]})
        ),
        np.array(np.datetime64("2024-01-01", "D")),
        np.array([], dtype=np.complex128),
        np.ones((2, 2), dtype=">u4"),
    ]
    for array in arrays:
        buf = io.BytesIO()
        np.save(buf, array)
        assert scan(buf.getvalue()) == [], array.dtype
    big_header = np.zeros(1, dtype=[(f"field{i}", "<f4") for i in range(300)])
    buf = io.BytesIO()
    np.lib.format.write_array(buf, big_header, version=(2, 0))
    assert scan(buf.getvalue()) == []


def test_real_object_array() -> None:
    np = pytest.importorskip("numpy")
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    recorder = Recorder()
    found = scan(buf.getvalue(), recorder)
    assert [f.rule_id for f in found] == ["DZ-NPY-002"]
    ((payload, kind, _members, _parent),) = recorder.calls
    assert kind == "pickle" and payload.startswith(b"\x80")
    assert payload.endswith(b".")  # a whole pickle stream, STOP at the end
