"""Static scanners. `dozor.scan` is both this package and the library call
``dozor.scan(path) -> Report``: a package attribute of the same name would be replaced
by the package as soon as it is imported, so the package itself is made callable.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dozor.findings import Report
    from dozor.policy import Policy


def scan_report(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    policy: Policy | None = None,
    workers: int | None = None,
) -> Report:
    """Scan files or directories statically and return a Report.

    Nothing scanned is ever executed. The policy (default: `Policy()`, or one from
    `dozor.policy.load_policy`) removes suppressed and allowed findings.
    """
    from dozor.policy import Policy
    from dozor.scan.engine import scan_paths

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    policy = policy or Policy()
    report = scan_paths(paths, limits=policy.limits, workers=workers)
    return policy.apply(report)


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return scan_report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
