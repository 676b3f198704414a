"""Train the shipped injection classifier (run tools/injection_data.py first).

    .venv/bin/python tools/injection_data.py
    .venv/bin/python tools/train_injection.py
    -> src/dozor/detect/injection/data/classifier.npz

Features come from dozor's own numpy featuriser (`dozor.detect.injection.model`), so the
weights are trained on exactly what the guard computes at run time; scikit-learn is used
here only to fit the logistic regression. The regularisation C is chosen on the
validation split (S-Labs and neuralchemy validation) by average precision; the
threshold is the lowest probability whose false-positive rate on the validation split is
at most TARGET_FPR. The held-out, cross-source and hard-benign sets are never read here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tools"))

from dozor.detect.injection.model import (  # noqa: E402
    DIM,
    codes,
    feature_vector,
    ngram_ids,
)

DATA = ROOT / "bench" / "guard" / "detection_data"
OUT = ROOT / "src" / "dozor" / "detect" / "injection" / "data" / "classifier.npz"
TARGET_FPR = 0.01
WINDOW, STRIDE = 768, 384
SOURCE_WEIGHT = {"dozor-authored-hardneg": 4.0, "dozor-authored-ru": 2.0}
MAX_TRAIN_CHARS = 20_000
CS = [float(c) for c in os.environ.get("DOZOR_INJ_C", "1,4,16,64").split(",")]


def load(split: str) -> list[dict[str, object]]:
    with open(DATA / f"{split}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def ids_of(items: list[dict[str, object]]) -> list[np.ndarray]:
    return [np.concatenate(ngram_ids(codes(str(i["text"])[:MAX_TRAIN_CHARS]))) for i in items]


NORM = int(os.environ.get("DOZOR_INJ_NORM", "2"))  # the shipped model is L2


def matrix(all_ids: list[np.ndarray], idf: np.ndarray) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for r, ids in enumerate(all_ids):
        idx, v = feature_vector(ids, idf, NORM)
        rows.append(np.full(idx.shape, r))
        cols.append(idx)
        vals.append(v)
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(all_ids), DIM), dtype=np.float32)


def threshold_at(probs: np.ndarray, labels: np.ndarray, fpr: float) -> float:
    neg = np.sort(probs[labels == 0])[::-1]
    k = int(np.floor(fpr * len(neg)))
    return float(min(0.99, max(0.5, neg[k] + 1e-6)))


DOC_FPR = 0.02


def window_margin(clf: LogisticRegression, idf: np.ndarray, thr: float,
                  val: list[dict[str, object]]) -> tuple[float, float]:
    """The per-segment logit margin for long texts: the smallest that keeps the share of
    benign validation documents (validation prose joined into 1.5k-6k characters) with any
    segment over the threshold at DOC_FPR or below."""
    from injection_data import long_training_docs

    from dozor.detect.injection.model import LinearModel

    model = LinearModel(coef=clf.coef_[0].astype(np.float32), idf=idf,
                        intercept=float(clf.intercept_[0]), threshold=thr, window=WINDOW,
                        stride=STRIDE, norm_kind=NORM)
    prose = [i for i in val if str(i["source"]).startswith(("debian-fortunes",
                                                              "python-stdlib"))]
    docs = [d for d in long_training_docs(prose, val, n=400, seed=21)
            if not str(d["source"]).endswith("-window") and d["label"] == 0
            and len(str(d["text"])) > WINDOW * 3 // 2]
    best = [max(lg for lg, _ in model.segment_logits(str(d["text"]))) for d in docs]
    t_logit = float(np.log(thr / (1 - thr)))
    k = int(np.floor(DOC_FPR * len(best)))
    top = float(np.sort(best)[::-1][k])
    margin = max(0.0, top - t_logit + 1e-3)
    fpr = float(np.mean(np.array(best) - margin >= t_logit))
    return margin, fpr


def main() -> None:
    t0 = time.time()
    train, val = load("train"), load("validation")
    tr_ids, va_ids = ids_of(train), ids_of(val)
    df = np.zeros(DIM, dtype=np.float64)
    for ids in tr_ids:
        df[np.unique(ids)] += 1
    idf = (np.log((1 + len(tr_ids)) / (1 + df)) + 1.0).astype(np.float32)
    xtr, xva = matrix(tr_ids, idf), matrix(va_ids, idf)
    ytr = np.array([int(i["label"]) for i in train])  # type: ignore[call-overload]
    yva = np.array([int(i["label"]) for i in val])  # type: ignore[call-overload]
    w = np.array([SOURCE_WEIGHT.get(str(i["source"]), 1.0) for i in train])
    print(f"features: {time.time() - t0:.1f}s, train {xtr.shape}, nnz {xtr.nnz}")
    best = None
    for c in CS:
        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        clf.fit(xtr, ytr, sample_weight=w)
        p = clf.predict_proba(xva)[:, 1]
        ap = average_precision_score(yva, p)
        print(f"C={c}: validation AP {ap:.4f}")
        if best is None or ap > best[0]:
            best = (ap, c, clf, p)
    assert best is not None
    ap, c, clf, p = best
    thr = threshold_at(p, yva, TARGET_FPR)
    tpr = float(np.mean(p[yva == 1] >= thr))
    print(f"chose C={c}; threshold {thr:.3f} (validation FPR<= {TARGET_FPR}), TPR {tpr:.3f}")
    margin, doc_fpr = window_margin(clf, idf, thr, val)
    print(f"window margin {margin:.3f} (validation documents: FPR {doc_fpr:.3f})")
    coef = clf.coef_[0].astype(np.float16)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    meta = np.array([clf.intercept_[0], thr, WINDOW, STRIDE, NORM, margin], dtype=np.float64)
    np.savez_compressed(OUT, coef=coef, idf=idf.astype(np.float16), meta=meta)
    stats = {
        "C": c, "validation_ap": round(float(ap), 4), "threshold": round(thr, 4),
        "validation_tpr_at_threshold": round(tpr, 4), "train_items": len(train),
        "window_margin": round(margin, 4), "validation_doc_fpr": round(doc_fpr, 4),
        "train_positive": int(ytr.sum()), "validation_items": len(val),
        "sources": {s: sum(1 for i in train if i["source"] == s)
                    for s in sorted({str(i["source"]) for i in train})},
    }
    (OUT.parent / "train_stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    print(json.dumps(stats), f"size {OUT.stat().st_size} bytes, {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
