"""dozor: an MLSecOps toolkit. The public library API lives here.

    >>> import dozor
    >>> report = dozor.scan("models/")      # static: nothing is loaded or run
    >>> report.max_severity()
"""

from __future__ import annotations

from dozor import scan
from dozor.findings import Finding, Location, Report, ScannedFile, Severity

__version__ = "0.1.0"
__all__ = ["Finding", "Location", "Report", "ScannedFile", "Severity", "scan", "__version__"]
