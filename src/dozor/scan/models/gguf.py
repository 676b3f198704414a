"""GGUF (llama.cpp) model files: header sanity and the embedded chat template.

Why: a GGUF file has no code of its own, but it carries a Jinja2 chat template
(``tokenizer.chat_template`` and ``tokenizer.chat_template.<name>``) that runtimes render
on every request. Rendered without a sandbox (llama-cpp-python before 0.2.72,
CVE-2024-34359) a hostile template runs shell commands. The binary header is also
parsed by C code in llama.cpp and friends, so malformed counts, lengths and tensor
extents are worth reporting as well.

We parse the header ourselves (little- and big-endian, versions 1 to 3) with a bound on
every count, length and nesting depth, keep only the few values we need (templates,
``general.alignment``), check tensor extents against the file size from their ggml type
and shape, and never read tensor data. Templates go to `jinja_template.analyze_template`,
which parses but never renders them.

Rules:

- DZ-GGUF-001 CRITICAL: chat template reaches Python internals or command-running calls.
- DZ-GGUF-002 MEDIUM: chat template does not parse (or is too large), so it was not
  checked; dunder words in it are still reported.
- DZ-GGUF-003 MEDIUM: malformed or truncated header, or a parsing limit was exceeded.
- DZ-GGUF-004 HIGH: tensor data past the end of the file, or tensors overlapping.
- DZ-GGUF-005 HIGH: chat template contains sandbox-escape building blocks (gadget roots
  such as ``cycler``/``lipsum``, ``os``-like names, dunder names built from pieces).
- DZ-GGUF-006 MEDIUM: chat template uses include/import/extends or private attributes.

``scan_tokenizer_config`` (the same template check for ``tokenizer_config.json``, rules
``DZ-TPL-*``) lives in `tokenizer_config` and is re-exported here for the registry.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, Buffer, ScanContext, finding, printable
from dozor.scan.models.jinja_template import (
    CODE_EXECUTION,
    LOADER,
    SUSPICIOUS,
    UNPARSEABLE,
    analyze_template,
    template_findings,
)
from dozor.scan.models.tokenizer_config import scan_tokenizer_config

__all__ = ["GGUFHeader", "parse_header", "scan_gguf", "scan_tokenizer_config", "tensor_nbytes"]

SCANNER = "gguf"
MAGIC = b"GGUF"
MAGICS = (MAGIC, b"FUGG")
"""Writers put the bytes "GGUF" first; early big-endian builds wrote the magic as a native
u32, which reads "FUGG". The byte order itself is told by the version field."""
DEFAULT_ALIGNMENT = 32
TEMPLATE_KEY = "tokenizer.chat_template"

MAX_TENSORS = 1 << 20
MAX_KV = 1 << 20
MAX_KEY_BYTES = 1 << 16
MAX_STRING_BYTES = 16 << 20
"""Largest single string value (a chat template, a long description)."""
MAX_ARRAY_LEN = 1 << 26
MAX_NESTING = 8
MAX_DIMS = 4
"""GGML_MAX_DIMS: llama.cpp rejects tensors with more dimensions."""
MAX_PROBLEMS = 10

TEMPLATE_RULES = {
    CODE_EXECUTION: "DZ-GGUF-001",
    UNPARSEABLE: "DZ-GGUF-002",
    SUSPICIOUS: "DZ-GGUF-005",
    LOADER: "DZ-GGUF-006",
}

# GGUF metadata value types.
_STRING = 8
_ARRAY = 9
_UINT32 = 4
_FIXED_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

# ggml tensor types: id -> (name, elements per block, bytes per block). Only types with a
# stable, well-known layout; anything else (removed or newer exotic quantisations, Q8_1
# whose block size changed over time) is skipped for size checks rather than guessed.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}


class _Malformed(Exception):
    """The header cannot be read further; the message says why."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass
class _Tensor:
    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int
    header_pos: int


