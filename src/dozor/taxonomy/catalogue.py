"""The threat catalogues as data: load a framework's JSON the first time one of its ids is asked.

Every finding carries taxonomy ids and every renderer names them, so the lookup sits
on the hot path of `dozor scan` start-up. It therefore imports nothing heavy, parses
no YAML, and reads only the one small JSON file whose prefix matches the id asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One risk, tactic, technique or mitigation of a catalogue."""

    id: str
    """As the framework writes it: ``ML06:2023``, ``LLM01:2025``, ``ASI01``, ``AML.T0010.003``."""
    name: str
    """Its title; for an ATLAS sub-technique, ``Technique: Sub-technique``."""
    framework: str
    """``OWASP ML Top 10 2023``, ``OWASP LLM Top 10 2025``, ``OWASP Agentic Top 10 2026``,
    or ``MITRE ATLAS``."""
    url: str
    """Where the framework describes it."""
    kind: str = "risk"
    """``risk`` for OWASP; ``tactic``, ``technique``, ``sub-technique`` or ``mitigation``."""
    parent: str | None = None
    """The technique a sub-technique belongs to."""
    tactics: tuple[str, ...] = ()
    """For techniques and sub-techniques: the ATLAS tactics they serve."""
    techniques: tuple[str, ...] = ()
    """For mitigations: what they address; for tactics: the techniques under them."""
    mitigations: tuple[str, ...] = ()
    """For techniques and sub-techniques: mitigations that name them."""
    subtechniques: tuple[str, ...] = ()
    """For techniques: their sub-techniques."""


class UnknownTaxonomyId(ValueError):
    """An id that none of the shipped catalogues knows."""


_FILES = {
    "ml": "owasp-ml-2023.json",
    "llm": "owasp-llm-2025.json",
    "agentic": "owasp-agentic-2026.json",
    "atlas": "atlas.json",
}
# An id names its catalogue by its shape, so only that one file is read.
_SHAPES = (
    ("ml", re.compile(r"ML\d\d:\d{4}")),
    ("llm", re.compile(r"LLM\d\d:\d{4}")),
    ("agentic", re.compile(r"ASI\d\d")),
    ("atlas", re.compile(r"AML\.(?:TA|T|M)\d{4}(?:\.\d{3})?")),
)
ATLAS_URL = "https://atlas.mitre.org"
DATA = Path(__file__).with_name("data")


def _read(name: str) -> Any:
    import json  # on first lookup, not at import

    return json.loads((DATA / name).read_text(encoding="utf-8"))


@cache
def _catalogue(key: str) -> dict[str, Entry]:
    raw = _read(_FILES[key])
    if key == "atlas":
        return _atlas(raw)
    framework = raw["framework"]
    return {e["id"]: Entry(e["id"], e["name"], framework, e["url"]) for e in raw["entries"]}


def _atlas(raw: dict[str, Any]) -> dict[str, Entry]:
    framework = raw["framework"]
    techniques = {t["id"]: t for t in raw["techniques"]}
    mitigated_by: dict[str, list[str]] = {}
    for m in raw["mitigations"]:
        for tid in m["techniques"]:
            mitigated_by.setdefault(tid, []).append(m["id"])
    under_tactic: dict[str, list[str]] = {}
    for t in raw["techniques"]:
        for ta in t.get("tactics", ()):
            under_tactic.setdefault(ta, []).append(t["id"])
    out: dict[str, Entry] = {}
    for ta in raw["tactics"]:
        out[ta["id"]] = Entry(
            ta["id"],
            ta["name"],
            framework,
            f"{ATLAS_URL}/tactics/{ta['id']}",
            "tactic",
            techniques=tuple(under_tactic.get(ta["id"], ())),
        )
    for t in raw["techniques"]:
        parent = techniques.get(t.get("parent", ""))
        out[t["id"]] = Entry(
            t["id"],
            f"{parent['name']}: {t['name']}" if parent else t["name"],
            framework,
            f"{ATLAS_URL}/techniques/{t['id']}",
            "sub-technique" if parent else "technique",
            parent=parent["id"] if parent else None,
            tactics=tuple(parent.get("tactics", ()) if parent else t.get("tactics", ())),
            mitigations=tuple(mitigated_by.get(t["id"], ())),
            subtechniques=tuple(t.get("subtechniques", ())),
        )
    for m in raw["mitigations"]:
        out[m["id"]] = Entry(
            m["id"],
            m["name"],
            framework,
            f"{ATLAS_URL}/mitigations/{m['id']}",
            "mitigation",
            techniques=tuple(m["techniques"]),
        )
    return out


def _normalise(id: str) -> str:
    return id.strip().upper()


def lookup(id: str) -> Entry | None:
    """The entry for `id` (case and surrounding spaces ignored), or None if no catalogue has it."""
    key = _normalise(id)
    for name, shape in _SHAPES:
        if shape.fullmatch(key):
            return _catalogue(name).get(key)
    return None


def describe(id: str) -> str:
    """``ML06:2023 AI Supply Chain Attacks``; an unknown id is returned as given."""
    entry = lookup(id)
    return f"{entry.id} {entry.name}" if entry else id.strip()


def unknown(ids: Iterable[str]) -> list[str]:
    """The ids no catalogue knows, each once, in the order first seen."""
    seen: dict[str, None] = {}
    for i in ids:
        if i not in seen and lookup(i) is None:
            seen[i] = None
    return list(seen)


def require_known(ids: Iterable[str]) -> None:
    """Raise UnknownTaxonomyId naming every id that no catalogue knows."""
    missing = unknown(ids)
    if missing:
        raise UnknownTaxonomyId(
            f"unknown taxonomy id(s) {', '.join(map(repr, missing))}; use ids such as "
            "ML06:2023, LLM03:2025, ASI04 or AML.T0010.003"
        )


def entries(framework: str | None = None) -> list[Entry]:
    """Every entry, or those of one framework (as in `Entry.framework`); loads all catalogues."""
    out = [e for key in _FILES for e in _catalogue(key).values()]
    return [e for e in out if framework is None or e.framework == framework]


def atlas_version() -> str:
    """The ATLAS release the shipped catalogue was built from."""
    return str(_read(_FILES["atlas"])["version"])
