"""Secrets in any text file: API keys, tokens, private keys, hard-coded passwords.

Why a handler of its own: every text file (source, configs, lock files, logs, dumps)
can hold a credential, whatever else is checked in it. Detection lives in
`dozor.detect.secrets`, shared with the notebook scanner and the guard; this module
only decodes the file and places the matches.

- DZ-SEC-001..007: see `dozor.detect.secrets` (one rule per family of credential).
- DZ-SEC-008 INFO: the file is larger than the limit; only its start was checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from dozor.detect.secrets import find_secrets, secret_findings
from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, ScanContext, finding

SCANNER = "secrets"
MAX_TEXT_BYTES = 10_000_000
"""Bytes decoded and searched per file; a larger text file is checked up to here."""


def scan_secrets(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Report every credential in the first `MAX_TEXT_BYTES` of a text file."""
    size = blob.size
    text = bytes(blob.data[:MAX_TEXT_BYTES]).decode("utf-8", "replace")
    ctx.check_time()
    yield from secret_findings(find_secrets(text, max_bytes=MAX_TEXT_BYTES), blob.location,
                               SCANNER)
    if size > MAX_TEXT_BYTES:
        yield finding(
            "DZ-SEC-008",
            "Text file larger than the secret-scan limit; only its start was checked",
            Severity.INFO,
            blob.location,
            evidence=f"{size} bytes; the first {MAX_TEXT_BYTES} were searched for secrets",
            remediation="Split the file or check the rest by other means if it may hold "
            "credentials.",
            scanner=SCANNER,
            taxonomy=("LLM02:2025",),
        )
