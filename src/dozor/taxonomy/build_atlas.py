"""Build the compact ATLAS catalogue (``data/atlas.json``) from MITRE's ``ATLAS.yaml``.

The upstream file is 450 kB of YAML with descriptions, case studies and dates; dozor
needs only ids, names and how they relate. Parsing YAML at run time would cost a
dependency and a tenth of a second on every start, so the relations are extracted
once, here, into JSON that `dozor.taxonomy` loads on first use.

Run: ``python -m dozor.taxonomy.build_atlas PATH/TO/ATLAS.yaml [--commit SHA]``.
The output is deterministic (sorted, fixed layout), so a rebuild from the same
input gives the same bytes and a test can check the shipped file is current.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("data") / "atlas.json"
SOURCE = "github.com/mitre-atlas/atlas-data dist/ATLAS.yaml"
DEFAULT_COMMIT = "8ee2c689"
LICENCE = "Apache-2.0"


def _ids(items: list[Any] | None) -> list[str]:
    """Ids from a list of plain ids or of ``{id: ...}`` mappings, deduplicated and sorted."""
    out = {item["id"] if isinstance(item, dict) else str(item) for item in items or ()}
    return sorted(out)


def compact(atlas: dict[str, Any], commit: str = DEFAULT_COMMIT) -> dict[str, Any]:
    """Reduce a parsed ATLAS.yaml to ids, names, tactics, parents and mitigations."""
    tactics: dict[str, dict[str, Any]] = {}
    techniques: dict[str, dict[str, Any]] = {}
    mitigations: dict[str, dict[str, Any]] = {}
    for matrix in atlas.get("matrices", []):
        for t in matrix.get("tactics", []):
            tactics[t["id"]] = {"id": t["id"], "name": t["name"]}
        for t in matrix.get("techniques", []):
            entry: dict[str, Any] = {"id": t["id"], "name": t["name"]}
            if "subtechnique-of" in t:
                entry["parent"] = t["subtechnique-of"]
            else:
                entry["tactics"] = _ids(t.get("tactics"))
            techniques[t["id"]] = entry
        for m in matrix.get("mitigations", []):
            mitigations[m["id"]] = {
                "id": m["id"],
                "name": m["name"],
                "techniques": _ids(m.get("techniques")),
            }
    for tid, t in techniques.items():
        parent = t.get("parent")
        if parent is not None:
            if parent not in techniques:
                raise ValueError(f"sub-technique {tid} names unknown parent {parent}")
            techniques[parent].setdefault("subtechniques", []).append(tid)
    for t in techniques.values():
        if "subtechniques" in t:
            t["subtechniques"].sort()
    return {
        "framework": "MITRE ATLAS",
        "version": str(atlas.get("version", "")),
        "source": f"{SOURCE}, commit {commit}",
        "licence": LICENCE,
        "tactics": [tactics[k] for k in sorted(tactics)],
        "techniques": [techniques[k] for k in sorted(techniques)],
        "mitigations": [mitigations[k] for k in sorted(mitigations)],
    }


def dumps(data: dict[str, Any]) -> str:
    """One object per line: small, and a version bump reads as a readable diff."""
    lines = ["{"]
    head = [k for k in data if not isinstance(data[k], list)]
    lists = [k for k in data if isinstance(data[k], list)]
    for key in head:
        lines.append(f"  {json.dumps(key)}: {json.dumps(data[key])},")
    for i, key in enumerate(lists):
        items = ",\n".join(f"    {json.dumps(item, sort_keys=False)}" for item in data[key])
        comma = "," if i < len(lists) - 1 else ""
        lines.append(f"  {json.dumps(key)}: [\n{items}\n  ]{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def build(yaml_path: Path, commit: str = DEFAULT_COMMIT) -> str:
    """The text of ``atlas.json`` for the ATLAS.yaml at `yaml_path`."""
    import yaml  # type: ignore[import-untyped,unused-ignore]  # build time only

    with yaml_path.open("rb") as f:
        atlas = yaml.safe_load(f)
    return dumps(compact(atlas, commit))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("atlas_yaml", type=Path, help="path to MITRE's dist/ATLAS.yaml")
    parser.add_argument("--commit", default=DEFAULT_COMMIT, help="atlas-data commit it came from")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write atlas.json")
    args = parser.parse_args(argv)
    text = build(args.atlas_yaml, args.commit)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
