"""Personal data in dataset files: one finding per column that holds it.

Why per column and not per value: a table with a million phone numbers would otherwise
give a million findings; what a reviewer needs is "column `phone` holds phone numbers in
97% of 1.2M values", with a few redacted examples, to decide whether the column may go
into training (GDPR, 152-FZ) and which anonymisation it needs (`dozor anonymize`).

The file is streamed (`dozor.data.readers`) and profiled (`dozor.data.profile`) in
bounded memory. The handler keeps to the engine's per-file deadline itself: it stops a
few seconds before it, reports the columns seen so far and says the profile is partial
(DZ-PII-011) instead of letting the engine abandon the file. A progress bar is drawn on
standard error when the scan runs in the main process on a terminal.

Rules (docs/rules.md, "Personal data in datasets"):

- DZ-PII-001 HIGH: a column holds government or financial identifiers (payment cards,
  IBANs, passports, INN, SNILS, US SSN).
- DZ-PII-002 MEDIUM: a column holds direct identifiers or contact data (names, emails,
  phones, postal addresses, dates of birth).
- DZ-PII-003 LOW: a column holds network identifiers (IP addresses) or URLs only, a
  few values (at most `FEW` and under 0.1%) of any type, or names and addresses in
  under 2% of a column that is not free text: likely incidental or look-alikes.
- DZ-PII-010 MEDIUM: the file has a dataset's name but cannot be read as a table.
- DZ-PII-011 INFO: only part of the file was profiled (time limit); shares cover the
  rows read.
- DZ-PII-012 INFO: malformed rows were skipped.
- DZ-PII-013 INFO: not checked, because the ``data`` extra (pyarrow) is not installed.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, ScanContext, finding

if TYPE_CHECKING:
    from dozor.data.readers import TableReader

SCANNER = "dataset"
TAXONOMY = ("LLM02:2025", "ML03:2023", "ML04:2023", "AML.T0057", "AML.T0024.000")
"""Sensitive information disclosure; model inversion and membership inference recover
training records; LLM data leakage; inferring training-data membership."""

IDENTIFIERS = frozenset({"CREDIT_CARD", "IBAN", "RU_PASSPORT", "RU_INN", "RU_SNILS", "US_SSN"})
DIRECT = frozenset({"PERSON", "EMAIL", "PHONE", "ADDRESS", "DATE_OF_BIRTH"})
FEW = 3
"""At most this many values (and under 0.1% of the column) count as incidental."""
FUZZY = frozenset({"PERSON", "ADDRESS"})
FUZZY_SHARE = 0.02
"""Names and addresses in under 2% of a column that is not free text are reported LOW:
in a column of company or product names that share is mostly look-alikes."""
DEADLINE_MARGIN = 5.0
"""Seconds before the engine's per-file deadline at which profiling stops."""

NAMES = {
    "EMAIL": "email addresses", "PHONE": "phone numbers", "CREDIT_CARD": "payment card numbers",
    "IBAN": "IBANs", "IP_ADDRESS": "IP addresses", "DATE_OF_BIRTH": "dates of birth",
    "PERSON": "personal names", "ADDRESS": "postal addresses", "RU_PASSPORT": "Russian passports",
    "RU_INN": "INN (Russian taxpayer numbers)", "RU_SNILS": "SNILS (Russian insurance numbers)",
    "US_SSN": "US social security numbers", "URL": "URLs",
}


