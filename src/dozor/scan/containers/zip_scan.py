"""Zip archives, read the way every consumer might read them.

Why our own reader and not `zipfile`: loaders disagree. torch's reader (miniz) takes
the first of two members with the same name, Python's zipfile the last; one trusts the
central directory, another walks local headers; some check CRCs and encryption flags,
some do not. An attacker hides a payload in the copy the scanner does not read. So we
parse both the central directory and the local headers, report every disagreement as
a finding, and scan every copy of every member.

Layouts get extra care: torch checkpoints (every ``.pkl`` is a pickle; ``data/N``
tensor storages are never read), TorchScript (``code/`` sources), Keras (``config.json``).
"""

from __future__ import annotations

import bz2
import lzma
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, Buffer, LimitExceeded, ScanContext, finding, printable
from dozor.scan.containers.archive import name_key, unsafe_name

SCANNER = "zip"
_EOCD = b"PK\x05\x06"
_CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LFH = struct.Struct("<4sHHHHHIIIHH")
_FIX = "Do not extract or load the archive; ask its author for a clean copy."


@dataclass
class Member:
    """One entry of the archive, from the central directory or a local header."""

    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    header_offset: int
    external_attr: int = 0
    made_by: int = 0
    from_central: bool = True
    data_offset: int = -1


def _u(fields: bytes) -> str:
    try:
        return fields.decode("utf-8")
    except UnicodeDecodeError:
        return fields.decode("cp437")


