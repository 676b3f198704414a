""".npy arrays: a plain header, and a pickle behind it when the dtype holds objects.

Why: ``numpy.load`` reads a Python-literal header and then either raw array bytes or,
for object arrays, a pickle (``allow_pickle=True``), which runs code on load. Loaders
that pass ``allow_pickle=True`` (many do, to get dicts out of .npy/.npz files) are
exposed. We parse the header without evaluating anything: the magic, the version, a
bounded header length, then ``ast.parse`` to check that the header is a dict literal
with exactly the expected keys before ``ast.literal_eval`` reads it. If the dtype
contains an object field anywhere, the rest of the file goes to the pickle scanner;
otherwise we check that the data size matches the shape.

Rules:

- DZ-NPY-001 MEDIUM: malformed header (magic, version, length, not a dict literal,
  wrong keys or value types).
- DZ-NPY-002 INFO: object array; loading needs ``allow_pickle=True``, and the pickle
  itself is scanned as a nested member ``<object array pickle>``.
- DZ-NPY-003 MEDIUM when the data is shorter than shape x itemsize (truncated), LOW when
  bytes trail the array (numpy ignores them; a place to hide a payload).
"""

from __future__ import annotations

import ast
import re
import struct
from collections.abc import Iterator

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, Buffer, ScanContext, finding, printable

SCANNER = "numpy"
MAGIC = b"\x93NUMPY"
MAX_HEADER_BYTES = 1 << 20
"""We parse headers up to this size; numpy's own default limit is 10,000 characters."""
_MAX_NESTING = 32
_MAX_DIMS = 64
_EXPECTED_KEYS = frozenset({"descr", "fortran_order", "shape"})
_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}
_PY2_LONG = re.compile(r"\b(\d+)L\b")
_TYPESTR = re.compile(r"^[<>|=]?([?bBhHiIlLqQpPeEfdgFDGSUVaucOMm])(\d*)(?:\[\w+\])?$")
_HUGE = 1 << 80


class _BadHeader(Exception):
    """The header is malformed; the message says how."""


