"""7z archives, read with py7zr (pure Python, well kept): list, check, inflate, scan.

Declared sizes are checked against the limits before anything is inflated, and members
are inflated one at a time, so a 7z bomb costs a finding, not the machine's memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, BufferFile, ScanContext, finding, printable
from dozor.scan.containers.archive import FIX, duplicates, member_checks

SCANNER = "7z"


def scan_7z(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    loc = blob.location
    try:
        import py7zr
    except ImportError:  # pragma: no cover - py7zr is a dependency
        yield finding("DZ-ARC-007", "Cannot read 7z archives without py7zr", Severity.MEDIUM, loc,
                      remediation="pip install py7zr", scanner=SCANNER)
        return
    try:
        archive = py7zr.SevenZipFile(io.BufferedReader(BufferFile(blob.data)), mode="r")
        infos = archive.list()
    except Exception as exc:  # py7zr raises many types on hostile input
        kind = "encrypted" if "password" in str(exc).lower() else "damaged"
        yield finding("DZ-ARC-007", f"7z archive is {kind}; members not scanned", Severity.MEDIUM,
                      loc, evidence=f"{type(exc).__name__}: {printable(str(exc), 100)}",
                      remediation=FIX, scanner=SCANNER)
        return
    if len(infos) > ctx.limits.max_members:
        yield finding("DZ-ARC-003", "7z archive has too many members to scan", Severity.MEDIUM,
                      loc, evidence=f"{len(infos)} members", remediation=FIX, scanner=SCANNER)
        return
    files = [i for i in infos if not i.is_directory]
    yield from duplicates(loc, [i.filename for i in files], SCANNER)
    total = sum(i.uncompressed or 0 for i in files)
    packed = max(blob.size, 1)
    if total > ctx.limits.max_total_unpacked or (total > 10 << 20 and total / packed >
                                                   ctx.limits.max_ratio):
        yield finding("DZ-ARC-003", "7z archive is a decompression bomb; not inflated",
                      Severity.HIGH, loc, evidence=f"{blob.size} bytes declare {total} unpacked",
                      remediation=FIX, scanner=SCANNER)
        return
    for info in files:
        mloc = loc.child(info.filename)
        yield from member_checks(mloc, info.filename, SCANNER)
        if getattr(info, "is_symlink", False):
            yield finding("DZ-ARC-002", "Archive member is a symbolic link", Severity.HIGH, mloc,
                          evidence=printable(info.filename), remediation=FIX, scanner=SCANNER)
    if archive.needs_password():
        yield finding("DZ-ARC-011", "7z archive is encrypted; members not scanned",
                      Severity.MEDIUM, loc, remediation="Decrypt it yourself and scan the "
                      "contents before loading them.", scanner=SCANNER)
        return
    try:
        contents = _read_all(archive, ctx)
    except Exception as exc:
        yield finding("DZ-ARC-007", "7z members cannot be read, so they were not scanned",
                      Severity.MEDIUM, loc, evidence=f"{type(exc).__name__}: "
                      f"{printable(str(exc), 100)}", remediation=FIX, scanner=SCANNER)
        return
    for name, data in contents:
        yield from ctx.scan_nested(data, blob, name, container="7z")


def _read_all(archive, ctx: ScanContext) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    """Inflate every member into memory (py7zr's in-memory writer: nothing touches disk)."""
    import os

    from py7zr.io import BytesIOFactory

    factory = BytesIOFactory(ctx.limits.max_member_bytes)
    archive.extract(factory=factory)
    cwd = os.getcwd().replace(os.sep, "/").rstrip("/") + "/"
    out: list[tuple[str, bytes]] = []
    for name, product in factory.products.items():
        ctx.check_time()
        product.seek(0)
        data = product.read()
        ctx.account(len(data))
        out.append((name[len(cwd):] if name.startswith(cwd) else name, data))
    return out
