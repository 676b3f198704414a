"""`dozor redteam` on the command line, and its HTML report in a real browser."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from typer.testing import CliRunner

from dozor.cli import app
from tests.browser import dump_dom

runner = CliRunner()
DEMO = "dozor.redteam.demo.app:chat"


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["redteam", "--no-store", *args])


def test_json_report_and_fail_above(tmp_path: Path) -> None:
    out = tmp_path / "rt.json"
    res = _run("-t", DEMO, "-p", "injection,sysprompt", "-f", "json", "-o", str(out),
               "--fail-above", "50%")
    assert res.exit_code == 1, res.output
    data = json.loads(out.read_text())
    rt = data["redteam"]
    assert rt["attack_success_rate"] > 0.9 and rt["overall"]["attempts"] == 26
    assert set(rt["by_family"]) == {"injection", "sysprompt"}
    assert data["report"]["findings"][0]["rule_id"].startswith("DZ-RT-")
    assert rt["worst"] and rt["worst"][0]["success"]
    ok = _run("-t", DEMO, "-p", "injection", "-f", "json", "-o", str(out), "--fail-above", "1")
    assert ok.exit_code == 0


def test_sarif_junit_console_and_errors(tmp_path: Path) -> None:
    sarif = tmp_path / "rt.sarif"
    assert _run("-t", DEMO, "-p", "leakage", "-f", "sarif", "-o", str(sarif)).exit_code == 0
    doc = json.loads(sarif.read_text())
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == {"DZ-RT-003"}
    junit = tmp_path / "rt.xml"
    assert _run("-t", DEMO, "-p", "agency", "-f", "junit", "-o", str(junit)).exit_code == 0
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) > 0
    assert suite.find("testcase/failure") is not None
    con = _run("-t", DEMO, "-p", "crescendo")
    assert con.exit_code == 0 and "attack-success rate" in con.output
    assert _run("-t", DEMO, "-p", "nosuch").exit_code == 2
    assert _run("-t", DEMO, "--fail-above", "150%").exit_code == 2
    assert _run("-t", "no_such_module_xyz:fn").exit_code == 2
    listing = runner.invoke(app, ["redteam", "probes"])
    assert listing.exit_code == 0 and "crescendo" in listing.output


def test_unreachable_target_is_an_error() -> None:
    res = _run("-t", "http://127.0.0.1:9/v1", "-p", "injection.direct.en.0", "--retries", "0")
    assert res.exit_code == 2


def test_html_report_shows_the_category_chart_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "rt.html"
    res = _run("-t", DEMO, "-p", "injection,leakage,agency,jailbreak", "-f", "html", "-o",
               str(page))
    assert res.exit_code == 0, res.output
    dom = dump_dom(page)
    assert 'id="chart-owasp"' in dom and "<svg" in dom
    chart = dom.split('id="chart-owasp"', 1)[1].split("</svg>", 1)[0]
    labels = {part.split('"', 1)[0] for part in chart.split('data-label="')[1:]}
    assert labels == {"LLM01 Prompt Injection", "LLM02 Sensitive Info Disclosure",
                      "LLM06 Excessive Agency"}  # one bar per category
    assert "Worst transcripts" in dom and "attack-success rate" in dom


def test_judge_model_is_asked_through_an_openai_target(tmp_path: Path) -> None:
    from dozor.redteam.demo.server import DemoServer

    def judge(messages, tools=None):  # type: ignore[no-untyped-def]
        return {"role": "assistant", "content": "YES" if "DZ-PWNED" in
                messages[-1]["content"] else "NO"}

    out = tmp_path / "rt.json"
    with DemoServer(respond=judge) as server:
        res = _run("-t", DEMO, "-p", "injection.direct.en.0", "--judge", server.url,
                   "-f", "json", "-o", str(out))
    assert res.exit_code == 0, res.output
    verdicts = json.loads(out.read_text())["results"][0]["verdicts"]
    assert {"detector": "judge", "hit": True} .items() <= next(
        v for v in verdicts if v["detector"] == "judge").items()
