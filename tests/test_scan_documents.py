"""`dozor scan` reports hidden text in documents and nothing in the same clean documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dozor
from dozor.cli import app
from tests.docs_fixtures import INJECTION, VISIBLE, docx, pdf, pdf_text


def _injection_detector_available() -> bool:
    try:
        from dozor.detect.injection import detect_injection
    except Exception:  # noqa: BLE001
        return False
    return bool(detect_injection(INJECTION).flagged)


def _write_set(folder: Path, hidden: bool) -> None:
    folder.mkdir()
    extra = f'<p style="color:#ffffff">{INJECTION}</p>' if hidden else ""
    (folder / "page.html").write_text(f"<!doctype html><body><p>{VISIBLE}</p>{extra}</body>")
    runs = [("", VISIBLE)] + ([('<w:sz w:val="1"/>', INJECTION)] if hidden else [])
    (folder / "cv.docx").write_bytes(docx(runs))
    lines = [pdf_text(72, 700, VISIBLE)]
    if hidden:
        lines.append(pdf_text(72, 650, INJECTION, colour="1 1 1 rg"))
    (folder / "report.pdf").write_bytes(pdf(lines))
    style = ' style="display:none"' if hidden else ""
    body = INJECTION if hidden else "ok"
    (folder / "notes.md").write_text(f"# Notes\n\n{VISIBLE}\n\n<div{style}>{body}</div>\n")


def test_hidden_text_reported_per_document(tmp_path: Path) -> None:
    _write_set(tmp_path / "bad", hidden=True)
    report = dozor.scan(tmp_path / "bad")
    by_file = {}
    for f in report.findings:
        if f.rule_id.startswith("DZ-DOC"):
            by_file.setdefault(Path(f.location.path).name, set()).add(f.rule_id)
    expected = "DZ-DOC-001" if _injection_detector_available() else "DZ-DOC-002"
    assert by_file == {name: {expected} for name in ("page.html", "cv.docx", "report.pdf",
                                                       "notes.md")}


def test_clean_documents_are_not_flagged(tmp_path: Path) -> None:
    _write_set(tmp_path / "good", hidden=False)
    report = dozor.scan(tmp_path / "good")
    assert [f for f in report.findings if f.rule_id.startswith("DZ-DOC")] == []
    assert report.errors == []


def test_cli_json_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from typer.testing import CliRunner

    _write_set(tmp_path / "bad", hidden=True)
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "bad" / "cv.docx"), "-f", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert {f["rule_id"] for f in data["findings"]} & {"DZ-DOC-001", "DZ-DOC-002"}
