"""The catalogues: the ids dozor uses exist, names are right, loading stays lazy."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dozor import taxonomy
from dozor.taxonomy import build_atlas

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "dozor" / "taxonomy" / "data"
ID_IN_TEXT = re.compile(
    r"\b(?:ML\d\d:\d{4}|LLM\d\d:\d{4}|ASI\d\d|AML\.(?:TA|T|M)\d{4}(?:\.\d{3})?)(?![\w.])"
)


@pytest.mark.parametrize(
    ("id_", "name", "kind"),
    [
        ("AML.T0010", "AI Supply Chain Compromise", "technique"),
        ("AML.T0010.003", "AI Supply Chain Compromise: Model", "sub-technique"),
        ("AML.T0011", "User Execution", "technique"),
        ("AML.T0011.000", "User Execution: Unsafe AI Artifacts", "sub-technique"),
        ("AML.T0011.001", "User Execution: Malicious Package", "sub-technique"),
        ("AML.T0018", "Manipulate AI Model", "technique"),
        ("AML.T0018.002", "Manipulate AI Model: Embed Malware", "sub-technique"),
        ("AML.M0013", "Code Signing", "mitigation"),
        ("AML.M0023", "AI Bill of Materials", "mitigation"),
        ("AML.TA0004", "Initial Access", "tactic"),
        ("ML06:2023", "AI Supply Chain Attacks", "risk"),
        ("LLM01:2025", "Prompt Injection", "risk"),
        ("LLM03:2025", "Supply Chain", "risk"),
        ("ASI04", "Agentic Supply Chain Vulnerabilities", "risk"),
        ("ASI10", "Rogue Agents", "risk"),
    ],
)
def test_known_ids(id_: str, name: str, kind: str) -> None:
    entry = taxonomy.lookup(id_)
    assert entry is not None
    assert (entry.id, entry.name, entry.kind) == (id_, name, kind)
    assert entry.url.startswith("https://")


def test_describe() -> None:
    assert taxonomy.describe("ML06:2023") == "ML06:2023 AI Supply Chain Attacks"
    assert taxonomy.describe(" ml06:2023 ") == "ML06:2023 AI Supply Chain Attacks"
    assert taxonomy.describe("LLM01:2026") == "LLM01:2026"  # another edition: not shipped
    assert taxonomy.describe("nonsense") == "nonsense"


@pytest.mark.parametrize(
    "bad",
    [
        "ML11:2023",
        "ML06:2024",
        "LLM11:2025",
        "ASI11",
        "AML.T9999",
        "AML.T0010.999",
        "aml",
        "",
        "ML06",
    ],
)
def test_unknown_ids(bad: str) -> None:
    assert taxonomy.lookup(bad) is None
    assert taxonomy.unknown(["ML06:2023", bad, bad]) == [bad]
    with pytest.raises(taxonomy.UnknownTaxonomyId, match=re.escape(repr(bad))):
        taxonomy.require_known(["ML06:2023", bad])


def test_require_known_accepts_known() -> None:
    taxonomy.require_known(["ML06:2023", "LLM03:2025", "ASI04", "AML.T0010.003"])


@pytest.mark.parametrize(
    ("framework", "prefix"),
    [
        ("OWASP ML Top 10 2023", "ML"),
        ("OWASP LLM Top 10 2025", "LLM"),
        ("OWASP Agentic Top 10 2026", "ASI"),
    ],
)
def test_owasp_lists_are_complete(framework: str, prefix: str) -> None:
    ids = [e.id for e in taxonomy.entries(framework)]
    assert len(ids) == 10
    assert [i.split(":")[0] for i in ids] == [f"{prefix}{n:02d}" for n in range(1, 11)]


def test_atlas_is_consistent() -> None:
    atlas = {e.id: e for e in taxonomy.entries("MITRE ATLAS")}
    assert taxonomy.atlas_version() == "5.6.0"
    kinds = {
        k: sum(e.kind == k for e in atlas.values())
        for k in ("tactic", "technique", "sub-technique", "mitigation")
    }
    assert all(kinds.values()), kinds
    for e in atlas.values():
        refs = [*e.tactics, *e.techniques, *e.mitigations, *e.subtechniques]
        refs += [e.parent] if e.parent else []
        assert all(r in atlas for r in refs), e.id
        if e.kind in ("technique", "sub-technique"):
            assert e.tactics and all(atlas[t].kind == "tactic" for t in e.tactics), e.id
    assert "AML.M0013" in atlas["AML.T0018.002"].mitigations
    assert "AML.T0010.003" in atlas["AML.T0010"].subtechniques


def test_atlas_json_matches_the_shared_yaml() -> None:
    candidates = [
        os.environ.get("DOZOR_ATLAS_YAML", ""),
        str(ROOT.parent / "shared" / "data" / "atlas" / "ATLAS.yaml"),
        "/work/shared/data/atlas/ATLAS.yaml",
    ]
    source = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if source is None:
        pytest.skip("ATLAS.yaml not available")
    pytest.importorskip("yaml")
    assert build_atlas.build(source) == (DATA / "atlas.json").read_text(encoding="utf-8")


def test_compact_rejects_dangling_parent() -> None:
    bad = {
        "matrices": [
            {"techniques": [{"id": "AML.T0001.000", "name": "x", "subtechnique-of": "AML.T0001"}]}
        ]
    }
    with pytest.raises(ValueError, match="unknown parent"):
        build_atlas.compact(bad)


def test_licence_and_notice_ship_beside_the_data() -> None:
    assert "Apache License" in (DATA / "ATLAS-LICENSE").read_text()
    notice = (DATA / "NOTICE").read_text()
    assert "mitre-atlas/atlas-data" in notice and "8ee2c689" in notice and "5.6.0" in notice
    for name in ("owasp-ml-2023.json", "owasp-llm-2025.json", "owasp-agentic-2026.json"):
        assert json.loads((DATA / name).read_text())["licence"].startswith("CC BY-SA 4.0")


def test_import_is_lazy() -> None:
    code = (
        "import sys, dozor.taxonomy as t; from dozor.taxonomy import catalogue as c;"
        "assert 'yaml' not in sys.modules;"
        "assert c._catalogue.cache_info().currsize == 0;"
        "t.lookup('ML06:2023'); assert c._catalogue.cache_info().currsize == 1"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def _ids_in_source(root: Path) -> dict[str, list[str]]:
    """Taxonomy-shaped ids in string literals of every module under `root`."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for m in ID_IN_TEXT.findall(node.value):
                    found.setdefault(m, []).append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_every_id_used_in_dozor_is_known() -> None:
    used = _ids_in_source(ROOT / "src" / "dozor")
    assert used, "the scan found no ids at all; the pattern is broken"
    bad = {i: where for i, where in used.items() if taxonomy.lookup(i) is None}
    assert not bad, f"unknown taxonomy ids in the code: {bad}"


def test_the_source_scan_can_fail(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('X = ("ML06:2023", "LLM11:2025", "AML.T0010.999")\n')
    used = _ids_in_source(tmp_path)
    assert taxonomy.unknown(used) == ["LLM11:2025", "AML.T0010.999"]
