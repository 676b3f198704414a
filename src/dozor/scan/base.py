"""What every static scanner works with: a `Blob` to read, a `ScanContext` with limits.

A format handler is a function ``handler(blob, ctx) -> Iterator[Finding]``. It parses,
never executes. When it finds nested content (a zip member, a decompressed stream, a
pickle inside bytes) it hands that to ``ctx.scan_nested``, which sniffs the content and
dispatches it again, with depth, size and time limits kept in one place.
"""

from __future__ import annotations

import io
import mmap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dozor.findings import Finding, Location, Severity

Buffer = bytes | bytearray | memoryview | mmap.mmap

ML06 = "ML06:2023"  # AI supply chain attacks
LLM03 = "LLM03:2025"  # Supply chain
ATLAS_MALICIOUS_PACKAGE = "AML.T0011.001"  # User Execution: Malicious Package
ATLAS_POISON_MODEL = "AML.T0018"  # Manipulate AI Model
ATLAS_SUPPLY_CHAIN_MODEL = "AML.T0010.003"  # AI Supply Chain Compromise: Model
SUPPLY_CHAIN = (ML06, LLM03, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_MALICIOUS_PACKAGE)


class ScanTimeout(Exception):
    """The per-file time budget ran out."""


class LimitExceeded(Exception):
    """A size, depth or count limit was reached; the message says which."""


@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile input from exhausting memory or time."""

    max_depth: int = 10
    """Nesting of containers and embedded pickles."""
    max_member_bytes: int = 4 << 30
    """Largest single member or decompressed stream that is read into memory."""
    max_total_unpacked: int = 16 << 30
    """All decompressed bytes of one top-level file together."""
    max_ratio: int = 250
    """Compression ratio above which a member counts as a bomb (when over 10 MiB)."""
    max_members: int = 200_000
    """Members in one archive."""
    max_pickle_ops: int = 20_000_000
    """Opcodes read in one pickle."""
    max_pickle_stack: int = 30_000_000
    """Items on the symbolic stack and in the memo (about 100 bytes each)."""
    seconds_per_file: float = 300.0
    """Wall time for one top-level file."""


@dataclass(frozen=True)
class Blob:
    """Bytes to scan, where they came from, and a name hint (never trusted for type)."""

    data: Buffer
    location: Location
    name: str = ""
    """File or member name: used in messages and as a tie-breaker, never to decide type."""
    depth: int = 0
    parent: str = ""
    """Format of the container this blob came from ("zip", "torch", "keras", ...)."""

    @property
    def size(self) -> int:
        return len(self.data)


Handler = Callable[[Blob, "ScanContext"], Iterator[Finding]]


@dataclass
class ScanContext:
    """Per-file state: limits, deadline, bytes unpacked, formats seen."""

    limits: Limits = field(default_factory=Limits)
    deadline: float = 0.0
    unpacked: int = 0
    formats: list[str] = field(default_factory=list)
    dispatch: Callable[[Blob, ScanContext, str | None], Iterator[Finding]] | None = None
    options: dict[str, str] = field(default_factory=dict)
    """Run-wide settings some scanners read, e.g. ``advisory_db`` (a path)."""

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.limits.seconds_per_file

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ScanTimeout(f"time limit of {self.limits.seconds_per_file:g}s per file reached")

    def account(self, nbytes: int) -> None:
        """Count decompressed bytes; raise LimitExceeded past the per-file budget."""
        self.unpacked += nbytes
        if self.unpacked > self.limits.max_total_unpacked:
            raise LimitExceeded(
                f"more than {self.limits.max_total_unpacked >> 20} MiB unpacked from one file"
            )

    def scan_nested(
        self,
        data: Buffer,
        parent: Blob,
        member: str,
        *,
        kind: str | None = None,
        container: str = "",
        name: str = "",
    ) -> Iterator[Finding]:
        """Sniff and scan content found inside `parent` (or scan it as `kind` if given).

        `container` names the format of `parent` ("zip", "torch", "keras", ...), so a
        handler can apply layout-specific checks to a member.
        """
        child = Blob(
            data=data,
            location=parent.location.child(member),
            name=name or member,
            depth=parent.depth + 1,
            parent=container,
        )
        yield from self.scan_child(child, kind)

    def scan_child(self, child: Blob, kind: str | None = None) -> Iterator[Finding]:
        if child.depth > self.limits.max_depth:
            yield finding(
                "DZ-ARC-006",
                "Nesting deeper than the limit; inner content not scanned",
                Severity.MEDIUM,
                child.location,
                evidence=f"depth {child.depth} > {self.limits.max_depth}",
                remediation="Unpack the file by hand in a sandbox and scan its parts.",
                scanner="container",
            )
            return
        assert self.dispatch is not None
        yield from self.dispatch(child, self, kind)


def finding(
    rule_id: str,
    title: str,
    severity: Severity,
    location: Location,
    *,
    evidence: str = "",
    remediation: str = "",
    scanner: str,
    confidence: float = 1.0,
    taxonomy: tuple[str, ...] = SUPPLY_CHAIN,
    details: dict[str, str] | None = None,
) -> Finding:
    """Build a Finding with the supply-chain taxonomy that model-file findings share."""
    return Finding(
        rule_id=rule_id,
        title=title,
        severity=severity,
        location=location,
        evidence=evidence,
        remediation=remediation,
        confidence=confidence,
        taxonomy=taxonomy,
        scanner=scanner,
        details=tuple(sorted((details or {}).items())),
    )


def printable(data: bytes | str, limit: int = 120) -> str:
    """A short, safe rendering of untrusted text for evidence fields."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "backslashreplace")
    text = data.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class BufferFile(io.RawIOBase):
    """A seekable read-only file over a bytes-like object (bytes, memoryview, mmap), no copy."""

    def __init__(self, data: Buffer) -> None:
        super().__init__()
        view = memoryview(data)
        if view.ndim != 1 or view.format != "B":
            view = view.cast("B")  # byte-for-byte view of any contiguous buffer
        self._view: memoryview | None = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        view = self._view
        if view is None:
            raise ValueError("I/O operation on closed buffer")
        out = memoryview(buffer).cast("B")
        n = max(0, min(len(out), len(view) - self._pos))
        out[:n] = view[self._pos : self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._view is None:
            raise ValueError("I/O operation on closed buffer")
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = len(self._view) + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if self._view is not None:
            self._view.release()
            self._view = None
        super().close()