def _zip64(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x0001:
            vals = list(struct.unpack_from(f"<{len(body) // 8}Q", body)) if len(body) >= 8 else []
            if usize == 0xFFFFFFFF and vals:
                usize = vals.pop(0)
            if csize == 0xFFFFFFFF and vals:
                csize = vals.pop(0)
            if offset == 0xFFFFFFFF and vals:
                offset = vals.pop(0)
            break
        pos += 4 + size
    return usize, csize, offset


class ZipReader:
    """Parses an archive held in a buffer; collects problems as it goes."""

    def __init__(self, data: Buffer, ctx: ScanContext) -> None:
        self.data = data
        self.ctx = ctx
        self.problems: list[tuple[str, str, Severity, str]] = []

    def problem(self, rule: str, title: str, severity: Severity, evidence: str) -> None:
        self.problems.append((rule, title, severity, evidence))

    def central(self) -> tuple[list[Member], int]:
        data = self.data
        size = len(data)
        tail_start = max(0, size - 65557)
        tail = bytes(data[tail_start:])
        at = tail.rfind(_EOCD)
        if at < 0 or at + 22 > len(tail):
            raise ValueError("no end-of-central-directory record")
        eocd = tail_start + at
        (_, disk, cd_disk, n_disk, n_total, cd_size, cd_off, clen) = struct.unpack_from(
            "<4sHHHHIIH", tail, at
        )
        if disk != 0 or cd_disk != 0:
            self.problem("DZ-ARC-009", "Multi-volume zip archive", Severity.MEDIUM,
                         f"disk {disk}, central directory on disk {cd_disk}")
        if n_disk != n_total:
            self.problem("DZ-ARC-004", "Zip end record counts disagree (parser differential)",
                         Severity.HIGH, f"{n_disk} entries on this disk, {n_total} in total")
        z64 = eocd - 20
        if z64 >= 0 and bytes(data[z64 : z64 + 4]) == b"PK\x06\x07":
            (rec_off,) = struct.unpack_from("<Q", bytes(data[z64 + 8 : z64 + 16]))
            if 0 <= rec_off <= size - 56 and bytes(data[rec_off : rec_off + 4]) == b"PK\x06\x06":
                rec = bytes(data[rec_off : rec_off + 56])
                n_total, cd_size, cd_off = struct.unpack_from("<QQQ", rec, 32)
                eocd = rec_off
        # data prepended to the archive shifts every offset (self-extracting style)
        shift = eocd - cd_size - cd_off
        if shift < 0:
            raise ValueError("central directory offset points past its end record")
        if shift:
            self.problem("DZ-ARC-010", "Data before the zip archive (polyglot or prefixed zip)",
                         Severity.LOW, f"{shift} bytes before the first member")
        if n_total > self.ctx.limits.max_members:
            raise LimitExceeded(f"archive lists {n_total} members (limit "
                                f"{self.ctx.limits.max_members})")
        members: list[Member] = []
        pos = cd_off + shift
        end = pos + cd_size
        for _ in range(n_total):
            self.ctx.check_time()
            if pos + 46 > end or bytes(data[pos : pos + 4]) != b"PK\x01\x02":
                self.problem("DZ-ARC-007", "Zip central directory is damaged", Severity.MEDIUM,
                             f"entry {len(members) + 1} of {n_total} unreadable")
                break
            (_, made_by, _need, flags, method, _t, _d, crc, csize, usize, nlen, xlen, clen2,
             _disk, _iattr, eattr, hoff) = _CDH.unpack(bytes(data[pos : pos + 46]))
            name_raw = bytes(data[pos + 46 : pos + 46 + nlen])
            extra = bytes(data[pos + 46 + nlen : pos + 46 + nlen + xlen])
            usize, csize, hoff = _zip64(extra, usize, csize, hoff)
            members.append(Member(_u(name_raw), name_raw, flags, method, crc, csize, usize,
                                  hoff + shift, eattr, made_by))
            pos += 46 + nlen + xlen + clen2
        return members, shift

    def local(self, m: Member) -> None:
        """Read m's local header: check it agrees, and find where its data starts."""
        data = self.data
        off = m.header_offset
        if off < 0 or off + 30 > len(data) or bytes(data[off : off + 4]) != b"PK\x03\x04":
            self.problem("DZ-ARC-007", "Zip member has no local header", Severity.MEDIUM,
                         printable(m.name))
            return
        (_, _need, flags, method, _t, _d, crc, csize, usize, nlen, xlen) = _LFH.unpack(
            bytes(data[off : off + 30])
        )
        lname = bytes(data[off + 30 : off + 30 + nlen])
        m.data_offset = off + 30 + nlen + xlen
        if lname != m.raw_name:
            self.problem("DZ-ARC-004", "Zip local and central names differ (parser differential)",
                         Severity.HIGH, f"{printable(lname)} vs {printable(m.raw_name)}")
        if method != m.method or (flags & 1) != (m.flags & 1):
            self.problem("DZ-ARC-004",
                         "Zip local and central headers disagree (parser differential)",
                         Severity.HIGH,
                         f"{printable(m.name)}: method {method}/{m.method}, flags "
                         f"{flags:#x}/{m.flags:#x}")
        if not flags & 0x08 and (crc, csize) != (m.crc, m.csize) and csize != 0xFFFFFFFF:
            self.problem("DZ-ARC-004",
                         "Zip local and central sizes or CRCs differ (parser differential)",
                         Severity.HIGH, printable(m.name))

    def scan_local_headers(self, members: list[Member], limit: int) -> list[Member]:
        """Local headers that no central entry points at, found in the gaps between
        known members (so tensor data is never read): members some readers see."""
        data = self.data
        size = len(data)
        known = {m.header_offset for m in members}
        covered = sorted(
            (m.header_offset, max(m.data_offset + m.csize, m.header_offset + 30))
            for m in members
            if m.data_offset >= 0
        )
        gaps: list[tuple[int, int]] = []
        pos = 0
        for start, stop in covered:
            if start > pos:
                gaps.append((pos, start))
            pos = max(pos, stop)
        gaps.append((pos, size))
        found: list[Member] = []
        for gap_start, gap_end in gaps:
            chunk = bytes(data[gap_start:gap_end])
            at = chunk.find(b"PK\x03\x04")
            while at >= 0 and len(found) < limit:
                self.ctx.check_time()
                hpos = gap_start + at
                if hpos not in known and hpos + 30 <= size:
                    (_, _need, flags, method, _t, _d, crc, csize, usize, nlen, xlen) = \
                        _LFH.unpack(bytes(data[hpos : hpos + 30]))
                    raw = bytes(data[hpos + 30 : hpos + 30 + nlen])
                    if nlen and not flags & 0x08 and hpos + 30 + nlen + xlen + csize <= size:
                        m = Member(_u(raw), raw, flags, method, crc, csize, usize, hpos,
                                   from_central=False)
                        m.data_offset = hpos + 30 + nlen + xlen
                        found.append(m)
                at = chunk.find(b"PK\x03\x04", at + 4)
        return found

    def read(self, m: Member) -> Buffer:
        """The member's bytes: stored data is a zero-copy view; others are inflated."""
        if m.data_offset < 0:
            raise ValueError("no local header")
        start, stop = m.data_offset, m.data_offset + m.csize
        if stop > len(self.data):
            raise ValueError("data runs past the end of the archive")
        raw = memoryview(self.data)[start:stop]
        limit = self.ctx.limits.max_member_bytes
        if m.method == 0:
            return raw
        if m.method == 8:
            dec = zlib.decompressobj(-15)
            out = dec.decompress(raw, limit + 1)
        elif m.method == 12:
            dec2 = bz2.BZ2Decompressor()
            out = dec2.decompress(bytes(raw), limit + 1)
        elif m.method == 14:
            # zip's lzma: 2-byte version, 2-byte props size, props, then raw lzma1 data
            props_len = struct.unpack_from("<H", raw, 2)[0]
            props = bytes(raw[4 : 4 + props_len])
            filt = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)  # type: ignore[attr-defined]
            dec3 = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=[filt])
            out = dec3.decompress(bytes(raw[4 + props_len :]), limit + 1)
        else:
            raise NotImplementedError(f"compression method {m.method}")
        if len(out) > limit:
            raise LimitExceeded(f"member inflates past {limit >> 20} MiB")
        self.ctx.account(len(out))
        return out


