#!/usr/bin/env python3
"""Which PyPA advisories affect the dependency pins used in the code corpus.

    python bench/code/advisories.py [--db PATH/pypa-advisory-db.tar.gz]

Reads the PyPA advisory database (OSV YAML, as shipped in shared/data/pypa-advisories)
straight from the tarball and writes bench/code/advisories.json: for every pin in
PINS, the ids (PYSEC id / first CVE alias) of the advisories whose ECOSYSTEM ranges or
explicit version lists include that version. make_corpus.py copies these ids into the
corpus manifest, so the labels say which advisories make a pin a positive.
Needs PyYAML and packaging (both in dozor's venv).
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

HERE = Path(__file__).resolve().parent
DEFAULT_DB = HERE.parents[2] / "shared" / "data" / "pypa-advisories" / "pypa-advisory-db.tar.gz"

# every pin the corpus uses in a requirements / lock / pyproject file
PINS = [
    ("torch", "2.5.1"),
    ("transformers", "4.36.0"),
    ("keras", "3.8.0"),
    ("mlflow", "2.9.2"),
    ("gradio", "4.19.0"),
    ("ray", "2.6.3"),
    ("vllm", "0.6.0"),
    ("langchain", "0.0.300"),
    ("llama-cpp-python", "0.2.60"),
    ("langchain-experimental", "0.0.14"),
    ("torch", "2.11.0"),
    ("transformers", "5.3.0"),
    ("keras", "3.14.0"),
    ("mlflow", "3.11.0"),
    ("gradio", "6.16.0"),
    ("ray", "2.56.0"),
    ("vllm", "0.24.0"),
    ("langchain-core", "1.3.3"),
    ("llama-cpp-python", "0.2.72"),
    ("langchain-experimental", "0.0.61"),
    ("requests", "2.33.0"),
    ("pillow", "12.3.0"),
    ("numpy", "2.3.5"),
    ("pyyaml", "6.0.2"),
    ("safetensors", "0.4.5"),
    ("accelerate", "1.2.0"),
]


def _v(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def affects(ranges: list[dict], versions: list[str], version: str) -> bool:
    if version in versions:
        return True
    ver = Version(version)
    for rng in ranges:
        if rng.get("type") != "ECOSYSTEM":
            continue
        intro: str | None = None
        for event in rng.get("events", []):
            if "introduced" in event:
                intro = str(event["introduced"])
                continue
            limit = _v(str(event.get("fixed") or event.get("last_affected") or ""))
            lo = Version("0") if intro in (None, "0") else _v(intro)
            if intro is not None and limit is not None and lo is not None and ver >= lo:
                below = ver < limit if "fixed" in event else ver <= limit
                if below:
                    return True
            intro = None
        if intro is not None:
            lo = Version("0") if intro == "0" else _v(intro)
            if lo is not None and ver >= lo:
                return True
    return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=DEFAULT_DB)
    args = ap.parse_args()
    wanted = {p for p, _ in PINS}
    advisories: dict[str, list[tuple[str, list, list]]] = {p: [] for p in wanted}
    with tarfile.open(args.db) as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) < 3 or parts[-2] not in wanted:
                continue
            doc = yaml.safe_load(io.TextIOWrapper(tar.extractfile(member), encoding="utf-8"))
            for aff in doc.get("affected", []):
                name = aff["package"]["name"].lower().replace("_", "-")
                if name == parts[-2]:
                    cves = [a for a in doc.get("aliases", []) if a.startswith("CVE-")]
                    ident = doc["id"] + (f"/{cves[0]}" if cves else "")
                    advisories[name].append((ident, aff.get("ranges", []), aff.get("versions", [])))
    out = {}
    for pkg, ver in PINS:
        out[f"{pkg}=={ver}"] = sorted(i for i, r, v in advisories[pkg] if affects(r, v, ver))
    (HERE / "advisories.json").write_text(json.dumps(out, indent=1) + "\n")
    for key, ids in out.items():
        print(f"{key}: {len(ids)}")


if __name__ == "__main__":
    main()
