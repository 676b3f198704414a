"""The report as JSON: the data model itself, for scripts and for the store.

The key order is the one `Report.to_dict` builds, which does not depend on the
findings, so two runs over the same input give the same bytes and diff cleanly.
Non-ASCII is escaped so a file name that is not valid UTF-8 (kept by Python as
lone surrogates) can still be written out.
"""

from __future__ import annotations

import json

from dozor.findings import Report


def render(report: Report) -> str:
    """`report.to_dict()` as indented JSON text, without a trailing newline."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=True)
