#!/usr/bin/env python3
# ruff: noqa: E501  (long payload strings, templates and descriptions read better unwrapped)
"""Peer comparison of model-file scanners on dozor's benchmark corpus.

    python bench/models/run.py [--corpus DIR] [--big] [--only-stdlib] [--jobs 2]

Creates bench/.venvs/{picklescan,modelscan,fickling} with the latest PyPI release of
each tool (and bench/.venvs/corpus to build the corpus), generates the corpus with
make_corpus.py when needed, runs every tool once per corpus item in its own process,
and writes the tables to the "Model file scanners" section of docs/benchmarks.md.
Raw per-file results go to <corpus>/results.json.  ``--big`` also builds a 1 GiB torch
checkpoint and a 1 GiB pickle under bench/models/big/ and times each tool on them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENVS = ROOT / "bench" / ".venvs"
DOZOR = ROOT / ".venv" / "bin" / "dozor"
DOCS = ROOT / "docs" / "benchmarks.md"
BIG = HERE / "big"
SECTION = "## Model file scanners"

CORPUS_PKGS = [
    "torch==2.13.0",
    "numpy",
    "scikit-learn",
    "xgboost",
    "lightgbm",
    "pandas",
    "joblib",
    "dill",
    "cloudpickle",
    "keras",
    "h5py",
    "onnx",
    "gguf",
    "safetensors",
    "py7zr",
]
# what is installed for each peer; extras beyond the bare package are explained in the report
PEER_PKGS = {
    # the 7z extra adds py7zr; picklescan imports numpy for .npy files without declaring it
    "picklescan": ["picklescan[7z]", "numpy"],
    # the h5py extra lets modelscan read legacy Keras .h5 files (tensorflow is not installed)
    "modelscan": ["modelscan[h5py]"],
    # fickling 0.1.12 imports typing_extensions without declaring it; the archive extra adds
    # 7z support; fickling.polyglot (used by the API driver) needs numpy and torch, and the
    # torch extra would pull an unpinned torch plus torchvision, so torch is pinned here
    "fickling": ["fickling[archive]", "typing_extensions", "numpy", "torch==2.13.0"],
}
PEER_DIST = {"picklescan": "picklescan", "modelscan": "modelscan", "fickling": "fickling"}
TIMEOUT = 300
BIG_TIMEOUT = 1800


# ---------------------------------------------------------------------------
# environments
# ---------------------------------------------------------------------------


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def ensure_venv(name: str, pkgs: list[str], upgrade: bool = False) -> Path:
    venv = VENVS / name
    py = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    if not py.exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    want = " ".join(pkgs)
    if upgrade or not stamp.exists() or stamp.read_text() != want:
        log(f"installing into {venv}: {want}")
        subprocess.run(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *(["-U"] if upgrade else []),
                *pkgs,
            ],
            check=True,
        )
        stamp.write_text(want)
    return venv


def dist_version(venv: Path, dist: str) -> str:
    r = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({dist!r}))",
        ],
        capture_output=True,
        text=True,
    )
    return r.stdout.strip() or "?"


def dozor_version() -> str:
    if not DOZOR.exists():
        return ""
    r = subprocess.run([str(DOZOR), "--version"], capture_output=True, text=True)
    version = (r.stdout.strip().split() or ["?"])[-1]
    git = ["git", "-C", str(ROOT)]
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True
    )
    if rev.returncode == 0:
        version += (
            f" (commit {rev.stdout.strip()}{', src modified' if dirty.stdout.strip() else ''})"
        )
    return version


def corpus_stamp() -> str:
    return hashlib.sha256((HERE / "make_corpus.py").read_bytes()).hexdigest()[:16]


def ensure_corpus(corpus: Path, only_stdlib: bool, regen: bool) -> Path:
    """Generate the corpus unless an up-to-date one is there; returns the marker dir."""
    markers = corpus.parent / (corpus.name + "-markers")
    stamp = corpus / ".stamp"
    want = corpus_stamp() + (" stdlib" if only_stdlib else " full")
    if (
        not regen
        and (corpus / "manifest.json").exists()
        and stamp.exists()
        and stamp.read_text() == want
    ):
        return markers
    if only_stdlib:
        py = Path(sys.executable)
    else:
        py = ensure_venv("corpus", CORPUS_PKGS) / "bin" / "python"
    log(f"generating corpus in {corpus}")
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONHASHSEED": "0"}
    subprocess.run(
        [
            str(py),
            str(HERE / "make_corpus.py"),
            str(corpus),
            "--marker-dir",
            str(markers),
            *(["--only-stdlib"] if only_stdlib else []),
        ],
        check=True,
        env=env,
    )
    stamp.write_text(want)
    return markers


# ---------------------------------------------------------------------------
# tools: command line and how each tool's own docs say to read its verdict
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # flagged | clean | error | unsupported
    detail: str
    seconds: float


@dataclass
class Tool:
    name: str
    label: str
    argv: Callable[[Path, Path], list[str]]
    judge: Callable[[int, str, str, Path], tuple[str, str]]


def _first_line(s: str, pat: str = "") -> str:
    for line in s.splitlines():
        line = line.strip()
        if line and (not pat or re.search(pat, line)):
            return line[:160]
    return ""


def _crashed(err: str) -> str:
    """The exception line of an uncaught Python traceback ('' if none): such an exit 1
    is a crash, not a verdict."""
    if "Traceback (most recent call last)" not in err:
        return ""
    exc = [
        ln.strip()
        for ln in err.splitlines()
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", ln.strip())
    ]
    return "crash: " + (exc[-1] if exc else "traceback")[:150]


def judge_picklescan(rc: int, out: str, err: str, tmp: Path) -> tuple[str, str]:
    # picklescan: exit 1 = dangerous globals found, 2 = scan error (which wins over 1),
    # so the "Infected files" summary line decides when both happened
    m = re.search(r"Infected files:\s*(\d+)", out)
    infected = int(m.group(1)) if m else 0
    found = re.findall(r"dangerous import '([^']+)'", out + err)
    if rc == 1 or infected:
        return "flagged", ", ".join(sorted(set(found))[:4])
    if rc == 0:
        return "clean", ""
    return "error", _crashed(err) or _first_line(err + out, r"[Ee]rror|Exception") or f"exit {rc}"


def judge_modelscan(rc: int, out: str, err: str, tmp: Path) -> tuple[str, str]:
    # modelscan: 0 clean, 1 issues found, 2 scan error, 3 no supported files, 4 usage error
    report: dict = {}
    try:
        report = json.loads((tmp / "report.json").read_text())
    except (OSError, ValueError):
        pass
    issues = report.get("issues") or []
    if issues or (rc == 1 and not _crashed(err)):
        return "flagged", ", ".join(
            sorted({f"{i.get('module')}.{i.get('operator')}" for i in issues})[:4]
        )
    if rc == 0:
        return "clean", ""
    if rc == 3:
        return "unsupported", "no supported files"
    errs = report.get("errors") or []
    detail = (
        errs[0].get("description") if errs and isinstance(errs[0], dict) else ""
    ) or _first_line(out + err, r"[Ee]rror|Exception")
    return "error", (_crashed(err) or detail or f"exit {rc}")[:160]


def judge_fickling_cli(rc: int, out: str, err: str, tmp: Path) -> tuple[str, str]:
    # fickling --check-safety: 0 = no issue found, 1 = unsafe, 2 = parse/scan error
    crash = _crashed(err)
    if rc == 1 and not crash:
        return "flagged", _first_line(out, r"unsafe|call|import|eval|exec")
    if rc == 0:
        return "clean", ""
    return "error", crash or _first_line(err + out, r"[Ee]rror|failed") or f"exit {rc}"


def judge_fickling_api(rc: int, out: str, err: str, tmp: Path) -> tuple[str, str]:
    try:
        info = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        info = {}
    if rc == 1 and info.get("route") in ("zip", "pickle"):
        return "flagged", f"{info.get('route')}: {info.get('severity')}"
    if rc == 0:
        return "clean", ""
    if rc == 3:
        return "unsupported", info.get("route", "")
    return "error", (
        info.get("error")
        or "; ".join(info.get("errors", []))
        or _first_line(err, r"Error|Exception")
        or f"exit {rc}"
    )[:160]


def judge_dozor(rc: int, out: str, err: str, tmp: Path) -> tuple[str, str]:
    # dozor scan --format json: 1 = a finding at/above the default threshold, 0 = clean, 2 = error
    try:
        rep = json.loads(out)
        rules = sorted({f["rule_id"] for f in rep.get("findings", [])})
    except ValueError:
        rules = []
    crash = _crashed(err)
    if rc == 1 and not crash:
        return "flagged", ", ".join(rules[:5])
    if rc == 0:
        return "clean", ", ".join(rules[:5])
    return "error", crash or _first_line(err, r"[Ee]rror|Exception") or f"exit {rc}"


def make_tools(selected: list[str]) -> list[Tool]:
    v = VENVS
    tools = [
        Tool(
            "picklescan",
            "picklescan",
            lambda p, t: [str(v / "picklescan/bin/picklescan"), "-p", str(p)],
            judge_picklescan,
        ),
        Tool(
            "modelscan",
            "modelscan",
            lambda p, t: [
                str(v / "modelscan/bin/modelscan"),
                "-p",
                str(p),
                "-r",
                "json",
                "-o",
                str(t / "report.json"),
            ],
            judge_modelscan,
        ),
        Tool(
            "fickling",
            "fickling (CLI)",
            lambda p, t: [
                str(v / "fickling/bin/fickling"),
                "--check-safety",
                "--json-output",
                str(t / "fickling.json"),
                str(p),
            ],
            judge_fickling_cli,
        ),
        Tool(
            "fickling-api",
            "fickling (API)",
            lambda p, t: [str(v / "fickling/bin/python"), str(HERE / "fickling_api.py"), str(p)],
            judge_fickling_api,
        ),
        Tool(
            "dozor",
            "dozor",
            lambda p, t: [str(DOZOR), "scan", str(p), "--format", "json"],
            judge_dozor,
        ),
    ]
    return [t for t in tools if t.name in selected]


def run_one(tool: Tool, path: Path, timeout: int = TIMEOUT) -> Outcome:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{tool.name}-"))
    env = {k: val for k, val in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        t0 = time.perf_counter()
        try:
            r = subprocess.run(
                tool.argv(path, tmp),
                cwd=tmp,
                capture_output=True,
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return Outcome("error", f"timeout after {timeout}s", time.perf_counter() - t0)
        secs = time.perf_counter() - t0
        out = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
        status, detail = tool.judge(r.returncode, out, err, tmp)
        return Outcome(status, detail, secs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# big files
# ---------------------------------------------------------------------------

BIG_SCRIPT = r"""
import pickle, sys, numpy as np, torch
out = sys.argv[1]
torch.manual_seed(0)
# 16 float32 tensors of 16 Mi elements = 1 GiB
sd = {f"layers.{i}.weight": torch.randn(4096, 4096) for i in range(16)}
torch.save(sd, f"{out}/checkpoint_1gib.pt")
del sd
rng = np.random.default_rng(0)
# 16 arrays of 32 MiB plus 512 bytes objects of 1 MiB = 1 GiB, protocol 4
obj = {"arrays": [rng.standard_normal(8 * 2**20, dtype=np.float32) for _ in range(16)],
       "blobs": [bytes([i % 251]) * 2**20 for i in range(512)]}
