"""`dozor scan .` on a repository with a model, code, a notebook, dependencies and a
manifest: one report with all of them, in console, JSON and SARIF."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from dozor.cli import app

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


class Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def repo(tmp_path: Path, marker) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "deploy").mkdir()
    (root / "models" / "model.pt").write_bytes(pickle.dumps(Payload(marker()), protocol=2))
    (root / "train.py").write_text(
        "import pickle\n\ndef load(path):\n    with open(path, 'rb') as f:\n"
        "        return pickle.load(f)\n"
    )
    token = "hf_" + "Qm9vbGVhbkxvZ2ljSXNGdW4" + "k3Pz7TqW2mR"
    notebook = {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# demo"]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1,
             "source": ["import os\n", "print(os.environ['HF_TOKEN'])"],
             "outputs": [{"output_type": "stream", "name": "stdout", "text": [token + "\n"]}]},
        ],
    }
    (root / "explore.ipynb").write_text(json.dumps(notebook))
    (root / "requirements.txt").write_text("torch==2.5.1\nnumpy\n")
    (root / "deploy" / "vllm.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: vllm\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: vllm\n"
        "        image: vllm/vllm-openai:latest\n"
        "        args: ['--model', 'x', '--trust-remote-code']\n"
    )
    return root


def test_one_report_with_every_kind_of_finding(repo: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    json_out = tmp_path / "r.json"
    result = runner.invoke(app, ["scan", str(repo), "-f", "json", "-o", str(json_out)])
    assert result.exit_code == 1, result.output
    report = json.loads(json_out.read_text())
    by_file: dict[str, set[str]] = {}
    for f in report["findings"]:
        by_file.setdefault(Path(f["location"]["path"]).name, set()).add(f["rule_id"])
    assert any(r.startswith("DZ-PKL") for r in by_file["model.pt"])
    assert any(r.startswith("DZ-CODE") for r in by_file["train.py"])
    assert any(r.startswith("DZ-SEC") for r in by_file["explore.ipynb"])
    assert any(r.startswith("DZ-DEP") for r in by_file["requirements.txt"])
    assert any(r.startswith("DZ-IAC") for r in by_file["vllm.yaml"])
    assert "Qm9vbGVhbkxvZ2ljSXNGdW4k3Pz7TqW2mR" not in json_out.read_text()

    sarif_out = tmp_path / "r.sarif"
    runner.invoke(app, ["scan", str(repo), "-f", "sarif", "-o", str(sarif_out)])
    log = json.loads(sarif_out.read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    rule_ids = {r["ruleId"] for r in log["runs"][0]["results"]}
    assert {p.split("-")[1] for p in rule_ids} >= {"PKL", "CODE", "SEC", "DEP", "IAC"}

    console = runner.invoke(app, ["scan", str(repo)])
    text = console.output.replace("\n", "")  # long paths wrap on a narrow terminal
    for name in ("model.pt", "train.py", "explore.ipynb", "requirements.txt", "vllm.yaml"):
        assert name in text