def scan_npy(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Check a .npy header; send an object array's pickle to the pickle scanner."""
    data = blob.data
    try:
        descr, shape, data_start = _read_header(data)
    except _BadHeader as exc:
        yield finding(
            "DZ-NPY-001",
            "Malformed .npy header",
            Severity.MEDIUM,
            blob.location.at(offset=0),
            evidence=printable(str(exc), 200),
            remediation="The file is not a valid .npy array; re-create it from its source.",
            scanner=SCANNER,
        )
        return
    ctx.check_time()
    if _has_object(descr, 0):
        yield finding(
            "DZ-NPY-002",
            "Object array: loading needs allow_pickle=True",
            Severity.INFO,
            blob.location.at(offset=data_start),
            evidence=f"descr {printable(repr(descr), 100)}, shape {printable(repr(shape), 60)}",
            remediation=(
                "numpy.load runs the embedded pickle when allow_pickle=True; load object "
                "arrays only from trusted sources, or store plain numeric arrays instead."
            ),
            scanner=SCANNER,
            details={"descr": printable(repr(descr), 200)},
        )
        yield from ctx.scan_nested(
            data[data_start:], blob, "<object array pickle>", kind="pickle", container="npy"
        )
        return
    itemsize = _itemsize(descr, 0)
    if itemsize is None:
        return  # a dtype spelling we do not model; numpy would still check it
    count = 1
    for d in shape:
        count = min(count * d, _HUGE)
    expected = count * itemsize
    actual = len(data) - data_start
    if actual < expected:
        yield finding(
            "DZ-NPY-003",
            "Truncated .npy array: less data than the shape needs",
            Severity.MEDIUM,
            blob.location.at(offset=data_start),
            evidence=f"shape {printable(repr(shape), 60)} x {itemsize} bytes = {expected}, "
            f"file has {actual}",
            remediation="numpy.load fails on this file; re-create it from its source.",
            scanner=SCANNER,
        )
    elif actual > expected:
        yield finding(
            "DZ-NPY-003",
            "Bytes after the end of the .npy array",
            Severity.LOW,
            blob.location.at(offset=data_start + expected),
            evidence=f"{actual - expected} trailing bytes after {expected} bytes of array data",
            remediation=(
                "numpy ignores trailing bytes, so they can carry a hidden payload for another "
                "reader; re-save the array to drop them."
            ),
            scanner=SCANNER,
        )


def _read_header(data: Buffer) -> tuple[object, tuple[int, ...], int]:
    """Return (descr, shape, offset of the array data) or raise _BadHeader."""
    size = len(data)
    if size < 10 or bytes(data[:6]) != MAGIC:
        raise _BadHeader("missing \\x93NUMPY magic")
    version = (data[6], data[7])
    if version not in _VERSIONS:
        raise _BadHeader(f"unsupported format version {version[0]}.{version[1]}")
    fmt, encoding = _VERSIONS[version]
    width = struct.calcsize(fmt)
    if size < 8 + width:
        raise _BadHeader("truncated before the header length")
    (hlen,) = struct.unpack_from(fmt, data, 8)
    start = 8 + width
    if hlen > MAX_HEADER_BYTES:
        raise _BadHeader(f"header length {hlen} exceeds the limit of {MAX_HEADER_BYTES}")
    if start + hlen > size:
        raise _BadHeader(f"header length {hlen} runs past the end of the file")
    try:
        text = bytes(data[start : start + hlen]).decode(encoding)
    except UnicodeDecodeError as exc:
        raise _BadHeader(f"header is not {encoding}") from exc
    descr, shape = _parse_dict(text, version)
    return descr, shape, start + hlen


def _parse_dict(text: str, version: tuple[int, int]) -> tuple[object, tuple[int, ...]]:
    _check_nesting(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        # numpy still accepts Python 2 long literals (``3L``) in version 1 and 2 headers
        if version > (2, 0):
            raise _BadHeader("header is not a Python literal") from exc
        try:
            tree = ast.parse(_PY2_LONG.sub(r"\1", text).strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc2:
            raise _BadHeader("header is not a Python literal") from exc2
    body = tree.body
    if not isinstance(body, ast.Dict):
        raise _BadHeader(f"header is a {type(body).__name__}, not a dict literal")
    keys: list[object] = []
    for key in body.keys:
        if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
            raise _BadHeader("header dict has a non-string key")
        keys.append(key.value)
    if len(keys) != len(set(keys)):
        raise _BadHeader(f"header repeats a key: {keys!r}")
    if set(keys) != _EXPECTED_KEYS:
        raise _BadHeader(
            f"header keys are {sorted(map(str, keys))!r}, not descr/fortran_order/shape"
        )
    try:
        header = ast.literal_eval(body)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as exc:
        raise _BadHeader("header values are not literals") from exc
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise _BadHeader(f"shape {printable(repr(shape), 60)} is not a tuple of sizes")
    if len(shape) > _MAX_DIMS:
        raise _BadHeader(f"shape has {len(shape)} dimensions")
    if not isinstance(header["fortran_order"], bool):
        raise _BadHeader("fortran_order is not a bool")
    descr = header["descr"]
    if not _valid_descr(descr, 0):
        raise _BadHeader(f"descr {printable(repr(descr), 80)} is not a dtype description")
    return descr, shape


def _check_nesting(text: str) -> None:
    """Refuse deeply nested brackets before the recursive parser sees them."""
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            if depth > _MAX_NESTING:
                raise _BadHeader(f"header nests deeper than {_MAX_NESTING}")
        elif ch in ")]}":
            depth -= 1


def _valid_descr(descr: object, depth: int) -> bool:
    """The shapes numpy's descr_to_dtype accepts: str, (descr, shape), [fields]."""
    if depth > _MAX_NESTING:
        return False
    if isinstance(descr, str):
        return True
    if isinstance(descr, tuple):
        return len(descr) == 2 and _valid_descr(descr[0], depth + 1)
    if isinstance(descr, list):
        for field in descr:
            if not isinstance(field, tuple) or len(field) not in (2, 3):
                return False
            if not isinstance(field[0], (str, tuple)):
                return False
            if not _valid_descr(field[1], depth + 1):
                return False
        return True
    return False


def _has_object(descr: object, depth: int) -> bool:
    """Whether a dtype description holds Python objects anywhere (so a pickle follows)."""
    if depth > _MAX_NESTING:
        return True
    if isinstance(descr, str):
        # 'O', '|O', 'O8', 'object', and comma-separated forms such as 'i4,O'
        return "O" in descr or "object" in descr.lower()
    if isinstance(descr, tuple):
        return _has_object(descr[0], depth + 1)
    if isinstance(descr, list):
        return any(
            _has_object(field[1], depth + 1)
            for field in descr
            if isinstance(field, tuple) and len(field) >= 2
        )
    return True


def _itemsize(descr: object, depth: int) -> int | None:
    """Bytes per element for the descr spellings numpy writes; None if not modelled."""
    if depth > _MAX_NESTING:
        return None
    if isinstance(descr, str):
        return _typestr_size(descr)
    if isinstance(descr, tuple):
        base = _itemsize(descr[0], depth + 1)
        return None if base is None else _times_shape(base, descr[1])
    if isinstance(descr, list):
        total = 0
        for field in descr:
            size = _itemsize(field[1], depth + 1)
            if size is None:
                return None
            if len(field) == 3:
                size = _times_shape(size, field[2])
                if size is None:
                    return None
            total += size
        return total
    return None


def _times_shape(size: int, shape: object) -> int | None:
    if type(shape) is int:
        shape = (shape,)
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        return None
    for d in shape:
        size = min(size * d, _HUGE)
    return size


def _typestr_size(text: str) -> int | None:
    match = _TYPESTR.match(text)
    if match is None:
        return None
    code, digits = match.group(1), match.group(2)
    fixed = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "e": 2, "f": 4, "d": 8, "F": 8, "D": 16}
    if code in ("M", "m"):
        return 8
    if digits:
        n = int(digits)
        if code == "U":
            return 4 * n
        if code in "SVabiufc":
            return n
        return None
    if code in ("S", "U", "V", "a"):
        return 0
    return fixed.get(code)
