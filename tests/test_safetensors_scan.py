"""safetensors scanner: hand-built headers, plus real files when `safetensors` is installed."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext
from dozor.scan.models.safetensors import DTYPE_BITS, looks_like_safetensors, scan_safetensors


def build(header: object | str, data: bytes = b"", *, pad: bool = True) -> bytes:
    text = header if isinstance(header, str) else json.dumps(header)
    raw = text.encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def scan(data: bytes) -> list[Finding]:
    return list(scan_safetensors(Blob(data, Location("m.safetensors")), ScanContext()))


def rules(findings: list[Finding]) -> dict[str, Severity]:
    return {f.rule_id: f.severity for f in findings}


GOOD_HEADER = {
    "__metadata__": {"format": "pt"},
    "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [24, 30]},
    "f4": {"dtype": "F4", "shape": [4, 2], "data_offsets": [30, 34]},
    "f6": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [34, 37]},
    "f8": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [37, 39]},
    "scalar": {"dtype": "I64", "shape": [], "data_offsets": [39, 47]},
    "empty": {"dtype": "F16", "shape": [0, 5], "data_offsets": [47, 47]},
}


def good() -> bytes:
    return build(GOOD_HEADER, b"\0" * 47)


def test_benign_file_has_no_findings_and_is_recognised() -> None:
    data = good()
    assert scan(data) == []
    assert looks_like_safetensors(data)
    assert scan(build({}, b"")) == []  # no tensors at all


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x05\0\0\0\0\0\0\0{}",
        struct.pack("<Q", 10**9) + b"{}",
        struct.pack("<Q", 2) + b"[]",
        struct.pack("<Q", 4) + b"{\xff}",
        b"PK\x03\x04" + b"\0" * 30,
    ],
)
def test_looks_like_safetensors_rejects(data: bytes) -> None:
    assert not looks_like_safetensors(data)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\x01\x02", "shorter than"),
        (struct.pack("<Q", 100_000_001) + b"{}", "100 MB"),
        (struct.pack("<Q", 50) + b"{}", "past the end"),
        (struct.pack("<Q", 4) + b"{\xff\xfe}", "UTF-8"),
        (build("{not json"), "not valid JSON"),
        (build("[1, 2]"), "not an object"),
        (build('{"a": NaN}'), "not valid JSON"),
        (build({"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 1]}}, b"\0"), "dtype"),
        (build({"w": {"dtype": "U8", "shape": "1", "data_offsets": [0, 1]}}, b"\0"), "shape"),
        (build({"w": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}}, b"\0"), "shape"),
        (build({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0]}}, b"\0"), "offsets"),
        (build({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1.0]}}, b"\0"), "offsets"),
        (build({"w": [1, 2]}, b""), "entry is a list"),
        (build({"__metadata__": ["x"]}), "__metadata__"),
    ],
)
def test_malformed_headers(data: bytes, needle: str) -> None:
    found = scan(data)
    st001 = [f for f in found if f.rule_id == "DZ-ST-001"]
    assert st001 and st001[0].severity == Severity.MEDIUM
    assert needle in " ".join(f.evidence for f in st001)


def test_header_not_starting_with_brace_is_reported_but_still_checked() -> None:
    data = build(' {"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 9]}}', b"\0\0")
    assert rules(scan(data)) == {"DZ-ST-001": Severity.MEDIUM, "DZ-ST-002": Severity.HIGH}


@pytest.mark.parametrize(
    ("tensors", "data_len", "needle"),
    [
        ({"a": [0, 100]}, 4, "of 4 data bytes"),  # past the end
        ({"a": [3, 1]}, 4, "[3, 1)"),  # begin > end
        ({"a": [0, 4], "b": [2, 6]}, 6, "overlaps"),
        ({"a": [0, 2], "b": [4, 6]}, 6, "gap of 2 bytes"),
        ({"a": [2, 4]}, 4, "gap of 2 bytes"),
        ({"a": [0, 2]}, 6, "4 trailing bytes"),
        ({"a": [0, 2**64 - 1]}, 4, "of 4 data bytes"),
    ],
)
def test_offset_layout_problems_are_high(
    tensors: dict[str, list[int]], data_len: int, needle: str
) -> None:
    header = {
        name: {"dtype": "U8", "shape": [max(end - begin, 0)], "data_offsets": [begin, end]}
        for name, (begin, end) in tensors.items()
    }
    found = [f for f in scan(build(header, b"\0" * data_len)) if f.rule_id == "DZ-ST-002"]
    assert found and found[0].severity == Severity.HIGH
    assert needle in found[0].evidence


def test_trailing_payload_after_tensors_is_high() -> None:
    # a pickle or zip appended after the last tensor: a polyglot
    header = {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    data = build(header, b"\0" * 4 + b"\x80\x04cos\nsystem\n.")
    assert rules(scan(data)) == {"DZ-ST-002": Severity.HIGH}


@pytest.mark.parametrize(
    ("dtype", "shape", "nbytes", "ok"),
    [
        ("F32", [2, 3], 24, True),
        ("F32", [2, 3], 20, False),
        ("F4", [3, 2], 3, True),
        ("F4", [3], 2, False),  # 12 bits: not a whole number of bytes
        ("F6_E3M2", [4], 3, True),
        ("F6_E2M3", [2], 2, False),
        ("F8_E5M2", [7], 7, True),
        ("F8_E8M0", [7], 8, False),
        ("C64", [2], 16, True),
        ("BOOL", [3], 3, True),
    ],
)
def test_size_mismatch(dtype: str, shape: list[int], nbytes: int, ok: bool) -> None:
    header = {"t": {"dtype": dtype, "shape": shape, "data_offsets": [0, nbytes]}}
    found = rules(scan(build(header, b"\0" * nbytes)))
    assert found == ({} if ok else {"DZ-ST-003": Severity.MEDIUM})


def test_huge_shape_is_cheap_and_mismatched() -> None:
    header = {"t": {"dtype": "F64", "shape": [2**63] * 5000, "data_offsets": [0, 8]}}
    assert rules(scan(build(header, b"\0" * 8))) == {"DZ-ST-003": Severity.MEDIUM}


def test_metadata_with_non_string_values_is_low() -> None:
    header = {"__metadata__": {"format": "pt", "epochs": 3, "cfg": {"a": 1}}}
    found = scan(build(header))
    assert rules(found) == {"DZ-ST-004": Severity.LOW}
    assert "epochs" in found[0].evidence


def test_duplicate_keys_are_high() -> None:
    text = (
        '{"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},'
        ' "w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}'
    )
    found = scan(build(text, b"\0" * 4))
    assert rules(found)["DZ-ST-005"] == Severity.HIGH
    nested = '{"w": {"dtype": "U8", "dtype": "F32", "shape": [4], "data_offsets": [0, 4]}}'
    assert "DZ-ST-005" in rules(scan(build(nested, b"\0" * 4)))


def test_every_truncation_is_handled() -> None:
    data = good()
    for cut in range(len(data)):
        found = scan(data[:cut])
        assert found, cut
        assert all(f.rule_id in ("DZ-ST-001", "DZ-ST-002") for f in found)


def test_dtype_table_covers_the_installed_library() -> None:
    safetensors = pytest.importorskip("safetensors")
    # every dtype the library accepts in a header must be known to us with its size
    for dtype, bits in DTYPE_BITS.items():
        count = 8
        header = {"t": {"dtype": dtype, "shape": [count], "data_offsets": [0, count * bits // 8]}}
        data = build(header, b"\0" * (count * bits // 8))
        try:
            safetensors.deserialize(data)
        except Exception as exc:  # noqa: BLE001 - older releases lack the newest dtypes
            if "dtype" in str(exc).lower() or "variant" in str(exc).lower():
                continue
            raise
        assert scan(data) == [], dtype


def test_real_writer_output_is_clean(tmp_path: Path) -> None:
    st_numpy = pytest.importorskip("safetensors.numpy")
    np = pytest.importorskip("numpy")
    tensors = {
        "embed": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "bias": np.ones(5, dtype=np.float16),
        "ids": np.arange(7, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "u8": np.zeros((0, 3), dtype=np.uint8),
    }
    path = tmp_path / "m.safetensors"
    st_numpy.save_file(tensors, str(path), metadata={"format": "np", "note": "x"})
    data = path.read_bytes()
    assert looks_like_safetensors(data)
    assert scan(data) == []
    assert scan(st_numpy.save(tensors)) == []