@dataclass
class GGUFHeader:
    """What the scanner keeps from a GGUF header (not the whole metadata)."""

    version: int = 0
    big_endian: bool = False
    tensor_count: int = 0
    kv_count: int = 0
    alignment: int = DEFAULT_ALIGNMENT
    templates: list[tuple[str, str, int]] = field(default_factory=list)
    """(key, template source, offset) for every chat-template key."""
    tensors: list[_Tensor] = field(default_factory=list)
    data_start: int = 0
    problems: list[tuple[str, int]] = field(default_factory=list)
    """Malformations that did not stop parsing: (message, offset)."""
    fatal: tuple[str, int] | None = None
    """The malformation that stopped parsing, if any."""


class _Reader:
    """Bounded reads from the header; every read checks the remaining length."""

    def __init__(self, data: Buffer, ctx: ScanContext) -> None:
        self.data = data
        self.size = len(data)
        self.pos = 0
        self.ctx = ctx
        self.endian = "<"
        self.v1 = False
        self.steps = 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise _Malformed(
                f"truncated: {what} needs {n} bytes past the end of the file", self.pos
            )

    def unpack(self, fmt: str, what: str) -> int:
        size = struct.calcsize(fmt)
        self.need(size, what)
        (value,) = struct.unpack_from(self.endian + fmt, self.data, self.pos)
        self.pos += size
        return int(value)

    def u32(self, what: str) -> int:
        return self.unpack("I", what)

    def count(self, what: str) -> int:
        """A count or length: u32 in GGUF v1, u64 from v2 on."""
        return self.unpack("I" if self.v1 else "Q", what)

    def string(self, limit: int, what: str, *, keep: bool = True) -> bytes:
        start = self.pos
        length = self.count(f"{what} length")
        if length > limit:
            raise _Malformed(f"{what} of {length} bytes exceeds the limit of {limit}", start)
        self.need(length, what)
        value = bytes(self.data[self.pos : self.pos + length]) if keep else b""
        self.pos += length
        return value

    def tick(self) -> None:
        self.steps += 1
        if self.steps & 0xFFF == 0:
            self.ctx.check_time()

    def skip_value(self, vtype: int, depth: int, what: str) -> None:
        if vtype in _FIXED_SIZES:
            self.need(_FIXED_SIZES[vtype], what)
            self.pos += _FIXED_SIZES[vtype]
        elif vtype == _STRING:
            self.string(MAX_STRING_BYTES, what, keep=False)
        elif vtype == _ARRAY:
            self.skip_array(depth + 1, what)
        else:
            raise _Malformed(f"{what} has unknown value type {vtype}", self.pos - 4)

    def skip_array(self, depth: int, what: str) -> None:
        start = self.pos
        if depth > MAX_NESTING:
            raise _Malformed(f"{what}: arrays nested deeper than {MAX_NESTING}", start)
        etype = self.u32(f"{what} element type")
        n = self.count(f"{what} array length")
        if n > MAX_ARRAY_LEN:
            raise _Malformed(f"{what}: array of {n} elements exceeds the limit", start)
        if etype in _FIXED_SIZES:
            self.need(n * _FIXED_SIZES[etype], f"{what} array")
            self.pos += n * _FIXED_SIZES[etype]
            return
        min_size = {_STRING: 4 if self.v1 else 8, _ARRAY: 8 if self.v1 else 12}.get(etype)
        if min_size is None:
            raise _Malformed(f"{what}: array of unknown value type {etype}", start)
        self.need(n * min_size, f"{what} array")
        if etype == _STRING:
            self.skip_strings(n, what)
            return
        for _ in range(n):
            self.tick()
            self.skip_value(etype, depth, what)

    def skip_strings(self, n: int, what: str) -> None:
        """Skip `n` strings quickly: token lists hold hundreds of thousands of them."""
        length_of = struct.Struct(self.endian + ("I" if self.v1 else "Q")).unpack_from
        width = 4 if self.v1 else 8
        data, size, pos = self.data, self.size, self.pos
        for i in range(n):
            if i & 0xFFFF == 0xFFFF:
                self.ctx.check_time()
            if pos + width > size:
                raise _Malformed(f"truncated: string {i} of {what}", pos)
            (length,) = length_of(data, pos)
            if length > MAX_STRING_BYTES:
                raise _Malformed(f"string {i} of {what} is {length} bytes long", pos)
            pos += width + length
            if pos > size:
                raise _Malformed(f"truncated: string {i} of {what} runs past the end", pos)
        self.pos = pos