with open(f"{out}/pickle_1gib.pkl", "wb") as f:
    pickle.dump(obj, f, protocol=4)
"""


def ensure_big() -> list[Path]:
    files = [BIG / "checkpoint_1gib.pt", BIG / "pickle_1gib.pkl"]
    if not all(f.exists() for f in files):
        BIG.mkdir(parents=True, exist_ok=True)
        py = ensure_venv("corpus", CORPUS_PKGS) / "bin" / "python"
        log("generating 1 GiB files in", BIG)
        subprocess.run([str(py), "-c", BIG_SCRIPT, str(BIG)], check=True)
    return files


def run_big(tools: list[Tool], repeat: int = 3) -> dict:
    res: dict = {}
    for f in ensure_big():
        res[f.name] = {"size": f.stat().st_size, "tools": {}}
        for tool in tools:
            runs = []
            for _ in range(repeat):
                o = run_one(tool, f, BIG_TIMEOUT)
                runs.append(o)
                log(f"big {f.name} {tool.name}: {o.status} {o.seconds:.1f}s {o.detail}")
                if o.detail.startswith("timeout"):
                    break
            res[f.name]["tools"][tool.name] = {
                "seconds": [round(o.seconds, 3) for o in runs],
                "median": round(statistics.median(o.seconds for o in runs), 3),
                "status": sorted({o.status for o in runs}),
                "detail": runs[-1].detail,
            }
    return res


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def ratio(x: float, base: float) -> str:
    if not base:
        return "n/a"
    r = x / base
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def technique_cell(outcomes: list[str]) -> str:
    n = len(outcomes)
    k = outcomes.count("flagged")
    if k == n:
        return "caught"
    if k:
        return f"caught {k}/{n}"
    if outcomes.count("error") == n:
        return "error"
    return "missed" if n == 1 else f"missed 0/{n}"


def render(results: dict) -> str:
    meta = results["meta"]
    tools = meta["tools"]
    labels = meta["labels"]
    items = results["items"]
    mal = [i for i in items if i["label"] == "malicious"]
    ben = [i for i in items if i["label"] == "benign"]
    L: list[str] = []
    w = L.append
    w(SECTION)
    w("")
    w(
        f"Run on {meta['date']} on {meta['machine']} by `{meta['command']}`; "
        f"{len(mal)} malicious and {len(ben)} benign items from `bench/models/make_corpus.py` "
        f"({'standard-library part only' if meta['only_stdlib'] else 'full corpus'}), "
        f"{len({i['technique'] for i in mal})} attack techniques. "
        "Each tool runs once per item in its own process (two at a time), so a verdict belongs to exactly one file; "
        "a SavedModel folder is one item. Times include each tool's start-up, which dominates on small files, "
        "so they are given as ratios to dozor, not as absolute claims; on this shared machine the totals moved by up "
        "to 3× between runs while the ratios moved much less."
    )
    w("")
    w(
        "Reproduce: `python bench/models/run.py` (add `--big` for the 1 GiB timings). "
        "The runner creates `bench/.venvs/{picklescan,modelscan,fickling,corpus}` and installs the latest PyPI "
        "release of each tool; results per file are in `<corpus>/results.json`."
    )
    w("")
    w('| tool | version | how "flagged" is read |')
    w("| --- | --- | --- |")
    how = {
        "picklescan": "`picklescan -p FILE`: exit 1, or `Infected files` > 0 in its summary (exit 2 = scan error)",
        "modelscan": "`modelscan -p FILE -r json`: exit 1 / issues in the JSON report; exit 3 (no supported file) "
        "counts as not flagged; installed as `modelscan[h5py]`, no tensorflow",
        "fickling": "`fickling --check-safety FILE`: exit 1 (exit 2 = could not parse, e.g. any zip)",
        "fickling-api": "fickling's Python API routed as its own Hugging Face scanner routes files "
        "(`polyglot.find_file_properties` → `scan_zip_archive` / `scan_file`, graceful); "
        "not scanned = not flagged (`bench/models/fickling_api.py`); `polyglot` imports torch "
        "on every run, which dominates its time",
        "dozor": "`dozor scan FILE --format json`: exit 1 (a finding at or above the default threshold, medium)",
    }
    for t in tools:
        w(f"| {labels[t]} | {meta['versions'].get(t, '?')} | {how[t]} |")
    w("")
    if meta.get("notes"):
        for n in meta["notes"]:
            w(f"- {n}")
        w("")
    base = meta["totals"].get("dozor", 0.0)
    w(
        "| tool | malicious flagged (recall) | benign flagged (false positives) | errors | not scanned | total time vs dozor (below 1× = faster) |"
    )
    w("| --- | --- | --- | --- | --- | --- |")
    for t in tools:
        st_m = [i["results"][t]["status"] for i in mal]
        st_b = [i["results"][t]["status"] for i in ben]
        st = st_m + st_b
        rc = st_m.count("flagged")
        w(
            f"| {labels[t]} | {rc}/{len(mal)} ({100 * rc / max(1, len(mal)):.0f}%) | "
            f"{st_b.count('flagged')}/{len(ben)} | {st.count('error')} | {st.count('unsupported')} | "
            f"{ratio(meta['totals'][t], base) if 'dozor' in tools else '-'} |"
        )
    w("")
    w("### Per technique (malicious items)")
    w("")
    w(
        "Cell: caught = every file of the technique flagged; `caught k/n` = some; missed = none flagged; "
        "error = the tool failed on every file and flagged none. † = the tool also flags benign files of the "
        "same format in this corpus, so that catch does not tell malicious from benign (fickling's CLI, for "
        "one, reads every file as a pickle and calls undecodable bytes unsafe)."
    )
    w("")
    w("| technique | files | " + " | ".join(labels[t] for t in tools) + " |")
    w("| --- | --- | " + " | ".join("---" for _ in tools) + " |")
    by_tech: dict[str, list[dict]] = {}
    for i in mal:
        by_tech.setdefault(i["technique"], []).append(i)
    fp_formats = {
        t: {i["format"] for i in ben if i["results"][t]["status"] == "flagged"} for t in tools
    }
    for tech in sorted(by_tech):
        group = by_tech[tech]
        cells = []
        for t in tools:
            cell = technique_cell([g["results"][t]["status"] for g in group])
            if cell.startswith("caught") and {g["format"] for g in group} & fp_formats[t]:
                cell += " †"
            cells.append(cell)
        w(f"| `{tech}` | {len(group)} | " + " | ".join(cells) + " |")
    w("")
    w("### Benign items flagged")
    w("")
    flagged_b = [i for i in ben if any(i["results"][t]["status"] == "flagged" for t in tools)]
    if not flagged_b:
        w("None.")
    else:
        w("| file | " + " | ".join(labels[t] for t in tools) + " |")
        w("| --- | " + " | ".join("---" for _ in tools) + " |")
        for i in flagged_b:
            cells = []
            for t in tools:
                r = i["results"][t]
                cells.append(
                    ("flagged" + (f": {r['detail']}" if r["detail"] else "")).replace("|", "\\|")
                    if r["status"] == "flagged"
                    else r["status"]
                )
            w(f"| `{i['file']}` | " + " | ".join(cells) + " |")
    w("")
    w(f"Marker files created while scanning (a payload that ran): {meta['markers'] or 'none'}.")
    w("")
    big = results.get("big")
    if big:
        w("### 1 GiB files")
        w("")
        w(
            f"Median of 3 wall-clock runs each ({big.get('date', meta['date'])}) on this 2-core machine, with the "
            "ratio to dozor's median (the ratio is the comparable number; seconds depend on the machine); "
            "the files are built by `run.py --big` in `bench/models/big/` (not committed): a torch.save state_dict "
            "of 16 float32 tensors (1 GiB) and a protocol-4 pickle of 16 float32 arrays plus 512 byte strings "
            "(1 GiB). Outcome: clean / flagged / error."
        )
        w("")
        names = [n for n in big if n != "date"]
        w("| tool | " + " | ".join(f"`{n}` median (vs dozor) | outcome" for n in names) + " |")
        w("| --- | " + " | ".join("--- | ---" for _ in names) + " |")
        for t in tools:
            cells = []
            for n in names:
                r = big[n]["tools"].get(t)
                if not r:
                    cells += ["-", "-"]
                    continue
                base_t = big[n]["tools"].get("dozor", {}).get("median", 0)
                cells += [
                    f"{r['median']:.2f} s ({ratio(r['median'], base_t) if t != 'dozor' else '1×'})",
                    "/".join(r["status"])
                    + (
                        f" ({r['detail'][:60]})" if r["status"] != ["clean"] and r["detail"] else ""
                    ),
                ]
            w(f"| {labels[t]} | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        w("")
    return "\n".join(L) + "\n"


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\n"
    if SECTION in text:
        start = text.index(SECTION)
        m = re.search(r"^## ", text[start + len(SECTION) :], re.M)
        end = start + len(SECTION) + m.start() if m else len(text)
        text = text[:start] + section + ("\n" if m else "") + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compare model-file scanners on dozor's corpus.")
    ap.add_argument("--corpus", type=Path, default=HERE / "corpus")
    ap.add_argument(
        "--big", action="store_true", help="also time 1 GiB files (built in bench/models/big/)"
    )
    ap.add_argument(
        "--only-stdlib", action="store_true", help="corpus from the standard-library builders only"
    )
    ap.add_argument(
        "--regen", action="store_true", help="rebuild the corpus even if it is up to date"
    )
    ap.add_argument(
        "--upgrade", action="store_true", help="pip install -U the peers before running"
    )
    ap.add_argument("--tools", default="picklescan,modelscan,fickling,fickling-api,dozor")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    ap.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the docs section from <corpus>/results.json without running anything",
    )
    args = ap.parse_args(argv)
    if args.render_only:
        results = json.loads((args.corpus.resolve() / "results.json").read_text())
        if (BIG / "timings.json").exists():
            results["big"] = json.loads((BIG / "timings.json").read_text())
        write_docs(render(results))
        log(f"wrote {DOCS}")
        return 0

    selected = [t.strip() for t in args.tools.split(",") if t.strip()]
    notes = []
    if "dozor" in selected and not DOZOR.exists():
        log(f"{DOZOR} not found; running the peers only")
        notes.append("dozor was not installed when this ran; its column is missing.")
        selected.remove("dozor")
    venvs = {}
    for name in ("picklescan", "modelscan", "fickling"):
        if name in selected or (name == "fickling" and "fickling-api" in selected):
            venvs[name] = ensure_venv(name, PEER_PKGS[name], args.upgrade)
    tools = make_tools(selected)
    corpus = args.corpus.resolve()
    markers = ensure_corpus(corpus, args.only_stdlib, args.regen)
    for m in markers.glob("*"):
        m.unlink()
    manifest = json.loads((corpus / "manifest.json").read_text())

    versions = {n: dist_version(v, PEER_DIST[n]) for n, v in venvs.items()}
    if "fickling" in versions:
        versions["fickling-api"] = versions["fickling"]
    if "dozor" in selected:
        versions["dozor"] = dozor_version()
    items = [dict(e, results={}) for e in manifest]
    jobs = [(tool, item) for item in items for tool in tools]
    log(f"{len(items)} items x {len(tools)} tools = {len(jobs)} runs, {args.jobs} at a time")

    def work(job: tuple[Tool, dict]) -> None:
        tool, item = job
        o = run_one(tool, corpus / item["file"])
        item["results"][tool.name] = {
            "status": o.status,
            "detail": o.detail,
            "seconds": round(o.seconds, 4),
        }

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for n, _ in enumerate(pool.map(work, jobs), 1):
            if n % 100 == 0:
                log(f"  {n}/{len(jobs)} runs, {time.perf_counter() - t0:.0f}s")
    created = sorted(p.name for p in markers.glob("*"))
    totals = {t.name: round(sum(i["results"][t.name]["seconds"] for i in items), 3) for t in tools}
    date = dt.date.today().isoformat()
    cmd = (
        "python bench/models/run.py"
        + (" --big" if args.big else "")
        + (" --only-stdlib" if args.only_stdlib else "")
    )
    results = {
        "meta": {
            "date": date,
            "command": cmd,
            "only_stdlib": args.only_stdlib,
            "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
            "tools": [t.name for t in tools],
            "labels": {t.name: t.label for t in tools},
            "versions": versions,
            "totals": totals,
            "markers": ", ".join(created),
            "notes": notes,
        },
        "items": items,
    }
    big_file = BIG / "timings.json"
    if args.big:
        big = run_big(tools)
        big["date"] = date
        big_file.parent.mkdir(parents=True, exist_ok=True)
        big_file.write_text(json.dumps(big, indent=1))
    if big_file.exists():
        results["big"] = json.loads(big_file.read_text())
    (corpus / "results.json").write_text(json.dumps(results, indent=1))
    section = render(results)
    if not args.no_docs:
        write_docs(section)
        log(f"wrote {DOCS}")
    else:
        print(section)
    for t in tools:
        st = [i["results"][t.name]["status"] for i in items if i["label"] == "malicious"]
        sb = [i["results"][t.name]["status"] for i in items if i["label"] == "benign"]
        log(
            f"{t.name:13s} malicious flagged {st.count('flagged')}/{len(st)}  benign flagged "
            f"{sb.count('flagged')}/{len(sb)}  errors {st.count('error') + sb.count('error')}  "
            f"total {totals[t.name]:.1f}s"
        )
    if created:
        log(f"WARNING: marker files were created: {created}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
