"""safetensors files: header sanity, because the format itself cannot run code.

Why: safetensors is the safe replacement for pickle-based checkpoints; nothing in it is
executed. What remains is the JSON header that readers (Rust, Python, C++, JS) trust
to slice the data buffer. A crafted header can point tensors past the end of the file,
make them overlap or leave gaps (room to smuggle a second payload, a polyglot), declare
sizes that disagree with shape and dtype, or repeat a key so that two parsers see
different tensors. We check the header the way the reference implementation
validates it and report each class of problem once per file, never reading tensor data.

Rules:

- DZ-ST-001 MEDIUM: malformed header (too short, over the format's 100 MB header limit,
  not UTF-8, not JSON, not an object, wrong field types, unknown dtype).
- DZ-ST-002 HIGH: data_offsets out of range, past the end, reversed, overlapping, or not
  covering the data buffer contiguously (gaps, trailing bytes).
- DZ-ST-003 MEDIUM: byte length differs from prod(shape) x dtype size (sub-byte dtypes
  counted in bits, as the reference does).
- DZ-ST-004 LOW: ``__metadata__`` values that are not strings (the format says str->str).
- DZ-ST-005 HIGH: duplicate keys in the JSON header (parser differential).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, Buffer, ScanContext, finding, printable

SCANNER = "safetensors"
MAX_HEADER_BYTES = 100_000_000
"""The reference implementation refuses larger headers."""
_U64_MAX = (1 << 64) - 1
_HUGE = 1 << 80
_EXAMPLES = 3

DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}
"""Bits per element of every dtype the format defines."""


class _Duplicates:
    """An ``object_pairs_hook`` that builds dicts and remembers repeated keys."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out and len(self.keys) < 100:
                self.keys.append(key)
            out[key] = value
        return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _header_length(data: Buffer) -> int | None:
    if len(data) < 8:
        return None
    return int(struct.unpack_from("<Q", data, 0)[0])