_TENSOR_MEMBER = re.compile(r"(^|/)data/\d+$")


def _layout(names: list[str]) -> str:
    if any(n.endswith("data.pkl") or n.endswith("constants.pkl") for n in names):
        return "torch"
    base = {n.rsplit("/", 1)[-1] for n in names}
    if "config.json" in base and ({"metadata.json", "model.weights.h5"} & base):
        return "keras"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


def scan_zip(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Scan a zip archive: differentials, unsafe members, and every member's content."""
    reader = ZipReader(blob.data, ctx)
    loc = blob.location

    def emit() -> Iterator[Finding]:
        for rule, title, severity, evidence in reader.problems:
            yield finding(rule, title, severity, loc, evidence=evidence, remediation=_FIX,
                          scanner=SCANNER)
        reader.problems.clear()

    try:
        members, _shift = reader.central()
    except (ValueError, struct.error) as exc:
        members = []
        reader.problem("DZ-ARC-007", "Zip archive is damaged; central directory unreadable",
                       Severity.MEDIUM, str(exc))
    for m in members:
        reader.local(m)
    hidden = reader.scan_local_headers(members, ctx.limits.max_members)
    for m in hidden:
        if members:
            reader.problem("DZ-ARC-008",
                           "Zip member present only in local headers (parser differential)",
                           Severity.HIGH, printable(m.name))
    members += hidden
    yield from emit()

    layout = _layout([m.name for m in members])
    if layout != "zip" and layout not in ctx.formats:
        ctx.formats.append(layout)
    counts: dict[str, int] = {}
    for m in members:
        counts[name_key(m.name)] = counts.get(name_key(m.name), 0) + 1
    dup_reported: set[str] = set()
    seen_names: dict[str, int] = {}
    for m in members:
        ctx.check_time()
        mloc = m.name
        key = name_key(m.name)
        if counts[key] > 1 and key not in dup_reported:
            dup_reported.add(key)
            same = [x.name for x in members if name_key(x.name) == key]
            exact = len(set(same)) == 1
            yield finding(
                "DZ-ARC-004",
                "Duplicate member names (parser differential: readers pick different copies)"
                if exact else "Member names that collide after case or path normalisation",
                Severity.HIGH, loc.child(m.name),
                evidence=", ".join(printable(n, 60) for n in same[:5]),
                remediation=_FIX, scanner=SCANNER)
        n = seen_names.get(m.name, 0) + 1
        seen_names[m.name] = n
        if n > 1:
            mloc = f"{m.name}#{n}"
        why = unsafe_name(m.name)
        if why:
            yield finding("DZ-ARC-001", "Archive member escapes the extraction folder",
                          Severity.HIGH, loc.child(mloc), evidence=f"{printable(m.name)}: {why}",
                          remediation=_FIX, scanner=SCANNER)
        if (m.made_by >> 8) == 3 and (m.external_attr >> 16) & 0o170000 == 0o120000:
            yield finding("DZ-ARC-002", "Archive member is a symbolic link", Severity.HIGH,
                          loc.child(mloc), evidence=printable(m.name), remediation=_FIX,
                          scanner=SCANNER)
        if m.flags & 1:
            yield finding("DZ-ARC-011", "Archive member is marked encrypted", Severity.HIGH,
                          loc.child(mloc),
                          evidence=f"{printable(m.name)}: some readers ignore the flag and "
                          "load the bytes anyway", remediation=_FIX, scanner=SCANNER)
        if m.name.endswith("/") and m.usize == 0:
            continue
        if layout == "torch" and _TENSOR_MEMBER.search(m.name):
            continue  # tensor storage: raw numbers torch never unpickles
        if m.csize and m.usize > 10 << 20 and m.usize / max(m.csize, 1) > ctx.limits.max_ratio:
            yield finding("DZ-ARC-003", "Archive member is a decompression bomb", Severity.HIGH,
                          loc.child(mloc),
                          evidence=f"{m.csize} bytes inflate to {m.usize} "
                          f"(ratio {m.usize // max(m.csize, 1)})",
                          remediation=_FIX, scanner=SCANNER)
            continue
        try:
            content = reader.read(m)
        except LimitExceeded as exc:
            yield finding("DZ-ARC-003", "Archive member inflates past the size limit",
                          Severity.HIGH, loc.child(mloc), evidence=str(exc), remediation=_FIX,
                          scanner=SCANNER)
            continue
        except (ValueError, NotImplementedError, zlib.error, OSError, EOFError,
                lzma.LZMAError, struct.error) as exc:
            yield finding("DZ-ARC-007", "Archive member cannot be read, so it was not scanned",
                          Severity.MEDIUM, loc.child(mloc),
                          evidence=f"{printable(m.name)}: {exc}", remediation=_FIX,
                          scanner=SCANNER)
            continue
        if zlib.crc32(content) != m.crc and not m.flags & 1:
            yield finding("DZ-ARC-005", "Archive member CRC mismatch (parser differential)",
                          Severity.HIGH, loc.child(mloc),
                          evidence=f"{printable(m.name)}: stored {m.crc:#010x}, "
                          f"actual {zlib.crc32(content):#010x}",
                          remediation=_FIX, scanner=SCANNER)
        kind = _member_kind(layout, m.name)
        yield from ctx.scan_nested(content, blob, mloc, kind=kind, container=layout,
                                   name=m.name)


def _member_kind(layout: str, name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if layout == "torch":
        if name.endswith(".pkl"):
            return "pickle"
        if "/code/" in f"/{name}" and name.endswith(".py"):
            return "torchscript-code"
    if layout == "keras" and base == "config.json":
        return "keras-config"
    return None
