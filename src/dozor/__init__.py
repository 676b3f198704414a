"""dozor: an MLSecOps toolkit. The public library API lives here.

    >>> import dozor
    >>> report = dozor.scan("models/")      # static: nothing is loaded or run
    >>> report.max_severity()
    >>> model = dozor.load("model.pt", key="signer.pub")   # verify, scan, then torch.load
"""

from __future__ import annotations

from dozor import scan
from dozor.findings import Finding, Location, Report, ScannedFile, Severity
from dozor.supply.load import ModelRefused, load

__version__ = "0.1.0"
__all__ = [
    "Finding", "Location", "ModelRefused", "Report", "ScannedFile", "Severity", "load", "scan",
    "__version__",
]
