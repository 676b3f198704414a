"""dozor: an MLSecOps toolkit. The public library API lives here."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from dozor.findings import Finding, Location, Report, Severity

if TYPE_CHECKING:
    from dozor.policy import Policy

__version__ = "0.1.0"
__all__ = ["Finding", "Location", "Report", "Severity", "scan", "__version__"]


def scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    policy: Policy | None = None,
    workers: int | None = None,
) -> Report:
    """Scan files or directories statically and return a Report.

    Nothing scanned is ever executed. The policy (default: `Policy()`, or pass one
    from `dozor.policy.load_policy`) removes suppressed and allowed findings.
    """
    from dozor.policy import Policy
    from dozor.scan.engine import scan_paths

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    policy = policy or Policy()
    report = scan_paths(paths, limits=policy.limits, workers=workers)
    return policy.apply(report)
