"""JSON output and the `render_to` helper."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dozor.findings import Finding, Location, Report, ScannedFile, Severity
from dozor.report import FORMATS, json_report, render_to


def report() -> Report:
    return Report(
        version="0.1.0",
        started=1_700_000_000.0,
        seconds=0.25,
        findings=[
            Finding(
                "DZ-PKL-001",
                "Pickle calls os.system",
                Severity.CRITICAL,
                Location("m.zip", ("data.pkl",), offset=7),
                evidence="os.system",
                taxonomy=("ML06:2023",),
                details=(("import", "os.system"),),
            ),
            Finding("DZ-X-002", "Odd name", Severity.LOW, Location("caf\u00e9/\udcff.bin")),
        ],
        files=[ScannedFile("m.zip", 100, ("zip", "pickle"), 0.1)],
        suppressed=1,
    )


def test_round_trips_to_the_data_model() -> None:
    text = json_report.render(report())
    assert json.loads(text) == json.loads(json.dumps(report().to_dict()))
    data = json.loads(text)
    assert list(data) == [
        "tool",
        "version",
        "started",
        "seconds",
        "summary",
        "findings",
        "files",
        "errors",
    ]
    assert data["summary"]["by_severity"] == {
        "critical": 1,
        "high": 0,
        "medium": 0,
        "low": 1,
        "info": 0,
    }
    assert data["findings"][0]["location"]["members"] == ["data.pkl"]
    assert data["findings"][0]["fingerprint"] == report().findings[0].fingerprint()


def test_is_indented_ascii_and_stable() -> None:
    text = json_report.render(report())
    assert text == json_report.render(report())
    assert text.startswith('{\n  "tool": "dozor",')
    assert text.isascii()  # undecodable file names survive as escapes
    assert "\\udcff" in text


def test_render_to_stream_and_path(tmp_path: Path) -> None:
    stream = io.StringIO()
    render_to(report(), "json", stream)
    assert json.loads(stream.getvalue())["summary"]["suppressed"] == 1
    assert stream.getvalue().endswith("}\n")
    out = tmp_path / "r.json"
    render_to(report(), "json", out)
    assert out.read_text() == stream.getvalue()
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left
    render_to(report(), "sarif", str(tmp_path / "r.sarif"), base_dir=tmp_path)
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


def test_render_to_rejects_unknown_format(tmp_path: Path) -> None:
    assert FORMATS == ("console", "json", "sarif", "html")
    with pytest.raises(ValueError, match="choose one of console, json, sarif, html"):
        render_to(report(), "pdf", tmp_path / "x")
    assert not (tmp_path / "x").exists()
