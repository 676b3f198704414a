"""The labelled corpus from bench/models (standard-library part, so CI can build it):
every malicious file is flagged at the default policy, no benign file is, and no
payload ran (each would have created a marker file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dozor
from dozor.findings import Severity

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    base = tmp_path_factory.mktemp("corpus")
    markers = base / "markers"
    markers.mkdir()
    out = base / "c"
    subprocess.run([sys.executable, str(ROOT / "bench" / "models" / "make_corpus.py"), str(out),
                    "--marker-dir", str(markers), "--only-stdlib"], check=True,
                   capture_output=True)
    manifest = json.loads((out / "manifest.json").read_text())
    items = manifest if isinstance(manifest, list) else manifest["files"]
    return out, markers, items


def test_corpus_is_big_enough(corpus) -> None:  # type: ignore[no-untyped-def]
    _, _, items = corpus
    assert sum(i["label"] == "malicious" for i in items) >= 60


def test_every_malicious_file_flagged_no_benign_file_flagged_no_payload_ran(corpus) -> None:  # type: ignore[no-untyped-def]
    out, markers, items = corpus
    report = dozor.scan(out, workers=2)
    assert not report.errors
    flagged: dict[str, list[str]] = {}
    for f in report.findings:
        if f.severity >= Severity.MEDIUM:
            flagged.setdefault(f.location.path, []).append(f.rule_id)

    def hits(rel: str) -> list[str]:
        target = str(out / rel)
        return [r for p, rs in flagged.items() if p == target or p.startswith(target + "/")
                for r in rs]

    missed = [i["file"] for i in items if i["label"] == "malicious" and not hits(i["file"])]
    false = [(i["file"], hits(i["file"])) for i in items
             if i["label"] == "benign" and hits(i["file"])]
    assert not missed, missed
    assert not false, false
    assert list(markers.iterdir()) == [], "a payload ran"
    assert not any(f.rule_id == "DZ-GEN-001" for f in report.findings), "a parser crashed"
