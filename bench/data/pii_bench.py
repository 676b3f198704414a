"""Personal-data detection: dozor vs Presidio on the same records in one run.

    .venv/bin/python bench/data/pii_bench.py --rows 100000 --seed 20261122 \
        --out /tmp/pii-bench [--write-docs]

Two sets:

- ``presidio``: Presidio's own benchmark (shared/data/presidio-research/
  synth_dataset_v2.json, 1,500 English sentences, MIT), for the entity types both tools
  name: PERSON, STREET_ADDRESS, CREDIT_CARD, PHONE_NUMBER, EMAIL_ADDRESS, DOMAIN_NAME
  (as URL), IBAN_CODE, US_SSN, IP_ADDRESS. Its DATE_TIME labels are any date, which
  dozor does not report (it reports dates of birth only), so they are left out.
- ``synthetic``: `make_synthetic.py spans` with the given seed (Faker en_US + ru_RU).
  Presidio's DATE_TIME counts as DATE_OF_BIRTH there (a birth date it finds is a hit;
  the other dates it reports are false positives, as they would be for a user).

Matching is per entity type and relaxed on boundaries: a prediction and a gold span
match when they overlap by at least half of the shorter one. Precision = matching
predictions / predictions, recall = matched gold spans / gold spans. Speed is records
per CPU-second of detection alone (engine start-up excluded), one process, one thread
each, on the same records; CPU time, not wall time, decides the ratio because the machine
is shared and the two tools run minutes apart (wall-time ratios are kept too). Presidio
runs in bench/.venvs/presidio (see pii_presidio_runner.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PRESIDIO_PY = ROOT / "bench/.venvs/presidio/bin/python"
PRESIDIO_DATA = ROOT.parent / "shared/data/presidio-research/synth_dataset_v2.json"

GOLD_PRESIDIO = {"PERSON": "PERSON", "STREET_ADDRESS": "ADDRESS", "CREDIT_CARD": "CREDIT_CARD",
                 "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL", "DOMAIN_NAME": "URL",
                 "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS"}
PRED_PRESIDIO = {"PERSON": "PERSON", "LOCATION": "ADDRESS", "CREDIT_CARD": "CREDIT_CARD",
                 "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL", "URL": "URL",
                 "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS",
                 "DATE_TIME": "DATE_OF_BIRTH"}
SYNTH_TYPES = ("PERSON", "ADDRESS", "CREDIT_CARD", "PHONE", "EMAIL", "URL", "IBAN", "US_SSN",
               "IP_ADDRESS", "DATE_OF_BIRTH", "RU_INN", "RU_SNILS", "RU_PASSPORT")
PRESIDIO_TYPES = tuple(dict.fromkeys(GOLD_PRESIDIO.values()))


def load_presidio_set(path: Path, out: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    with out.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(data):
            spans = [[s["start_position"], s["end_position"], GOLD_PRESIDIO[s["entity_type"]]]
                     for s in r["spans"] if s["entity_type"] in GOLD_PRESIDIO]
            fh.write(json.dumps({"id": i, "text": r["full_text"], "spans": spans,
                                 "template": r["template_id"]}) + "\n")


def run_dozor(path: Path) -> tuple[dict[int, list[list]], float, float]:
    sys.path.insert(0, str(ROOT / "src"))
    from dozor.detect.pii import find_pii

    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    find_pii("warm up 212-555-1234 John Smith")
    t0, c0 = time.perf_counter(), time.process_time()
    preds = {r["id"]: [[m.start, m.end, m.entity] for m in find_pii(r["text"])]
             for r in records}
    return preds, time.perf_counter() - t0, time.process_time() - c0


def run_presidio(path: Path) -> tuple[dict[int, list[list]], float, float]:
    proc = subprocess.run([str(PRESIDIO_PY), str(HERE / "pii_presidio_runner.py"), str(path)],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9",
                               "HTTP_PROXY": "http://127.0.0.1:9"})
    lines = proc.stdout.strip().splitlines()
    tail = json.loads(lines[-1])
    preds: dict[int, list[list]] = {}
    for line in lines[:-1]:
        r = json.loads(line)
        preds[r["id"]] = [[s, e, PRED_PRESIDIO[t]] for s, e, t, _score in r["spans"]
                          if t in PRED_PRESIDIO]
    return preds, tail["seconds"], tail["cpu_seconds"]


def _match(a: list, b: list) -> bool:
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    return overlap > 0 and overlap * 2 >= min(a[1] - a[0], b[1] - b[0])


def score(gold_path: Path, preds: dict[int, list[list]], types: tuple[str, ...],
          heldout_only: bool = False) -> dict:
    n_pred, ok_pred, n_gold, ok_gold = Counter(), Counter(), Counter(), Counter()
    for line in gold_path.open(encoding="utf-8"):
        r = json.loads(line)
        if heldout_only and r.get("template", 1) % 2 == 0:
            continue
        gold = r["spans"]
        pred = [p for p in preds.get(r["id"], []) if p[2] in types]
        for p in pred:
            n_pred[p[2]] += 1
            ok_pred[p[2]] += any(g[2] == p[2] and _match(g, p) for g in gold)
        for g in gold:
            n_gold[g[2]] += 1
            ok_gold[g[2]] += any(p[2] == g[2] and _match(g, p) for p in pred)
    out = {}
    for t in types:
        prec = ok_pred[t] / n_pred[t] if n_pred[t] else 0.0
        rec = ok_gold[t] / n_gold[t] if n_gold[t] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[t] = {"precision": round(prec, 3), "recall": round(rec, 3), "f1": round(f1, 3),
                  "gold": n_gold[t], "predicted": n_pred[t]}
    return out


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--out", type=Path, default=Path("/tmp/pii-bench"))
    ap.add_argument("--dozor-runs", type=int, default=3, help="timing runs (median)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sets = {}
    presidio_set = args.out / "presidio.jsonl"
    load_presidio_set(PRESIDIO_DATA, presidio_set)
    sets["presidio"] = (presidio_set, PRESIDIO_TYPES)
    synth = args.out / f"synthetic-{args.seed}-{args.rows}.jsonl"
    if not synth.exists():
        subprocess.run([str(PRESIDIO_PY), str(HERE / "make_synthetic.py"), "spans", "--rows",
                        str(args.rows), "--seed", str(args.seed), "--out", str(synth)],
                       check=True)
    sets["synthetic"] = (synth, SYNTH_TYPES)
    results = {"load_before": load_average(), "cpus": os.cpu_count()}
    for name, (path, types) in sets.items():
        records = sum(1 for _ in path.open(encoding="utf-8"))
        times, cpus = [], []
        for _ in range(args.dozor_runs):
            d_preds, d_sec, d_cpu = run_dozor(path)
            times.append(d_sec)
            cpus.append(d_cpu)
        p_preds, p_sec, p_cpu = run_presidio(path)
        d_sec, d_cpu = statistics.median(times), statistics.median(cpus)
        results[name] = {
            "records": records,
            "dozor": {"seconds": round(d_sec, 3), "cpu_seconds": round(d_cpu, 3),
                      "records_per_second": round(records / d_sec),
                      "records_per_cpu_second": round(records / d_cpu),
                      "scores": score(path, d_preds, types)},
            "presidio": {"seconds": round(p_sec, 3), "cpu_seconds": round(p_cpu, 3),
                         "records_per_second": round(records / p_sec),
                         "records_per_cpu_second": round(records / p_cpu),
                         "scores": score(path, p_preds, types)},
            "speedup": round(p_cpu / d_cpu, 1),
            "speedup_wall": round(p_sec / d_sec, 1),
        }
        if name == "presidio":
            results["presidio-heldout"] = {
                "records": sum(1 for line in path.open(encoding="utf-8")
                               if json.loads(line)["template"] % 2),
                "dozor": {"scores": score(path, d_preds, types, heldout_only=True)},
                "presidio": {"scores": score(path, p_preds, types, heldout_only=True)},
            }
        print(name, json.dumps(results[name], indent=1), flush=True)
    results["load_after"] = load_average()
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(markdown(results))


def markdown(results: dict) -> str:
    lines = []
    for name in ("presidio", "presidio-heldout", "synthetic"):
        r = results[name]
        if "speedup" in r:
            lines.append(f"\n**{name}** ({r['records']} records): dozor "
                         f"{r['dozor']['records_per_cpu_second']} records per CPU-second, "
                         f"Presidio {r['presidio']['records_per_cpu_second']} (dozor "
                         f"{r['speedup']}x faster per CPU-second, {r['speedup_wall']}x in "
                         "wall time)\n")
        else:
            lines.append(f"\n**{name}** ({r['records']} records, same run)\n")
        lines.append("| entity | gold | dozor P | dozor R | dozor F1 | Presidio P | "
                     "Presidio R | Presidio F1 |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for t, d in r["dozor"]["scores"].items():
            p = r["presidio"]["scores"][t]
            lines.append(f"| {t} | {d['gold']} | {d['precision']:.3f} | {d['recall']:.3f} | "
                         f"**{d['f1']:.3f}** | {p['precision']:.3f} | {p['recall']:.3f} | "
                         f"{p['f1']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
