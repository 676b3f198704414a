"""Tar archives (plain; compressed ones arrive here after the compressed-stream handler).

The stdlib `tarfile` parses headers well (GNU, pax, ustar) and we never extract: member
bytes are read into memory through a zero-copy file object and scanned. Legacy PyTorch
checkpoints are tars too (members ``sys_info``, ``pickle``, ``storages``, ``tensors``),
and each of those holds pickles that torch loads.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

from dozor.findings import Finding, Severity
from dozor.scan.base import (
    Blob,
    Buffer,
    BufferFile,
    LimitExceeded,
    ScanContext,
    finding,
    printable,
)
from dozor.scan.containers.archive import FIX, duplicates, member_checks

SCANNER = "tar"
_LEGACY_TORCH = {"sys_info", "pickle", "storages", "tensors"}


def scan_tar(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    loc = blob.location
    try:
        tf = tarfile.open(fileobj=io.BufferedReader(BufferFile(blob.data)), mode="r:")
    except (tarfile.TarError, OSError, ValueError) as exc:
        yield finding("DZ-ARC-007", "Tar archive is damaged; members not scanned", Severity.MEDIUM,
                      loc, evidence=str(exc), remediation=FIX, scanner=SCANNER)
        return
    members: list[tarfile.TarInfo] = []
    try:
        for info in tf:
            ctx.check_time()
            members.append(info)
            if len(members) > ctx.limits.max_members:
                raise LimitExceeded(f"archive has more than {ctx.limits.max_members} members")
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        yield finding("DZ-ARC-007", "Tar archive is damaged after some members (scanned those)",
                      Severity.MEDIUM, loc, evidence=str(exc), remediation=FIX, scanner=SCANNER)
    names = [m.name for m in members]
    legacy = _LEGACY_TORCH <= set(names) or {"pickle", "storages"} <= set(names)
    if legacy and "legacy-torch" not in ctx.formats:
        ctx.formats.append("legacy-torch")
    yield from duplicates(loc, [m.name for m in members if m.isfile()], SCANNER)
    seen: dict[str, int] = {}
    for m in members:
        ctx.check_time()
        seen[m.name] = seen.get(m.name, 0) + 1
        label = m.name if seen[m.name] == 1 else f"{m.name}#{seen[m.name]}"
        mloc = loc.child(label)
        yield from member_checks(mloc, m.name, SCANNER)
        if m.issym() or m.islnk():
            yield finding("DZ-ARC-002", "Archive member is a link", Severity.HIGH, mloc,
                          evidence=f"{printable(m.name)} -> {printable(m.linkname)}",
                          remediation=FIX, scanner=SCANNER)
            continue
        if m.isdev() or m.isfifo():
            yield finding("DZ-ARC-002", "Archive member is a device or FIFO", Severity.HIGH, mloc,
                          evidence=printable(m.name), remediation=FIX, scanner=SCANNER)
            continue
        if not m.isfile() or m.size == 0:
            continue
        if m.size > ctx.limits.max_member_bytes:
            yield finding("DZ-ARC-003", "Archive member larger than the size limit; not scanned",
                          Severity.MEDIUM, mloc, evidence=f"{m.size} bytes", remediation=FIX,
                          scanner=SCANNER)
            continue
        start = m.offset_data
        if m.sparse is not None:
            yield finding("DZ-ARC-007", "Sparse tar member was not scanned", Severity.MEDIUM,
                          mloc, evidence=printable(m.name), remediation=FIX, scanner=SCANNER)
            continue
        if start + m.size > len(blob.data):
            yield finding("DZ-ARC-007", "Tar member is truncated (scanned what is there)",
                          Severity.MEDIUM, mloc,
                          evidence=f"{printable(m.name)}: {m.size} bytes declared, "
                          f"{max(0, len(blob.data) - start)} present",
                          remediation=FIX, scanner=SCANNER)
        content: Buffer = memoryview(blob.data)[start : start + m.size]
        kind = None
        if legacy and m.name in ("sys_info", "pickle"):
            kind = "pickle"
        elif legacy and m.name in ("storages", "tensors"):
            kind = "legacy-torch-records"
        yield from ctx.scan_nested(content, blob, label, kind=kind,
                                   container="legacy-torch" if legacy else "tar", name=m.name)
