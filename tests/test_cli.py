"""The `dozor scan` command: exit codes, output formats, policy, errors."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from dozor.cli import app

runner = CliRunner()
SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


class Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def tree(tmp_path: Path, marker) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "models"
    (root / "sub").mkdir(parents=True)
    (root / "clean.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    (root / "sub" / "evil.bin").write_bytes(pickle.dumps(Payload(marker()), protocol=2))
    (root / "unknown.pkl").write_bytes(
        b"\x80\x04\x8c\x05mylib\x8c\x05Thing\x93)\x81."
    )
    (root / "README.md").write_text("# not a model\n")
    return root


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_exit_0_when_clean(tree: Path) -> None:
    code, out = run("scan", str(tree / "clean.pkl"))
    assert code == 0, out


def test_exit_1_on_findings_and_fail_on_threshold(tree: Path) -> None:
    assert run("scan", str(tree))[0] == 1
    assert run("scan", str(tree / "unknown.pkl"))[0] == 1  # medium fails by default
    assert run("scan", str(tree / "unknown.pkl"), "--fail-on", "high")[0] == 0
    assert run("scan", str(tree / "sub"), "--fail-on", "critical")[0] == 1


def test_exit_2_on_usage_and_io_errors(tree: Path) -> None:
    code, out = run("scan", str(tree / "missing.pt"))
    assert code == 2 and "no such file" in out
    assert run("scan", str(tree), "--fail-on", "severe")[0] == 2
    assert run("scan", str(tree), "--format", "xml")[0] == 2
    assert run("scan")[0] == 2
    code, out = run("scan", str(tree), "--advisory-db", str(tree / "no-such-db"))
    assert code == 2 and "advisory-db" in out
    assert run("scan", str(tree), "--output", str(tree / "nope" / "r.json"))[0] == 2


def test_json_output(tree: Path) -> None:
    code, out = run("scan", str(tree), "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["summary"]["files"] == 4
    by_rule = {f["rule_id"]: f for f in data["findings"]}
    assert by_rule["DZ-PKL-001"]["severity"] == "critical"
    assert by_rule["DZ-PKL-001"]["location"]["path"].endswith("evil.bin")
    assert by_rule["DZ-PKL-002"]["details"]["import"] == "mylib.Thing"


def test_sarif_output_validates(tree: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "report.sarif"
    code, _ = run("scan", str(tree), "--format", "sarif", "--output", str(out_file))
    assert code == 1
    log = json.loads(out_file.read_text())
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"DZ-PKL-001", "DZ-PKL-002"}
    assert any(r["level"] == "error" for r in results)


def test_policy_allow_imports_and_suppressions(tree: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("allow_imports: [mylib.*]\n")
    assert run("scan", str(tree / "unknown.pkl"), "--policy", str(policy))[0] == 0
    policy.write_text("suppress:\n  - rule: DZ-PKL-*\n    path: '*/sub/*'\n    reason: test\n")
    code, out = run("scan", str(tree / "sub"), "--policy", str(policy), "-f", "json")
    assert code == 0 and json.loads(out)["summary"]["suppressed"] >= 1
    policy.write_text("fail_on: critical\n")
    assert run("scan", str(tree / "unknown.pkl"), "--policy", str(policy))[0] == 0


@pytest.mark.parametrize("text,word", [
    ("fail_on: sometimes\n", "fail_on"),
    ("colour: red\n", "colour"),
    ("suppress:\n  - because: yes\n", "suppress"),
    ("limits:\n  seconds_per_file: -1\n", "seconds_per_file"),
    ("a: [\n", "YAML"),
])
def test_bad_policy_is_one_line_error(tmp_path: Path, tree: Path, text: str, word: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(text)
    code, out = run("scan", str(tree), "--policy", str(policy))
    assert code == 2
    assert word in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1


def test_real_process_exit_codes_and_parallel_workers(tree: Path) -> None:
    exe = [sys.executable, "-m", "dozor.cli"]
    clean = subprocess.run([*exe, "scan", str(tree / "clean.pkl")], capture_output=True)
    assert clean.returncode == 0
    dirty = subprocess.run([*exe, "scan", str(tree), "-j", "2", "-f", "json"],
                           capture_output=True, text=True)
    assert dirty.returncode == 1
    assert json.loads(dirty.stdout)["summary"]["files"] == 4


def test_library_call(tree: Path) -> None:
    import dozor

    report = dozor.scan(tree, workers=1)
    assert {f.rule_id for f in report.findings} >= {"DZ-PKL-001", "DZ-PKL-002"}
    assert len(report.files) == 4
