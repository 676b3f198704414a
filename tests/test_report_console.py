"""Console output: grouping, summary, taxonomy names, and safety against hostile text."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from dozor.findings import Finding, Location, Report, ScannedFile, Severity
from dozor.report import console, render_to

ROOT = Path(__file__).resolve().parents[1]


def report(n_files: int = 40) -> Report:
    return Report(
        findings=[
            Finding(
                "DZ-CODE-007",
                "torch.load without weights_only",
                Severity.MEDIUM,
                Location("train.py", line=12),
                remediation="Pass weights_only=True.",
                taxonomy=("AML.T0010.003",),
            ),
            Finding(
                "DZ-PKL-001",
                "Pickle calls os.system",
                Severity.CRITICAL,
                Location("model.zip", ("data.pkl",)),
                evidence="os.system",
                remediation="Do not load this file.",
                taxonomy=("ML06:2023", "AML.T0011.001"),
                scanner="pickle",
            ),
            Finding(
                "DZ-CODE-008",
                "pickle.load of a download",
                Severity.MEDIUM,
                Location("train.py", line=30),
            ),
        ],
        files=[ScannedFile(f"f{i}", 1, (), 0.0) for i in range(n_files)],
    )


def show(r: Report, verbose: bool = False, terminal: bool = False) -> str:
    """What `console.render` prints, with rich's cell padding stripped from line ends."""
    buffer = io.StringIO()
    colours = "standard" if terminal else None
    con = Console(file=buffer, width=120, force_terminal=terminal, color_system=colours)
    console.render(r, con, verbose=verbose)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def test_summary_line() -> None:
    assert console.summary(report()) == (
        "3 findings in 2 of 40 files: 1 critical, 2 medium; 0 suppressed"
    )
    one = Report(findings=report().findings[:1], files=report(1).files, suppressed=4)
    assert console.summary(one) == "1 finding in 1 of 1 file: 1 medium; 4 suppressed"
    assert console.summary(Report(files=report().files)) == "No findings in 40 files; 0 suppressed"
    assert console.summary(Report(findings=report().findings)) == (
        "3 findings in 2 files: 1 critical, 2 medium; 0 suppressed"
    )


def test_groups_by_file_worst_first() -> None:
    out = show(report())
    assert out.index("model.zip") < out.index("train.py")
    assert out.index("DZ-CODE-007") < out.index("DZ-CODE-008")
    assert "CRITICAL" in out and "MEDIUM" in out
    assert "at: data.pkl\n" in out and "at: line 12\n" in out
    assert "evidence: os.system" in out
    assert "fix: Do not load this file." in out
    assert "ML06:2023 AI Supply Chain Attacks; AML.T0011.001 User Execution: Malicious" in out
    assert out.rstrip().endswith("3 findings in 2 of 40 files: 1 critical, 2 medium; 0 suppressed")


def test_verbose_adds_details() -> None:
    fingerprint = report().findings[1].fingerprint()
    assert fingerprint not in show(report())
    out = show(report(), verbose=True)
    assert fingerprint in out and "scanner: pickle" in out and "confidence: 1.00" in out
    assert "Scanned" in out


def test_errors_are_listed() -> None:
    r = Report(errors=["missing.pkl does not exist"])
    out = show(r)
    assert "Could not read 1 input:" in out and "missing.pkl does not exist" in out


def test_hostile_text_cannot_drive_the_terminal() -> None:
    evil = Finding(
        "DZ-X-1",
        "[bold red]fake[/] title",
        Severity.HIGH,
        Location("a\x1b]0;pwned\x07.pkl", ("\u202egnp.exe",)),
        evidence="\x1b[2J\x1b[31mcleared",
        remediation="\r\x1b[1Aup",
    )
    out = show(Report(findings=[evil]), terminal=True)
    for raw in ("\x1b[2J", "\x1b]0;", "\x07", "\u202e", "\x1b[1A", "\r"):
        assert raw not in out
    assert "\\x1b[2J" in out and "\\u202egnp.exe" in out
    assert "[bold red]fake[/] title" in out  # shown as text, not taken as markup


def test_import_does_not_load_rich() -> None:
    code = "import sys, dozor.report.console, dozor.report; assert 'rich' not in sys.modules"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_console_to_file_is_plain_text(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    render_to(report(), "console", out)
    text = out.read_text()
    assert "\x1b" not in text and "Pickle calls os.system" in text
