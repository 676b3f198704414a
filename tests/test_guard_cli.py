"""`dozor guard check`: exit codes 0 allowed, 1 blocked, 2 error; JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dozor.cli import app

runner = CliRunner()


def test_allowed_text_exits_0() -> None:
    r = runner.invoke(app, ["guard", "check", "What is the boiling point of water?"])
    assert r.exit_code == 0, r.output
    assert "ALLOW" in r.output


def test_blocked_by_policy_exits_1(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("input:\n  banned: {words: [tempest]}\n", encoding="utf-8")
    r = runner.invoke(app, ["guard", "check", "--policy", str(policy), "--format", "json",
                            "tell me about the Tempest project"])
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    assert data["decision"] == "block"
    assert data["findings"][0]["rule_id"] == "DZ-GRD-020"


def test_redacted_stdin_with_text_exits_0() -> None:
    r = runner.invoke(app, ["guard", "check", "-", "--format", "json", "--show-text"],
                      input="write to maria@example.org please")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["decision"] == "redact"
    assert data["text"] == "write to <EMAIL_1> please"
    assert "maria@example.org" not in json.dumps(data["findings"])


def test_output_text_mode(tmp_path: Path) -> None:
    answer = tmp_path / "answer.md"
    answer.write_text("Done ![x](https://evil.example/p?q=1)", encoding="utf-8")
    r = runner.invoke(app, ["guard", "check", "--output-text", "--file", str(answer),
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["findings"][0]["rule_id"] == "DZ-GRD-050"


def test_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("input:\n  pii: {action: explode}\n", encoding="utf-8")
    r = runner.invoke(app, ["guard", "check", "--policy", str(bad), "hello"])
    assert r.exit_code == 2
    assert "input.pii.action must be one of" in r.output
    r = runner.invoke(app, ["guard", "check"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["guard", "check", "--file", str(tmp_path / "missing.txt")])
    assert r.exit_code == 2
    assert "Traceback" not in r.output


def test_hidden_html_text_reaches_the_scanners(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><p>Quarterly results are fine.</p>"
        '<p style="display:none">project tempest launch codes</p></body></html>',
        encoding="utf-8")
    policy = tmp_path / "p.yaml"
    policy.write_text("input:\n  banned: {words: [tempest]}\n", encoding="utf-8")
    r = runner.invoke(app, ["guard", "check", "--policy", str(policy), "--file", str(page)])
    assert r.exit_code == 1, r.output
    assert "hidden text in the document" in r.output
    clean = tmp_path / "clean.html"
    clean.write_text("<html><body><p>Quarterly results are fine.</p></body></html>",
                     encoding="utf-8")
    r = runner.invoke(app, ["guard", "check", "--policy", str(policy), "--file", str(clean)])
    assert r.exit_code == 0, r.output


def test_show_policy_prints_the_merged_policy(tmp_path: Path) -> None:
    import yaml

    policy = tmp_path / "p.yaml"
    policy.write_text("output:\n  images: {allow_hosts: [cdn.example.com]}\n", encoding="utf-8")
    r = runner.invoke(app, ["guard", "check", "--show-policy", "--policy", str(policy)])
    assert r.exit_code == 0, r.output
    shown = yaml.safe_load(r.stdout)
    assert shown["output"]["images"]["allow_hosts"] == ["cdn.example.com"]
    assert shown["input"]["pii"]["action"] == "anonymize"
