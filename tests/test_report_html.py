"""The HTML report: escaped, self-contained, charts drawn, and it renders in Chromium."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from dozor.findings import Finding, Location, Report, Severity
from dozor.report import render_to
from dozor.report.html import (
    Section,
    bar_chart_svg,
    line_chart_svg,
    png_img,
    render_html,
)
from tests.browser import dump_dom, screenshot


def _report() -> Report:
    return Report(
        version="0.1.0",
        findings=[
            Finding("DZ-PKL-001", "pickle calls os.system", Severity.CRITICAL,
                    Location("m.pkl"), evidence="<script>alert(1)</script>",
                    taxonomy=("ML06:2023",)),
            Finding("DZ-SEC-001", "secret", Severity.LOW, Location("a.py", line=3)),
        ],
    )


def _png(width: int = 4, height: int = 4) -> bytes:
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_report_content_is_escaped_and_ordered() -> None:
    page = render_html(_report(), title="scan <of> models", summary={"files": "2"})
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "scan &lt;of&gt; models" in page
    assert page.index("DZ-PKL-001") < page.index("DZ-SEC-001")  # worst first
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page


def test_bar_chart_scales_and_escapes() -> None:
    svg = bar_chart_svg(["jailbreak <x>", "leak"], [50.0, 100.0], title="ASR", max_value=100)
    widths = [float(w) for w in re.findall(r'class="bar"[^>]*width="([\d.]+)"', svg)]
    assert widths == [260.0, 520.0]
    assert "jailbreak &lt;x&gt;" in svg


def test_line_chart_has_a_series_per_name() -> None:
    svg = line_chart_svg({"pgd": [(0, 0.9), (0.1, 0.5)], "fgsm": [(0, 0.9), (0.1, 0.7)]},
                         title="robust accuracy", x_label="eps", y_label="accuracy",
                         y_range=(0, 1))
    assert svg.count('class="series"') == 2
    assert svg.count("<circle") == 4


def test_page_renders_in_chromium(tmp_path: Path) -> None:
    sections = [
        Section("Attack success by category",
                bar_chart_svg(["LLM01", "LLM07"], [80.0, 20.0], title="ASR", max_value=100)),
        Section("Curve", line_chart_svg({"pgd": [(0, 1.0), (0.3, 0.2)]}, title="acc",
                                        x_label="eps", y_label="acc")),
        Section("Picture", png_img(_png(), "a red square")),
    ]
    page = tmp_path / "r.html"
    page.write_text(render_html(_report(), title="t", sections=sections), encoding="utf-8")
    dom = dump_dom(page)
    assert dom.count('class="bar"') == 2
    assert 'class="series"' in dom and 'id="findings"' in dom
    assert "data:image/png;base64," in dom
    screenshot(page, tmp_path / "r.png")


def test_render_to_html_file(tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    render_to(_report(), "html", out)
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
