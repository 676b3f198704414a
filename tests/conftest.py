from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dozor.findings import Finding, Location
from dozor.scan.base import Blob, ScanContext
from dozor.scan.engine import dispatch


def scan_bytes(data: bytes, name: str = "x.bin") -> list[Finding]:
    """Sniff and scan `data` exactly as the engine scans a file."""
    ctx = ScanContext(dispatch=dispatch)
    return list(dispatch(Blob(data, Location(name), name=name), ctx, None))


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def worst(findings: list[Finding]) -> int:
    return max((int(f.severity) for f in findings), default=-1)


@pytest.fixture
def marker(tmp_path: Path) -> Callable[[str], str]:
    """A path a payload would create if it ever ran; tests assert it never exists."""
    made: list[str] = []

    def make(name: str = "PWNED") -> str:
        path = str(tmp_path / f"marker-{name}")
        made.append(path)
        return path

    yield make
    for path in made:
        assert not os.path.exists(path), f"payload ran: {path} exists"
