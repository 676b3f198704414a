"""Probe families: one module per family, each a list of `Probe`s generated from data.

`FAMILIES` is the plugin list; `select("injection,roleplay")` picks families (or
single probe ids, or ``owasp:LLM07``, or ``lang:ru``) for a run.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from dozor.redteam.base import Probe

FAMILIES = (
    "injection", "leakage", "output", "agency", "sysprompt", "packages", "consumption",
    "roleplay", "fiction", "manyshot", "splitting", "suppression", "langswitch", "crescendo",
)
JAILBREAKS = ("roleplay", "fiction", "manyshot", "splitting", "suppression", "langswitch",
              "crescendo")


def family_module(name: str) -> ModuleType:
    if name not in FAMILIES:
        raise KeyError(name)
    return importlib.import_module(f"dozor.redteam.probes.{name}")


@cache
def all_probes() -> tuple[Probe, ...]:
    return tuple(p for name in FAMILIES for p in family_module(name).probes())


class UnknownProbe(ValueError):
    """A --probes entry that names nothing."""


def select(spec: str | None = None) -> list[Probe]:
    """Probes named by a comma list of families, ``jailbreak``, probe ids or id prefixes,
    ``owasp:LLM0N`` and ``lang:xx`` (filters); empty or ``all`` means every probe."""
    probes = list(all_probes())
    if not spec or spec.strip() in ("", "all"):
        return probes
    chosen: dict[str, Probe] = {}
    filters: list[tuple[str, str]] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item.startswith(("owasp:", "lang:")):
            key, _, value = item.partition(":")
            filters.append((key, value))
            continue
        names = JAILBREAKS if item == "jailbreak" else (item,)
        hits = [p for p in probes if p.family in names or p.id == item
                or p.id.startswith(item + ".")]
        if not hits:
            raise UnknownProbe(f"--probes: {item!r} is no family or probe id; families: "
                               f"{', '.join(FAMILIES)}")
        chosen.update((p.id, p) for p in hits)
    pool = list(chosen.values()) if chosen else probes
    for key, value in filters:
        if key == "owasp":
            pool = [p for p in pool if p.owasp.split(":")[0].upper() == value.upper()
                    .split(":")[0]]
        else:
            pool = [p for p in pool if p.language == value]
    return pool


__all__ = ["FAMILIES", "JAILBREAKS", "UnknownProbe", "all_probes", "family_module", "select"]
