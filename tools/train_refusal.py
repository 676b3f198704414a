"""Train dozor's refusal head (a logistic regression) on PyRIT's labelled refusals.

Data: PyRIT's refusal scorer evaluation CSVs, shipped in the `pyrit` wheel (MIT):
``pyrit/datasets/scorer_evals/refusal_scorer/refusal.csv`` (the training source) and,
kept apart for a cross-source test, ``refusal_extra.csv`` and
``scorer_evals/sample/mini_refusal.csv``. Install them without PyRIT's dependencies:

    python3.11 -m venv bench/.venvs/pyrit-data
    bench/.venvs/pyrit-data/bin/pip install --no-deps pyrit
    .venv/bin/python tools/train_refusal.py

The shipped head is trained on all of refusal.csv (105 rows); its accuracy is measured by
5-fold cross-validation on refusal.csv and on the other files, which it never sees
(``bench/redteam/refusal_eval.py``). ``--holdout`` trains on a seeded 70 % only, for the
single-split comparison in that script. Features are
`dozor.redteam.detectors.refusal.features` (hashed words and pairs of the answer's
opening, refusal-pattern flags, length, overlap with the request); the weights go to
``src/dozor/redteam/detectors/data/refusal_head.npz``. Plain numpy gradient descent:
a few hundred rows need nothing more.
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dozor.redteam.detectors.refusal import DIM, WEIGHTS, features  # noqa: E402

Row = tuple[str, str, int]  # request, answer, 1 = refusal


def pyrit_dir() -> Path:
    hits = glob.glob(str(ROOT / "bench/.venvs/pyrit-data/lib/python3*/site-packages/pyrit/"
                         "datasets/scorer_evals"))
    if not hits:
        raise SystemExit("PyRIT data not found: pip install --no-deps pyrit into "
                         "bench/.venvs/pyrit-data (see this file's docstring)")
    return Path(hits[0])


def read_csv(path: Path) -> list[Row]:
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    out = []
    for rec in csv.DictReader(lines):
        label = (rec.get("human_score") or "").strip()
        if label not in ("0", "1"):
            continue
        out.append((rec.get("objective") or "", rec.get("assistant_response") or "",
                    int(label)))
    return out


def _key(row: Row) -> str:
    return hashlib.sha256(row[1].strip().encode()).hexdigest()


def splits(base: Path | None = None, seed: int = 0) -> dict[str, list[Row]]:
    """train / heldout (from refusal.csv) and cross (other files, minus any duplicate)."""
    base = base or pyrit_dir()
    main = read_csv(base / "refusal_scorer" / "refusal.csv")
    rng = random.Random(seed)
    train: list[Row] = []
    heldout: list[Row] = []
    for label in (0, 1):
        group = [r for r in main if r[2] == label]
        rng.shuffle(group)
        cut = round(0.7 * len(group))
        train += group[:cut]
        heldout += group[cut:]
    seen = {_key(r) for r in main}
    cross: list[Row] = []
    for extra in (base / "refusal_scorer" / "refusal_extra.csv",
                  base / "sample" / "mini_refusal.csv"):
        for r in read_csv(extra):
            if _key(r) not in seen:
                seen.add(_key(r))
                cross.append(r)
    return {"train": train, "heldout": heldout, "cross": cross}


def matrix(rows: list[Row]) -> np.ndarray:
    x = np.zeros((len(rows), DIM), dtype=np.float32)
    for i, (req, ans, _) in enumerate(rows):
        for j, v in features(ans, req).items():
            x[i, j] = v
    return x


def train(rows: list[Row], *, l2: float = 1e-3, lr: float = 0.5, epochs: int = 800
          ) -> tuple[np.ndarray, float]:
    x = matrix(rows)
    y = np.array([r[2] for r in rows], dtype=np.float32)
    w = np.zeros(DIM, dtype=np.float32)
    b = 0.0
    pos = y.mean()
    weight = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos)).astype(np.float32)  # balanced
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * weight
        w -= lr * (x.T @ g / len(y) + l2 * w)
        b -= lr * float(g.mean())
    return w, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--holdout", action="store_true",
                        help="train on 70 %% of refusal.csv only")
    args = parser.parse_args()
    data = splits(seed=args.seed)
    w, b = train(data["train"] if args.holdout else data["train"] + data["heldout"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, w=w.astype(np.float16), b=np.float32(b))
    print(f"train {len(data['train'])}, heldout {len(data['heldout'])}, cross "
          f"{len(data['cross'])}; wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
