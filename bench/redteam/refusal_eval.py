"""Refusal detection accuracy: dozor (opening rule, opening rule + trained head) vs
garak's MitigationBypass (substring anywhere) and garak's Prefixes (startswith).

Data: PyRIT's labelled refusal CSVs (MIT, from the `pyrit` wheel in
bench/.venvs/pyrit-data). "heldout" is 30 % of refusal.csv, scored with a head trained
on the other 70 % here (the shipped head is trained on all of refusal.csv, so it is
scored by 5-fold CV);
"cross" is refusal_extra.csv + mini_refusal.csv minus duplicates, a different
collection. garak's phrase lists are read from the garak wheel's source at run time
(bench/.venvs/garak or any garak-*.whl given with --garak), not copied into dozor.

    .venv/bin/python bench/redteam/refusal_eval.py [--garak path/to/garak/detectors/mitigation.py]
"""

from __future__ import annotations

import argparse
import ast
import glob
import importlib.util
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from dozor.redteam.detectors.refusal import (  # noqa: E402
    _ANYWHERE,
    _OPENING,
    is_refusal,
    opening,
)


def _trainer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("train_refusal",
                                                  ROOT / "tools" / "train_refusal.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def garak_lists(path: str | None) -> dict[str, list[str]]:
    """The substring lists of garak's MitigationBypass and Prefixes, parsed (not run)."""
    source = None
    if path and path.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            source = zf.read("garak/detectors/mitigation.py").decode()
    else:
        cands = [path] if path else glob.glob(str(
            ROOT / "bench/.venvs/garak/lib/python3*/site-packages/garak/detectors/mitigation.py"))
        if cands and cands[0]:
            source = Path(cands[0]).read_text()
    if source is None:
        raise SystemExit("garak not found: give --garak garak-*.whl or install it in "
                         "bench/.venvs/garak")
    out: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name in ("MitigationBypass", "Prefixes"):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "substrings" for t in sub.targets):
                    out[node.name] = [ast.literal_eval(e) for e in sub.value.elts]  # type: ignore[attr-defined]
    return out


def _judge(w, b):  # type: ignore[no-untyped-def]
    import math

    from dozor.redteam.detectors.refusal import features

    def judge(q: str, a: str) -> bool:
        if not a.strip():
            return True
        z = b + sum(float(w[i]) * v for i, v in features(a, q).items())
        return 1 / (1 + math.exp(-max(-30, min(30, z)))) >= 0.5
    return judge


def accuracy(rows, judge: Callable[[str, str], bool]) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    right = sum(judge(req, ans) == bool(label) for req, ans, label in rows)
    return right / len(rows), right, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--garak", help="garak wheel or mitigation.py")
    args = parser.parse_args()
    lists = garak_lists(args.garak)
    mitigation = [s.lower() for s in lists["MitigationBypass"]]
    prefixes = lists["Prefixes"]
    trainer = _trainer()
    data = trainer.splits()
    methods: dict[str, Callable[[str, str], bool]] = {
        "garak MitigationBypass (substring anywhere)":
            lambda q, a: any(s in a.lower() for s in mitigation),
        "garak Prefixes (startswith)":
            lambda q, a: any(a.strip().startswith(p) for p in prefixes),
        "dozor opening rule only":
            lambda q, a: bool(_OPENING.search(opening(a).lower()) or
                              _ANYWHERE.search(opening(a).lower())),
    }
    w70, b70 = trainer.train(data["train"])
    methods["dozor opening rule + head trained on the 70 %"] = _judge(w70, b70)
    methods["dozor as shipped (trained on all of refusal.csv: its held-out cell is "
            "training data)"] = \
        lambda q, a: is_refusal(a, q)
    print(f"rows: train {len(data['train'])}, heldout {len(data['heldout'])}, "
          f"cross {len(data['cross'])}")
    print("| method | held-out (refusal.csv 30 %) | cross-source (refusal_extra + mini) |")
    print("| --- | --- | --- |")
    for name, fn in methods.items():
        h = accuracy(data["heldout"], fn)
        c = accuracy(data["cross"], fn)
        print(f"| {name} | {100 * h[0]:.1f} % ({h[1]}/{h[2]}) | "
              f"{100 * c[0]:.1f} % ({c[1]}/{c[2]}) |")
    cross_validation(_trainer())


def cross_validation(trainer, folds: int = 5) -> None:  # type: ignore[no-untyped-def]
    """5-fold CV over all of refusal.csv (a head trained per fold), and a head trained on
    all of refusal.csv scored on the cross-source rows: steadier than one 32-row split."""
    import random

    data = trainer.splits()
    rows = data["train"] + data["heldout"]
    random.Random(1).shuffle(rows)

    def head(train_rows):  # type: ignore[no-untyped-def]
        return _judge(*trainer.train(train_rows))

    right = 0
    for k in range(folds):
        test = rows[k::folds]
        train = [r for i, r in enumerate(rows) if i % folds != k]
        j = head(train)
        right += sum(j(q, a) == bool(label) for q, a, label in test)
    lists = garak_lists(None)
    mit = [s.lower() for s in lists["MitigationBypass"]]
    garak_right = sum(any(s in a.lower() for s in mit) == bool(label) for _, a, label in rows)
    full = head(rows)
    c = accuracy(data["cross"], full)
    print(f"\n5-fold CV on refusal.csv ({len(rows)} rows): dozor head "
          f"{100 * right / len(rows):.1f} %, garak MitigationBypass "
          f"{100 * garak_right / len(rows):.1f} %; head trained on all of refusal.csv, "
          f"cross-source: {100 * c[0]:.1f} % ({c[1]}/{c[2]})")


if __name__ == "__main__":
    main()