def looks_like_safetensors(data: Buffer) -> bool:
    """True if `data` starts with a safetensors header (length, '{', a JSON object)."""
    n = _header_length(data)
    if n is None or n < 2 or n > MAX_HEADER_BYTES or n > len(data) - 8 or data[8] != 0x7B:
        return False
    try:
        header = json.loads(bytes(data[8 : 8 + n]).decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return isinstance(header, dict)


def _is_uint(value: object) -> bool:
    return type(value) is int and 0 <= value <= _U64_MAX


def scan_safetensors(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Validate a safetensors header; yields findings, never raises on bad input."""
    data = blob.data
    n = _header_length(data)
    if n is None:
        yield _malformed(blob, f"file of {len(data)} bytes is shorter than the 8-byte length")
        return
    if n > MAX_HEADER_BYTES:
        yield _malformed(blob, f"header length {n} exceeds the format's limit of 100 MB")
        return
    if n + 8 > len(data):
        yield _malformed(blob, f"header length {n} runs past the end of the {len(data)}-byte file")
        return
    raw = bytes(data[8 : 8 + n])
    ctx.check_time()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield _malformed(blob, f"header is not UTF-8 (byte {exc.start})")
        return
    if not text.startswith("{"):
        yield _malformed(blob, f"header does not start with '{{': {printable(text[:40])}")
    dups = _Duplicates()
    try:
        header = json.loads(text, object_pairs_hook=dups, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        yield _malformed(blob, f"header is not valid JSON: {printable(str(exc), 160)}")
        return
    ctx.check_time()
    if dups.keys:
        yield finding(
            "DZ-ST-005",
            "Duplicate keys in the safetensors header",
            Severity.HIGH,
            blob.location.at(offset=8),
            evidence=f"{len(dups.keys)} repeated: "
            + ", ".join(printable(k, 60) for k in dups.keys[:_EXAMPLES]),
            remediation=(
                "Readers disagree on which copy wins (first or last), so different tools "
                "load different tensors; treat the file as crafted and re-export it."
            ),
            scanner=SCANNER,
            details={"keys": ",".join(dups.keys[:20])[:500]},
        )
    if not isinstance(header, dict):
        yield _malformed(blob, f"header is a JSON {type(header).__name__}, not an object")
        return
    yield from _check_entries(blob, ctx, header, len(data) - 8 - n)


def _check_entries(
    blob: Blob, ctx: ScanContext, header: dict[str, Any], data_len: int
) -> Iterator[Finding]:
    bad: list[str] = []
    spans: list[tuple[int, int, str]] = []
    reversed_or_out: list[str] = []
    size_mismatch: list[str] = []
    for i, (name, info) in enumerate(header.items()):
        if i & 0xFFF == 0:
            ctx.check_time()
        if name == "__metadata__":
            yield from _check_metadata(blob, info)
            continue
        label = printable(name, 60)
        if not isinstance(info, dict):
            bad.append(f"{label}: entry is a {type(info).__name__}")
            continue
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_uint(o) for o in offsets)
        ):
            bad.append(f"{label}: data_offsets {printable(repr(offsets), 40)} are not [begin, end]")
            continue
        begin, end = offsets
        if begin > end or end > data_len:
            reversed_or_out.append(f"{label} [{begin}, {end}) of {data_len} data bytes")
            continue
        spans.append((begin, end, name))
        if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
            bad.append(f"{label}: unknown dtype {printable(repr(dtype), 40)}")
            continue
        if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
            bad.append(f"{label}: shape {printable(repr(shape), 40)} is not a list of sizes")
            continue
        count = 1
        for d in shape:
            count = min(count * d, _HUGE)  # cap: longer shapes cannot match any file
        bits = count * DTYPE_BITS[dtype]
        if bits % 8:
            size_mismatch.append(f"{label}: {count} x {dtype} is not a whole number of bytes")
        elif bits // 8 != end - begin:
            size_mismatch.append(
                f"{label}: {dtype}{shape} needs {bits // 8} bytes, offsets give {end - begin}"
            )
    if bad:
        yield _malformed(blob, f"{len(bad)} bad tensor entr(ies): " + "; ".join(bad[:_EXAMPLES]))
    yield from _check_layout(blob, spans, reversed_or_out, data_len)
    if size_mismatch:
        yield finding(
            "DZ-ST-003",
            "safetensors tensor size disagrees with its shape and dtype",
            Severity.MEDIUM,
            blob.location.at(offset=8),
            evidence=f"{len(size_mismatch)} tensor(s): " + "; ".join(size_mismatch[:_EXAMPLES]),
            remediation=(
                "Readers reject or misread such tensors; re-export the file from its source."
            ),
            scanner=SCANNER,
            details={"tensors": str(len(size_mismatch))},
        )


def _check_layout(
    blob: Blob, spans: list[tuple[int, int, str]], out_of_range: list[str], data_len: int
) -> Iterator[Finding]:
    """The reference requires tensors to tile the data buffer exactly, in offset order."""
    problems = list(out_of_range)
    spans.sort()
    expected = 0
    holder = ""
    for begin, end, name in spans:
        if begin < expected:
            problems.append(
                f"{printable(name, 60)} [{begin}, {end}) overlaps {printable(holder, 60)}"
            )
        elif begin > expected:
            problems.append(f"gap of {begin - expected} bytes before {printable(name, 60)}")
        if end > expected:
            expected, holder = end, name
    if expected < data_len and not out_of_range:
        problems.append(f"{data_len - expected} trailing bytes not covered by any tensor")
    if problems:
        yield finding(
            "DZ-ST-002",
            "safetensors data_offsets do not tile the data buffer",
            Severity.HIGH,
            blob.location.at(offset=8),
            evidence=f"{len(problems)} problem(s): " + "; ".join(problems[:_EXAMPLES]),
            remediation=(
                "Offsets past the end, overlaps and uncovered bytes are never written by "
                "safetensors itself; they hide data or target reader bugs. Do not load the "
                "file; re-export it from a trusted source."
            ),
            scanner=SCANNER,
            details={"problems": str(len(problems))},
        )


def _check_metadata(blob: Blob, info: object) -> Iterator[Finding]:
    if not isinstance(info, dict):
        yield _malformed(blob, f"__metadata__ is a {type(info).__name__}, not an object")
        return
    odd = [k for k, v in info.items() if not isinstance(v, str)]
    if odd:
        yield finding(
            "DZ-ST-004",
            "safetensors __metadata__ has non-string values",
            Severity.LOW,
            blob.location.at(offset=8),
            evidence=f"{len(odd)} key(s): " + ", ".join(printable(k, 60) for k in odd[:_EXAMPLES]),
            remediation=(
                "The format defines __metadata__ as string to string; strict readers reject "
                "other values. Store nested data as a JSON string."
            ),
            scanner=SCANNER,
        )


def _malformed(blob: Blob, message: str) -> Finding:
    return finding(
        "DZ-ST-001",
        "Malformed safetensors header",
        Severity.MEDIUM,
        blob.location.at(offset=0),
        evidence=printable(message, 300),
        remediation=(
            "The file does not follow the safetensors format; re-export it from its source "
            "and do not load it with lenient readers."
        ),
        scanner=SCANNER,
    )
