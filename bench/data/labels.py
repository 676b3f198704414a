"""Label-error detection: dozor's confident learning against cleanlab, same run, same data.

Datasets shipped with scikit-learn (no download): digits (1,797 8x8 images, 10 classes),
breast cancer (569 rows, 30 features, 2 classes), wine (178 rows, 13 features, 3
classes), and a synthetic make_classification set (20,000 x 20, 5 classes). In each, 5%
of the labels are flipped to another class at random with a fixed seed; the flipped
rows are the ground truth. Nothing in dozor was tuned on these sets (the thresholds are
the published method's; the model is a default logistic regression).

Two comparisons:

1. same probabilities: dozor's out-of-fold probabilities are computed once and given to
   both `dozor.data.labels.find_label_issues` and `cleanlab.filter.find_label_issues`
   (default: prune by noise rate), so only the confident-learning step differs;
2. end to end: `dozor.data.labels.check_labels` (its own cross-validation) against
   `cleanlab.classification.CleanLearning(...).find_label_issues(X, y)` with the same
   model and 5 folds; plus dozor with ``--model boosting`` (no cleanlab counterpart
   run: the point is what a stronger model buys).

cleanlab 2.9 (Apache-2.0) runs in its own venv (bench/.venvs/cleanlab); this script
calls it as a subprocess on a temporary .npz.

    python3.11 -m venv bench/.venvs/cleanlab
    bench/.venvs/cleanlab/bin/pip install 'cleanlab==2.9.*' scikit-learn numpy pandas
    .venv/bin/python bench/data/labels.py [--seeds 0 1 2] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLEANLAB_PY = ROOT / "bench" / ".venvs" / "cleanlab" / "bin" / "python"
FLIP_SHARE = 0.05


def worker(path: str) -> None:
    """Runs inside the cleanlab venv: both cleanlab modes on the saved arrays."""
    import numpy as np
    from cleanlab.classification import CleanLearning
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    data = np.load(path)
    x, y, probs = data["x"], data["y"], data["probs"]
    out: dict[str, Any] = {}
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        mask = find_label_issues(y, probs)
        out["same_probs"] = {"flagged": np.flatnonzero(mask).tolist(),
                             "seconds": time.perf_counter() - t}
        t = time.perf_counter()
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        issues = CleanLearning(model, cv_n_folds=5, seed=0).find_label_issues(x, y)
        out["end_to_end"] = {"flagged": np.flatnonzero(issues["is_label_issue"].to_numpy())
                             .tolist(), "seconds": time.perf_counter() - t}
    import cleanlab

    out["version"] = cleanlab.__version__
    print(json.dumps(out))


def datasets() -> dict[str, tuple[Any, Any]]:
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification

    x_syn, y_syn = make_classification(n_samples=20_000, n_features=20, n_informative=10,
                                       n_classes=5, n_clusters_per_class=2, class_sep=1.5,
                                       random_state=0)
    return {
        "digits": load_digits(return_X_y=True),
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "synthetic_20k": (x_syn, y_syn),
    }


def flip(y: Any, seed: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    idx = rng.choice(len(y), int(round(FLIP_SHARE * len(y))), replace=False)
    noisy = y.copy()
    noisy[idx] = (y[idx] + rng.integers(1, k, len(idx))) % k
    return noisy, idx


def score(flagged: Any, truth: Any) -> dict[str, float]:
    f, t = set(int(i) for i in flagged), set(int(i) for i in truth)
    tp = len(f & t)
    p = tp / len(f) if f else 0.0
    r = tp / len(t) if t else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "flagged": len(f)}


def run_one(name: str, x: Any, y: Any, seed: int) -> dict[str, Any]:
    import numpy as np
    from threadpoolctl import threadpool_limits

    from dozor.data.labels import LabelledData, check_labels, find_label_issues
    from dozor.data.labels.confident import out_of_fold_probabilities

    noisy, truth = flip(y, seed)
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        probs = out_of_fold_probabilities(x, noisy)
        oof_seconds = time.perf_counter() - t
        t = time.perf_counter()
        ours = find_label_issues(noisy, probs)
        cl_seconds = time.perf_counter() - t
        t = time.perf_counter()
        data = LabelledData(name, noisy, [str(c) for c in range(int(noisy.max()) + 1)],
                            numeric=np.asarray(x, dtype=float),
                            numeric_names=[f"f{i}" for i in range(x.shape[1])])
        findings = check_labels(data, outliers=False, triggers=False)
        e2e_seconds = time.perf_counter() - t
    e2e_rows: list[int] = []
    for f in findings:
        if f.rule_id == "DZ-DAT-003":
            e2e_rows = json.loads(f.detail("rows") or "[]")
    boost_rows: list[int] = []
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        for f in check_labels(data, outliers=False, triggers=False, model="boosting"):
            if f.rule_id == "DZ-DAT-003":
                boost_rows = json.loads(f.detail("rows") or "[]")
        boost_seconds = time.perf_counter() - t
    row: dict[str, Any] = {
        "dataset": name, "seed": seed, "rows": len(y), "flipped": len(truth),
        "oof_seconds": oof_seconds,
        "dozor_same_probs": score(ours.issues, truth) | {"seconds": cl_seconds},
        "dozor_end_to_end": score(e2e_rows, truth) | {"seconds": e2e_seconds},
        "dozor-boosting_end_to_end": score(boost_rows, truth) | {"seconds": boost_seconds},
    }
    if CLEANLAB_PY.exists():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "arrays.npz"
            np.savez(path, x=np.asarray(x, dtype=float), y=noisy, probs=probs)
            proc = subprocess.run([str(CLEANLAB_PY), __file__, "--worker", str(path)],
                                  capture_output=True, text=True, timeout=3600, check=False)
        if proc.returncode == 0:
            peer = json.loads(proc.stdout.strip().splitlines()[-1])
            row["cleanlab_version"] = peer["version"]
            row["cleanlab_same_probs"] = score(peer["same_probs"]["flagged"], truth) | {
                "seconds": peer["same_probs"]["seconds"]}
            row["cleanlab_end_to_end"] = score(peer["end_to_end"]["flagged"], truth) | {
                "seconds": peer["end_to_end"]["seconds"]}
            a = set(ours.issues.tolist())
            b = set(peer["same_probs"]["flagged"])
            row["agreement_same_probs"] = len(a & b) / len(a | b) if a | b else 1.0
        else:
            row["cleanlab_error"] = proc.stderr.strip().splitlines()[-1:]
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| dataset | rows | flipped | mode | tool | precision | recall | F1 | seconds |",
             "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |"]
    by_set: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_set.setdefault(r["dataset"], []).append(r)
    for name, runs in by_set.items():
        for mode in ("same_probs", "end_to_end"):
            for tool in ("dozor", "cleanlab", "dozor-boosting"):
                key = f"{tool}_{mode}"
                got = [r[key] for r in runs if key in r]
                if not got:
                    continue

                def med(field: str, got: list[dict[str, float]] = got) -> float:
                    return statistics.median(g[field] for g in got)

                lines.append(
                    f"| {name} | {runs[0]['rows']:,} | {runs[0]['flipped']} | "
                    f"{mode.replace('_', ' ')} | {tool} | {med('precision'):.3f} | "
                    f"{med('recall'):.3f} | {med('f1'):.3f} | {med('seconds'):.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="*", help="dataset names")
    parser.add_argument("--json", type=Path, help="write every run here")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    sys.path.insert(0, str(ROOT / "src"))
    rows = []
    for name, (x, y) in datasets().items():
        if args.only and name not in args.only:
            continue
        for seed in args.seeds:
            row = run_one(name, x, y, seed)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    agree = [r["agreement_same_probs"] for r in rows if "agreement_same_probs" in r]
    if agree:
        print(f"\nflagged-set agreement (Jaccard) with the same probabilities: median "
              f"{statistics.median(agree):.3f}, min {min(agree):.3f}")


if __name__ == "__main__":
    main()
