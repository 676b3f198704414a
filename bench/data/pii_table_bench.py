"""Time and peak memory of personal-data profiles on a wide table (default 1M x 20).

    bench/.venvs/presidio/bin/python bench/data/make_synthetic.py table --rows 1000000 \
        --seed 7 --out /tmp/pii-1m.csv
    .venv/bin/python bench/data/pii_table_bench.py /tmp/pii-1m.csv [--parquet] [--duckdb]

Each measurement runs in its own process, so its peak resident memory (ru_maxrss of the
child) is its own:

- ``scan``: `dozor scan FILE --format json` under a policy that raises
  `limits.seconds_per_file` to 3 hours (the default 300 s would stop a 1M x 20 file
  early and say so with DZ-PII-011); run under `script` so standard error is a terminal
  and the progress bar is drawn (its last frame is kept in the result).
- ``arrow``: `dozor.data.profile.profile_table` (one process).
- ``duckdb``/``duckdb-2``: `dozor.data.duckdb_profile.duckdb_profile` with 1 and 2 worker
  processes for the per-value step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PY = str(ROOT / ".venv/bin/python")
DOZOR = str(ROOT / ".venv/bin/dozor")


# A fresh wrapper per measurement: RUSAGE_CHILDREN's ru_maxrss is the largest of all
# children a process ever waited for, so each measurement needs its own parent.
WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:]).returncode
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": time.perf_counter() - t, "cpu": u.ru_utime + u.ru_stime,
                  "rss_kb": u.ru_maxrss}), file=sys.stderr)
"""


def child(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True,
                          text=True, env=env)
    usage = json.loads(proc.stderr.strip().splitlines()[-1])
    return {"wall_seconds": round(usage["wall"], 1), "cpu_seconds": round(usage["cpu"], 1),
            "peak_rss_mb": round(usage["rss_kb"] / 1024), "rc": usage["rc"],
            "stdout": proc.stdout, "stderr": proc.stderr[-2000:]}


PROFILE = """
import json, sys, time
from dozor.data.{mod} import {fn}
t = time.perf_counter()
p = {fn}(sys.argv[1]{extra})
print(json.dumps({{"rows": p.rows, "seconds": time.perf_counter() - t, "columns": {{
    c.name: [[e.entity, round(e.share, 4)] for e in c.entities] for c in p.columns}}}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", type=Path)
    ap.add_argument("--only", nargs="*", default=["scan", "arrow", "duckdb", "duckdb-2"])
    ap.add_argument("--out", type=Path, default=Path("/tmp/pii-table-bench.json"))
    args = ap.parse_args()
    rows = sum(1 for _ in args.table.open("rb")) - 1 if args.table.suffix == ".csv" else None
    results: dict = {"table": str(args.table), "bytes": args.table.stat().st_size,
                     "rows": rows, "load_before": os.getloadavg()[0]}
    tmp = Path(tempfile.mkdtemp(prefix="pii-bench-"))
    policy = tmp / "policy.yaml"
    policy.write_text("limits:\n  seconds_per_file: 10800\n", encoding="utf-8")
    for what in args.only:
        if what == "scan":
            inner = f"{DOZOR} scan {args.table} --format json --output {tmp}/r.json " \
                    f"--policy {policy}"
            cmd = ["script", "-qfec", inner, str(tmp / "tty.log")] if shutil.which(
                "script") else inner.split()
            r = child(cmd, env={**os.environ, "COLUMNS": "100"})
            report = json.loads((tmp / "r.json").read_text(encoding="utf-8"))
            r["findings"] = sorted((f["rule_id"], f["location"]["members"][-1]
                                    if f["location"]["members"] else "")
                                   for f in report["findings"])
            log = (tmp / "tty.log").read_text("utf-8", "replace") if (tmp / "tty.log").exists() \
                else ""
            frames = [x for x in log.replace("\r", "\n").splitlines() if "profiling" in x]
            r["progress_frames"] = len(frames)
            r["last_progress_frame"] = frames[-1][-120:] if frames else ""
        else:
            mod, fn = ("profile", "profile_table") if what == "arrow" else \
                ("duckdb_profile", "duckdb_profile")
            extra = ", workers=2" if what == "duckdb-2" else ""
            r = child([PY, "-c", PROFILE.format(mod=mod, fn=fn, extra=extra), str(args.table)])
            if r["rc"] == 0:
                r["profile"] = json.loads(r["stdout"])
        r.pop("stdout", None)
        results[what] = r
        print(what, json.dumps({k: v for k, v in r.items() if k != "profile"}), flush=True)
    results["load_after"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