def parse_header(data: Buffer, ctx: ScanContext) -> GGUFHeader:
    """Read the GGUF header of `data` within the module's limits; never raises _Malformed."""
    header = GGUFHeader()
    r = _Reader(data, ctx)
    try:
        _parse(r, header)
    except _Malformed as exc:
        header.fatal = (str(exc), exc.offset)
    return header


def _parse(r: _Reader, h: GGUFHeader) -> None:
    r.need(8, "magic and version")
    if bytes(r.data[:4]) not in MAGICS:
        raise _Malformed("missing GGUF magic", 0)
    (le_version,) = struct.unpack_from("<I", r.data, 4)
    (be_version,) = struct.unpack_from(">I", r.data, 4)
    if 1 <= le_version <= 3:
        h.version = le_version
    elif 1 <= be_version <= 3:
        h.version, h.big_endian, r.endian = be_version, True, ">"
    else:
        raise _Malformed(f"unsupported GGUF version {le_version:#x}", 4)
    r.v1 = h.version == 1
    r.pos = 8
    h.tensor_count = r.count("tensor count")
    h.kv_count = r.count("metadata count")
    if h.tensor_count > MAX_TENSORS:
        raise _Malformed(f"tensor count {h.tensor_count} exceeds the limit of {MAX_TENSORS}", 8)
    if h.kv_count > MAX_KV:
        raise _Malformed(f"metadata count {h.kv_count} exceeds the limit of {MAX_KV}", 8)
    width = 4 if r.v1 else 8
    # Smallest possible entries: a key/name length, a type and a 1-byte value; a tensor
    # with a name length, dims count, type and offset.
    r.need(h.kv_count * (width + 5) + h.tensor_count * (width + 16), "declared entries")

    keys: set[str] = set()
    for _ in range(h.kv_count):
        r.ctx.check_time()
        start = r.pos
        key = r.string(MAX_KEY_BYTES, "metadata key").decode("utf-8", "backslashreplace")
        vtype = r.u32(f"type of {key!r}")
        if key in keys:
            h.problems.append((f"duplicate metadata key {printable(key)}", start))
        keys.add(key)
        if vtype == _STRING and (key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")):
            value_pos = r.pos
            raw = r.string(MAX_STRING_BYTES, f"value of {key!r}")
            h.templates.append((key, raw.decode("utf-8", "replace"), value_pos))
        elif key == "general.alignment":
            if vtype != _UINT32:
                h.problems.append((f"general.alignment has type {vtype}, not uint32", start))
                r.skip_value(vtype, 0, repr(key))
            else:
                align = r.u32("general.alignment")
                if align == 0 or align & (align - 1):
                    h.problems.append((f"general.alignment {align} is not a power of two", start))
                else:
                    h.alignment = align
        else:
            r.skip_value(vtype, 0, f"value of {printable(key, 60)!r}")

    names: set[str] = set()
    for _ in range(h.tensor_count):
        r.ctx.check_time()
        start = r.pos
        name = r.string(MAX_KEY_BYTES, "tensor name").decode("utf-8", "backslashreplace")
        n_dims = r.u32(f"dimension count of tensor {name!r}")
        if n_dims > MAX_DIMS:
            raise _Malformed(f"tensor {printable(name, 60)} has {n_dims} dimensions", start)
        dims = tuple(r.count(f"dimensions of tensor {name!r}") for _ in range(n_dims))
        ggml_type = r.u32(f"type of tensor {name!r}")
        offset = r.unpack("Q", f"offset of tensor {name!r}")
        if name in names:
            h.problems.append((f"duplicate tensor name {printable(name, 60)}", start))
        names.add(name)
        h.tensors.append(_Tensor(name, dims, ggml_type, offset, start))
    h.data_start = -(-r.pos // h.alignment) * h.alignment


def tensor_nbytes(ggml_type: int, dims: tuple[int, ...]) -> int | None:
    """Bytes of a tensor's data for a known ggml type, or None if unknown or ragged."""
    info = GGML_TYPES.get(ggml_type)
    if info is None:
        return None
    _, block, type_size = info
    count = 1
    for d in dims:
        count *= d
    if dims and dims[0] % block:
        return None
    return count // block * type_size


def scan_gguf(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Report hostile chat templates and malformed headers in a GGUF file."""
    header = parse_header(blob.data, ctx)

    for key, source, _pos in header.templates:
        ctx.check_time()
        issues = analyze_template(source)
        yield from template_findings(
            issues,
            blob.location.child(key),
            rules=TEMPLATE_RULES,
            scanner=SCANNER,
            source=key,
        )

    problems = list(header.problems)
    if header.fatal is not None:
        problems.append(header.fatal)
    else:
        problems.extend(_layout_problems(blob, header))
        yield from _extent_findings(blob, header)
    for message, offset in problems[:MAX_PROBLEMS]:
        yield _malformed(blob.location, message, offset)
    if len(problems) > MAX_PROBLEMS:
        yield _malformed(
            blob.location,
            f"{len(problems) - MAX_PROBLEMS} more header problems not listed",
            problems[MAX_PROBLEMS][1],
        )


def _malformed(location: Location, message: str, offset: int) -> Finding:
    return finding(
        "DZ-GGUF-003",
        "Malformed or truncated GGUF header",
        Severity.MEDIUM,
        location.at(offset=offset),
        evidence=printable(message, 200),
        remediation=(
            "Re-download or re-convert the model from a trusted source; do not load a GGUF "
            "whose header fails to parse."
        ),
        scanner=SCANNER,
    )


def _layout_problems(blob: Blob, header: GGUFHeader) -> list[tuple[str, int]]:
    problems: list[tuple[str, int]] = []
    for t in header.tensors:
        if t.offset % header.alignment:
            problems.append(
                (
                    f"tensor {printable(t.name, 60)} offset {t.offset} is not a multiple of "
                    f"the alignment {header.alignment}",
                    t.header_pos,
                )
            )
        info = GGML_TYPES.get(t.ggml_type)
        if info is not None and t.dims and t.dims[0] % info[1]:
            problems.append(
                (
                    f"tensor {printable(t.name, 60)} of type {info[0]} has a first dimension "
                    f"{t.dims[0]} that is not a multiple of the block size {info[1]}",
                    t.header_pos,
                )
            )
    return problems


def _extent_findings(blob: Blob, header: GGUFHeader) -> Iterator[Finding]:
    """DZ-GGUF-004: tensor data that lies past the end of the file or overlaps."""
    size = blob.size
    past: list[str] = []
    first_past: _Tensor | None = None
    spans: list[tuple[int, int, str]] = []
    for t in header.tensors:
        nbytes = tensor_nbytes(t.ggml_type, t.dims)
        start = header.data_start + t.offset
        end = start + (nbytes or 0)
        if start > size or end > size:
            if first_past is None:
                first_past = t
            past.append(f"{printable(t.name, 60)} [{start}, {end})")
        if nbytes:
            spans.append((start, end, t.name))
    if past and first_past is not None:
        yield finding(
            "DZ-GGUF-004",
            "GGUF tensor data lies past the end of the file",
            Severity.HIGH,
            blob.location.at(offset=first_past.header_pos),
            evidence=f"{len(past)} tensor(s), file size {size}: " + "; ".join(past[:3]),
            remediation=(
                "The file is truncated or crafted to make readers access memory out of "
                "bounds; do not load it, re-download it from a trusted source."
            ),
            scanner=SCANNER,
            details={"tensors": str(len(past)), "file_size": str(size)},
        )
    spans.sort()
    overlaps: list[str] = []
    reach, holder = -1, ""
    for start, end, name in spans:
        if start < reach:
            overlaps.append(f"{printable(name, 60)} at {start} overlaps {printable(holder, 60)}")
        if end > reach:
            reach, holder = end, name
    if overlaps:
        yield finding(
            "DZ-GGUF-004",
            "GGUF tensors overlap in the file",
            Severity.HIGH,
            blob.location,
            evidence=f"{len(overlaps)} overlap(s): " + "; ".join(overlaps[:3]),
            remediation=(
                "Overlapping tensor data is never produced by converters; the file is "
                "crafted or corrupt. Do not load it."
            ),
            scanner=SCANNER,
            details={"overlaps": str(len(overlaps))},
        )
