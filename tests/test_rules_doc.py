"""Every rule id the code can emit is documented in docs/rules.md, and nothing more."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULE = re.compile(r"\bDZ-[A-Z]+-\d{3}\b")


def test_rules_doc_matches_code() -> None:
    in_code = set()
    for path in (ROOT / "src" / "dozor").rglob("*.py"):
        in_code |= set(RULE.findall(path.read_text(encoding="utf-8")))
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    documented = {m.group(1) for m in re.finditer(r"^\| (DZ-[A-Z]+-\d{3}) \|", doc, re.M)}
    assert in_code - documented == set(), "rules missing from docs/rules.md"
    assert documented - in_code == set(), "docs/rules.md lists rules the code never emits"