def _human(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return str(n)


def _pct(share: float) -> str:
    if share >= 0.995:
        return "100%" if share == 1 else f"{share:.1%}"
    return f"{share:.0%}" if share >= 0.01 else f"{share:.2%}"


def _progress(blob: Blob, reader: TableReader
              ) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A rich bar on stderr in the main process on a terminal, else nothing. It counts
    rows when the file says how many it has (Parquet), else bytes read (CSV, JSONL)."""
    if multiprocessing.parent_process() is not None or not sys.stderr.isatty():
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    total = reader.num_rows
    bar = Progress(TextColumn(f"profiling {blob.name[-40:]}"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TextColumn("{task.fields[rows]} rows"),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("rows", total=total or max(1, blob.size), rows=0)
    bar.start()
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        bar.update(task, completed=done[0] if total else reader.bytes_read, rows=done[0])

    return advance, bar.stop


def scan_dataset(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Profile every column of a dataset file and report those holding personal data."""
    try:
        import pyarrow  # noqa: F401 - the data extra
    except ImportError:
        yield finding(
            "DZ-PII-013", "Dataset not checked for personal data: the data extra is missing",
            Severity.INFO, blob.location, evidence="pyarrow is not installed",
            remediation="pip install 'dozor[data]' to profile CSV, JSON Lines and Parquet "
            "files.", scanner=SCANNER, taxonomy=("LLM02:2025",))
        return
    from dozor.data.profile import profile_table
    from dozor.data.readers import DataError, open_table_buffer

    try:
        reader = open_table_buffer(blob.data, blob.name)
    except DataError as exc:
        yield _unreadable(blob, str(exc))
        return
    advance, stop = _progress(blob, reader)
    try:
        profile = profile_table(blob.name, reader=reader, progress=advance,
                                deadline=ctx.deadline - DEADLINE_MARGIN)
    except DataError as exc:
        yield _unreadable(blob, str(exc))
        return
    finally:
        stop()
        reader.close()
    for col in profile.personal_columns():
        yield _column_finding(blob, col, profile.rows)
    if not profile.complete and profile.stopped_by != "max_rows":
        yield finding(
            "DZ-PII-011", "Only part of the dataset was checked for personal data",
            Severity.INFO, blob.location,
            evidence=f"{profile.rows} rows profiled in {profile.seconds:.0f}s before the "
            f"{profile.stopped_by}; shares cover those rows",
            remediation="Raise limits.seconds_per_file in the policy for large datasets, or "
            "profile the file alone (it streams in bounded memory).",
            scanner=SCANNER, taxonomy=("LLM02:2025",))
    if profile.skipped_rows:
        yield finding(
            "DZ-PII-012", "Malformed rows were skipped while checking the dataset",
            Severity.INFO, blob.location,
            evidence=f"{profile.skipped_rows} rows did not parse (wrong number of fields or "
            "not JSON) and were not checked",
            remediation="Fix or remove the malformed rows; a reader used for training may "
            "treat them differently.",
            scanner=SCANNER, taxonomy=("ML02:2023",))
    ctx.check_time()


def _unreadable(blob: Blob, message: str) -> Finding:
    return finding(
        "DZ-PII-010", "File named as a dataset cannot be read as a table", Severity.MEDIUM,
        blob.location, evidence=message[:300],
        remediation="Check the file: a truncated or mislabelled dataset may also be read "
        "differently by the training pipeline.",
        scanner=SCANNER, taxonomy=("ML02:2023",))


def _column_finding(blob: Blob, col: object, rows: int) -> Finding:
    from dozor.data.profile import ColumnProfile

    assert isinstance(col, ColumnProfile)
    kinds = {e.entity for e in col.entities}
    main = col.entities[0]
    incidental = all(
        (e.values <= FEW and e.share < 0.001)
        or (not col.free_text and e.entity in FUZZY and e.share < FUZZY_SHARE)
        for e in col.entities)
    if incidental or not (kinds & (IDENTIFIERS | DIRECT)):
        rule, severity = "DZ-PII-003", Severity.LOW
    elif kinds & IDENTIFIERS:
        rule, severity = "DZ-PII-001", Severity.HIGH
    else:
        rule, severity = "DZ-PII-002", Severity.MEDIUM
    parts = [f"{NAMES.get(e.entity, e.entity)} in {_pct(e.share)} ({e.values})"
             for e in col.entities]
    examples = "; ".join(f"{e.entity}: {', '.join(e.examples)}" for e in col.entities[:3])
    kind = "free-text column" if col.free_text else "column"
    title = (f"{kind.capitalize()} '{col.name}' holds {NAMES.get(main.entity, main.entity)} "
             f"({_pct(main.share)} of {_human(col.values)} values)")
    return finding(
        rule, title, severity, blob.location.child(f"column {col.name}"),
        evidence=f"{kind} '{col.name}': " + ", ".join(parts) + f" of {col.values} non-empty "
        f"values; examples (redacted) {examples}",
        remediation="Drop the column or anonymise it before training (`dozor anonymize`: "
        "keyed pseudonyms keep joins, masking or generalising keep formats); for free "
        "text, redact the matches. Record the legal basis if it must stay.",
        scanner=SCANNER, taxonomy=TAXONOMY, confidence=0.9 if main.share >= 0.5 else 0.6,
        details={"column": col.name, "type": col.type, "rows": str(rows),
                 "values": str(col.values), "free_text": str(col.free_text).lower(),
                 "entities": json.dumps([{"entity": e.entity, "values": e.values,
                                          "share": round(e.share, 4),
                                          "examples": list(e.examples)}
                                         for e in col.entities], ensure_ascii=False)})
