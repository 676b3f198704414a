"""Probe families and languages, side by side: dozor, garak, PyRIT, LLAMATOR.

Counted from the installed packages, not from their documentation:
- garak: modules under garak/probes (one module = one family), probe classes with an
  `active`/`lang` attribute, distinct `lang` values (``*`` = any, by translation
  services that need a model or a remote API at run time);
- PyRIT: attack strategies under pyrit/executor/attack/{single_turn,multi_turn},
  prompt converters under pyrit/prompt_converter, jailbreak templates under
  pyrit/datasets/jailbreak/templates;
- LLAMATOR: modules under llamator/attacks and their ``lang:`` tags;
- dozor: `dozor.redteam.probes`.

    .venv/bin/python bench/redteam/coverage.py --llamator path/to/llamator-*.whl
"""

from __future__ import annotations

import argparse
import glob
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))


def _site(venv: str) -> Path:
    return Path(glob.glob(str(ROOT / f"bench/.venvs/{venv}/lib/python3*/site-packages"))[0])


def garak() -> str:
    base = _site("garak") / "garak" / "probes"
    mods = [p for p in base.glob("*.py") if not p.name.startswith("_") and p.stem != "base"]
    langs: Counter[str] = Counter()
    classes = 0
    for m in mods:
        text = m.read_text(encoding="utf-8")
        classes += len(re.findall(r"^class \w+\(", text, re.M))
        langs.update(re.findall(r'^\s+lang = "([^"]+)"', text, re.M))
    return (f"| garak (0.17.1) | {len(mods)} modules, {classes} probe classes | "
            f"{', '.join(f'{k} ({v})' for k, v in langs.most_common())} |")


def pyrit() -> str:
    base = _site("pyrit-data") / "pyrit"
    attacks = [p for d in ("single_turn", "multi_turn")
               for p in (base / "executor" / "attack" / d).glob("*.py")
               if not p.name.startswith("_") and "strategy" not in p.stem]
    conv = [p for p in (base / "converter").rglob("*converter*.py")
            if not p.name.startswith("_")]
    templates = list((base / "datasets" / "jailbreak" / "templates").rglob("*.yaml"))
    return (f"| PyRIT (1.1.0) | {len(attacks)} attack strategies, {len(conv)} converter "
            f"modules, {len(templates)} jailbreak templates | objectives come from the user "
            "or remote/seed datasets; converters can translate with an LLM at run time |")


def llamator(wheel: str | None) -> str:
    if not wheel:
        return "| LLAMATOR | (give --llamator wheel) | |"
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.startswith("llamator/attacks/")
                 and n.endswith(".py") and not n.endswith("__init__.py")]
        tags: Counter[str] = Counter()
        for n in names:
            tags.update(re.findall(r'"lang:([a-z*]+)"', zf.read(n).decode()))
    version = Path(wheel).name.split("-")[1]
    return (f"| LLAMATOR ({version}) | {len(names)} attack modules | "
            f"{', '.join(f'{k} ({v})' for k, v in tags.most_common())} (lang tags) |")


def dozor() -> str:
    from dozor.redteam.converters import CONVERTERS
    from dozor.redteam.probes import FAMILIES, all_probes

    probes = all_probes()
    langs = Counter(p.language for p in probes)
    return (f"| dozor | {len(FAMILIES)} families, {len(probes)} probes x {len(CONVERTERS)} "
            f"converters (+none) | {', '.join(f'{k} ({v})' for k, v in langs.items())}: "
            "every probe in both; langswitch adds de, fr, uk requests |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llamator")
    args = parser.parse_args()
    print("| tool | probe families / attacks | languages |")
    print("| --- | --- | --- |")
    for row in (dozor(), garak(), pyrit(), llamator(args.llamator)):
        print(row)


if __name__ == "__main__":
    main()
