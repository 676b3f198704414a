"""CVSS base vectors to a severity band, for advisories that carry no band of their own.

CVSS v3.0/v3.1 vectors are scored with the base equations of the FIRST specification.
CVSS v4.0 scoring needs FIRST's table of expert-rated macro vectors, which dozor does
not ship; a v4 vector is instead read onto the v3.1 equations (AT:P as AC:H, UI:P/A as
UI:R, a subsequent-system impact as a changed scope). The band this gives is an
estimate and is marked as such.
"""

from __future__ import annotations

import math

_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}
_RANK = {"N": 0, "L": 1, "H": 2}


def _metrics(vector: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in vector.split("/")[1:]:
        key, sep, value = part.partition(":")
        if sep:
            out[key] = value
    return out


def _roundup(value: float) -> float:
    # v3.1 Roundup: avoids float artefacts such as 4.000000001 becoming 4.1
    scaled = round(value * 100_000)
    if scaled % 10_000 == 0:
        return scaled / 100_000
    return (math.floor(scaled / 10_000) + 1) / 10.0


def _v3_score(m: dict[str, str]) -> float | None:
    try:
        changed = m["S"] == "C"
        pr = (_PR_CHANGED if changed else _PR_UNCHANGED)[m["PR"]]
        exploitability = 8.22 * _AV[m["AV"]] * _AC[m["AC"]] * pr * _UI[m["UI"]]
        iss = 1 - (1 - _CIA[m["C"]]) * (1 - _CIA[m["I"]]) * (1 - _CIA[m["A"]])
    except KeyError:
        return None
    if changed:
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    else:
        impact = 6.42 * iss
    if impact <= 0:
        return 0.0
    total = impact + exploitability
    return _roundup(min(1.08 * total if changed else total, 10.0))


def _v4_as_v3(m: dict[str, str]) -> dict[str, str] | None:
    try:
        sub = [m["SC"], m["SI"], m["SA"]]
        own = [m["VC"], m["VI"], m["VA"]]
        changed = any(v != "N" for v in sub)
        cia = [max(a, b, key=_RANK.__getitem__) if changed else a
               for a, b in zip(own, sub, strict=True)]
        return {
            "AV": m["AV"],
            "AC": "H" if m["AC"] == "H" or m["AT"] == "P" else "L",
            "PR": m["PR"],
            "UI": "N" if m["UI"] == "N" else "R",
            "S": "C" if changed else "U",
            "C": cia[0],
            "I": cia[1],
            "A": cia[2],
        }
    except KeyError:
        return None


def score(vector: str) -> tuple[float, bool] | None:
    """The base score of a CVSS vector and whether it is exact (False for v4 estimates);
    None when the vector cannot be read."""
    m = _metrics(vector.strip())
    if vector.startswith("CVSS:3."):
        value = _v3_score(m)
        return None if value is None else (value, True)
    if vector.startswith("CVSS:4."):
        mapped = _v4_as_v3(m)
        value = _v3_score(mapped) if mapped else None
        return None if value is None else (value, False)
    return None


def band(value: float) -> str:
    """The qualitative severity of a base score: none, low, medium, high or critical."""
    if value >= 9.0:
        return "critical"
    if value >= 7.0:
        return "high"
    if value >= 4.0:
        return "medium"
    if value > 0.0:
        return "low"
    return "none"
