"""Compressed streams (gzip, bz2, xz, lzma, zlib, zstd, lz4): inflate within limits, then
scan what comes out. joblib's compressed files are exactly such streams around a pickle.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Iterator
from typing import Any

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, LimitExceeded, ScanContext, finding
from dozor.scan.sniff import sniff

SCANNER = "compressed"
_CHUNK = 1 << 20


def _decompressor(kind: str, head: bytes) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "zlib":
        return zlib.decompressobj()
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if kind == "lzma":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    if kind == "zstd":
        from backports import zstd  # installed with py7zr; stdlib compression.zstd in 3.14

        return zstd.ZstdDecompressor()
    if kind == "lz4":
        try:
            import lz4.frame  # type: ignore[import-not-found]
        except ImportError:
            raise NotImplementedError("lz4 support needs: pip install lz4") from None
        return lz4.frame.LZ4FrameDecompressor()
    raise NotImplementedError(kind)


def inflate(data: Any, kind: str, ctx: ScanContext) -> tuple[bytes, str]:
    """Decompress `data` (bytes-like) as `kind`; return (output, problem or "")."""
    start = 0
    head = bytes(data[:32])
    if kind == "zlib" and head.startswith(b"ZF"):
        start = 21  # joblib < 0.10: "ZF" + hex length padded to 19 bytes, then zlib
    dec = _decompressor(kind, head)
    limit = ctx.limits.max_member_bytes
    out = bytearray()
    view = memoryview(data)
    pos = start
    problem = ""
    while pos < len(view):
        ctx.check_time()
        chunk = bytes(view[pos : pos + _CHUNK])
        pos += len(chunk)
        try:
            piece = dec.decompress(chunk)
        except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
            problem = f"corrupt {kind} data: {exc}"
            break
        except Exception as exc:  # pyzstd / lz4 raise their own error types
            problem = f"corrupt {kind} data: {exc}"
            break
        out += piece
        ctx.account(len(piece))
        if len(out) > limit:
            raise LimitExceeded(f"{kind} stream inflates past {limit >> 20} MiB")
        if getattr(dec, "eof", False):
            rest = getattr(dec, "unused_data", b"")
            if rest and kind == "gzip" and bytes(rest[:2]) == b"\x1f\x8b":
                # another gzip member follows: gzip readers concatenate them
                dec = _decompressor(kind, b"")
                pos -= len(rest)
                continue
            break
    else:
        if not getattr(dec, "eof", True) and not problem:
            problem = f"truncated {kind} stream"
    return bytes(out), problem


def scan_compressed(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    kind = sniff(blob) or "zlib"
    if kind not in ("gzip", "zlib", "bz2", "xz", "lzma", "zstd", "lz4"):
        kind = "zlib"
    try:
        out, problem = inflate(blob.data, kind, ctx)
    except NotImplementedError as exc:
        yield finding("DZ-ARC-007", f"Cannot read {kind} data, so it was not scanned",
                      Severity.MEDIUM, blob.location, evidence=str(exc),
                      remediation="Install the named package, then scan again.", scanner=SCANNER)
        return
    if problem:
        yield finding("DZ-ARC-007", f"Damaged {kind} stream (scanned what could be inflated)",
                      Severity.MEDIUM, blob.location, evidence=problem,
                      remediation="Do not load the file; get an intact copy.", scanner=SCANNER)
    if out:
        yield from ctx.scan_nested(out, blob, f"<{kind}>", container=kind)
