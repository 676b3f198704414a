"""The report for a person at a terminal: findings grouped by file, worst first.

Every string that came from a scanned file goes through `printable` and into a rich
`Text` (never markup), so neither escape sequences nor ``[bold]``-style markup in a
hostile file can change what the terminal shows. rich is imported on first render,
not on import, to keep ``dozor --help`` fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from dozor.findings import Finding, Report, Severity
from dozor.report.text import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
MAX_FILES_SHOWN = 200  # the verbose list of scanned files; a registry may hold 100k


def render(report: Report, console: Console, verbose: bool = False) -> None:
    """Print `report` on `console`: one block per file with findings, then a summary."""
    from rich.table import Table
    from rich.text import Text

    for path, findings in _by_file(report.findings):
        console.print()
        console.print(Text(printable(path), style="bold underline"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=10)  # " CRITICAL ": badges line up across files
        grid.add_column(no_wrap=True)
        grid.add_column()
        for f in findings:
            grid.add_row(_badge(f.severity), Text(f.rule_id, style="bold"), _body(f, verbose))
        console.print(grid)
    if report.errors:
        console.print()
        console.print(Text(f"Could not read {_count(len(report.errors), 'input')}:", style="red"))
        for e in report.errors:
            console.print(Text("  " + printable(e)))
    if verbose and report.files:
        console.print()
        console.print(_files_table(report))
    console.print()
    worst = report.max_severity()
    console.print(Text(summary(report), style=STYLE[worst] if worst is not None else "green"))


def summary(report: Report) -> str:
    """``3 findings in 2 of 40 files: 1 critical, 2 medium; 0 suppressed``."""
    n, scanned = len(report.findings), len(report.files)
    hit = len({f.location.path for f in report.findings})
    if n == 0:
        where = f"in {_count(scanned, 'file')}" if scanned else ""
        return " ".join(filter(None, ("No findings", where))) + f"; {report.suppressed} suppressed"
    where = f"{hit} of {_count(scanned, 'file')}" if scanned >= hit else _count(hit, "file")
    counts = [
        f"{k} {s}"
        for s in sorted(Severity, reverse=True)
        if (k := sum(1 for f in report.findings if f.severity == s))
    ]
    return f"{_count(n, 'finding')} in {where}: {', '.join(counts)}; {report.suppressed} suppressed"


def _by_file(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.location.path, []).append(f)
    for fs in groups.values():
        fs.sort(key=lambda f: (-f.severity, f.rule_id, f.location.members, f.location.line or 0))
    return sorted(groups.items(), key=lambda kv: (-max(f.severity for f in kv[1]), kv[0]))


def _badge(severity: Severity) -> Text:
    from rich.text import Text

    return Text(f" {severity.name} ", style=STYLE[severity])


def _body(f: Finding, verbose: bool) -> Text:
    from rich.text import Text

    from dozor.taxonomy import describe

    body = Text(printable(f.title, newlines=False))
    where = ["!".join(f.location.members)]
    if f.location.line is not None:
        where.append(f"line {f.location.line}")
    elif f.location.offset is not None:
        where.append(f"offset {f.location.offset}")
    _field(body, "at", ", ".join(w for w in where if w))
    _field(body, "evidence", f.evidence)
    _field(body, "fix", f.remediation)
    _field(body, "maps to", "; ".join(describe(t) for t in f.taxonomy))
    if verbose:
        _field(body, "confidence", f"{f.confidence:.2f}")
        _field(body, "scanner", f.scanner)
        _field(body, "details", ", ".join(f"{k}={v}" for k, v in f.details))
        _field(body, "fingerprint", f.fingerprint())
    return body


def _field(body: Text, label: str, value: str) -> None:
    if value:
        body.append(f"\n{label}: ", style="dim")
        body.append(printable(value))


def _files_table(report: Report) -> object:
    from rich.table import Table

    table = Table("file", "size", "formats", "seconds", title="Scanned", title_justify="left")
    for sf in report.files[:MAX_FILES_SHOWN]:
        table.add_row(
            printable(sf.path), f"{sf.size:,}", ", ".join(sf.formats), f"{sf.seconds:.3f}"
        )
    if len(report.files) > MAX_FILES_SHOWN:
        table.caption = f"and {len(report.files) - MAX_FILES_SHOWN:,} more files"
    return table


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
