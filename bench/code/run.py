#!/usr/bin/env python3
# ruff: noqa: E501  (tables and command lines read better unwrapped)
"""Peer comparison of dozor's code, notebook, secret, dependency and manifest scanners.

    python bench/code/run.py [--corpus DIR] [--runs 3] [--big] [--write-docs]

Generates the labelled corpus with make_corpus.py (default bench/code/corpus/, not
committed), creates bench/.venvs/{bandit,detect-secrets,checkov,pip-audit} with the
latest PyPI release of each tool when missing, runs every tool on the category folders
it claims to cover, maps each reported finding to the manifest's cases and counts per
tool and category: positives found (recall), negatives flagged (false positives) and
wall-clock time (median of --runs).  ``--big`` also times dozor and Bandit on one large
pure-Python package tree (sympy, downloaded as a wheel from PyPI).  Raw findings,
per-case verdicts and tool outputs go to <corpus>/results.json (and the section
as markdown to <corpus>/results.md); ``--write-docs``
replaces the "Code, notebooks, secrets, dependencies and manifests" section of
docs/benchmarks.md (appending it when absent) and leaves every other section alone.

Every tool runs with HTTP(S) proxies pointed at a closed local port, so each one is
measured as it behaves offline (dozor's dependency audit is offline by design).

Matching: a finding counts for a case when it is in the same file and its line (or line
range) is within +-2 lines of the case's line (for a Pipfile.lock entry: between the
package's name and version lines).  Notebook findings that name a cell (dozor) are
matched by cell, source/output and the line inside the cell; tools that report a line of
the raw .ipynb JSON are matched on that line.  A finding without a line counts for every
case of its file.  pip-audit reports packages, not lines, so it is matched by file and
package name.  Checkov reports Kubernetes/Dockerfile checks on the whole resource (a
line range covering the Deployment), so such a check counts only for cases whose topic
it is about (CHECKOV_TOPICS); its secrets checks are matched by line like the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENVS = ROOT / "bench" / ".venvs"
DOZOR = ROOT / ".venv" / "bin" / "dozor"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Code, notebooks, secrets, dependencies and manifests"
CATEGORIES = ["code", "notebook", "secret", "deps", "manifest"]
TIMEOUT = 900
SEVERITY_ORDER = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4, "undefined": 0}

# each peer: its venv name, what is installed there, the executable
PEERS = {
    "bandit": ["bandit"],
    "detect-secrets": ["detect-secrets"],
    "checkov": ["checkov"],
    "pip-audit": ["pip-audit"],
}

# every tool is scored only on the cases it claims to cover
CLAIMS: dict[str, tuple[str, Callable[[dict], bool]]] = {
    "dozor": ("every category", lambda c: True),
    "bandit": (
        "Python code (it does not read notebooks, secrets files, lock files or manifests)",
        lambda c: c["category"] == "code",
    ),
    "detect-secrets": (
        "secrets, wherever they are (notebooks, manifests and plain files)",
        lambda c: c["kind"] == "secret",
    ),
    "checkov": (
        "manifests (kubernetes, dockerfile frameworks) and secrets (secrets framework)",
        lambda c: c["category"] == "manifest" or c["kind"] == "secret",
    ),
    "pip-audit": (
        "known-vulnerable pins in requirements files (`-r`; it reads no poetry.lock, uv.lock or Pipfile.lock)",
        lambda c: c["kind"] == "vuln" and Path(c["file"]).name.startswith("requirements"),
    ),
}

# Checkov's Kubernetes and Dockerfile checks report the whole resource; a check counts
# only for the cases whose topic it is (a regex on the case's "what").
CHECKOV_TOPICS = {
    "CKV_K8S_14": r"^image_",  # Image Tag should be fixed - not latest or blank
    "CKV_K8S_43": r"^image_",  # Image should use digest
    "CKV_DOCKER_7": r"^image_",  # base image uses latest
    "CKV_K8S_16": r"^privileged",  # Container should not be privileged
    "CKV_K8S_20": r"^privileged",  # allowPrivilegeEscalation
    "CKV_K8S_10": r"resource_limits",  # CPU requests
    "CKV_K8S_11": r"resource_limits",  # CPU limits
    "CKV_K8S_12": r"resource_limits",  # memory requests
    "CKV_K8S_13": r"resource_limits",  # memory limits
    "CKV_DOCKER_3": r"^dockerfile_.*user",  # a user for the container has been created
    "CKV_DOCKER_8": r"^dockerfile_.*user",  # last USER is not root
    "CKV2_DOCKER_2": r"^curl_",  # curl with certificate validation disabled
    "CKV2_DOCKER_3": r"^curl_",  # wget with certificate validation disabled
}

OFFLINE_PROXY = "http://127.0.0.1:9"


def offline_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env[key] = OFFLINE_PROXY
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    env["PYTHONWARNINGS"] = "ignore"
    return env


# ---------------------------------------------------------------------------
# environments
# ---------------------------------------------------------------------------


def tool_bin(tool: str) -> Path:
    if tool == "dozor":
        return DOZOR
    return VENVS / tool / "bin" / tool


def ensure_venv(tool: str, upgrade: bool) -> None:
    venv = VENVS / tool
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        upgrade = True
    if upgrade or not tool_bin(tool).exists():
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade"]
        subprocess.run([*pip, "pip"], check=True)
        subprocess.run([*pip, *PEERS[tool]], check=True)


def tool_version(tool: str) -> str:
    args = {
        "dozor": ["--version"],
        "bandit": ["--version"],
        "detect-secrets": ["--version"],
        "checkov": ["--version"],
        "pip-audit": ["--version"],
    }[tool]
    out = subprocess.run(
        [str(tool_bin(tool)), *args], capture_output=True, text=True, env=offline_env(), timeout=120
    )
    text = (out.stdout or out.stderr).strip().splitlines()
    first = text[0] if text else "?"
    m = re.search(r"\d+\.\d+(?:\.\d+)?", first)
    return m.group(0) if m else first


# ---------------------------------------------------------------------------
# findings
# ---------------------------------------------------------------------------


@dataclass
class Hit:
    """One finding of one tool, reduced to what matching needs."""

    file: str
    """Path relative to the corpus root, with forward slashes."""
    line: int | None
    line_end: int | None
    rule: str
    severity: str | None
    text: str
    cell: int | None = None
    """dozor's 1-based notebook cell, when the finding names one."""
    where: str | None = None
    """source or output, for a notebook cell."""
    package: str | None = None
    """pip-audit: the audited package (normalised name)."""
    topic: str | None = None
    """Checkov resource-level checks: the case topics the check is about (regex)."""


def _norm_pkg(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_dozor(out: str, _cat: str, _cmd: list[str]) -> list[Hit]:
    data = json.loads(out)
    hits = []
    for f in data.get("findings", []):
        loc = f.get("location", {})
        cell = where = None
        for member in loc.get("members", []):
            m = re.fullmatch(r"cell (\d+)( output)?", member)
            if m:
                cell, where = int(m.group(1)), "output" if m.group(2) else "source"
        hits.append(
            Hit(
                loc.get("path", "").replace("\\", "/"),
                loc.get("line"),
                None,
                f.get("rule_id", ""),
                f.get("severity"),
                f.get("evidence") or f.get("title", ""),
                cell,
                where,
            )
        )
    return hits


def parse_bandit(out: str, _cat: str, _cmd: list[str]) -> list[Hit]:
    data = json.loads(out)
    hits = []
    for r in data.get("results", []):
        rng = r.get("line_range") or [r["line_number"]]
        hits.append(
            Hit(
                r["filename"].replace("\\", "/"),
                min(rng),
                max(rng),
                r["test_id"],
                r.get("issue_severity", "").lower(),
                r.get("issue_text", ""),
            )
        )
    return hits


def parse_detect_secrets(out: str, _cat: str, _cmd: list[str]) -> list[Hit]:
    data = json.loads(out)
    hits = []
    for filename, results in data.get("results", {}).items():
        for r in results:
            hits.append(
                Hit(filename.replace("\\", "/"), r["line_number"], None, r["type"], None, r["type"])
            )
    return hits


def parse_checkov(out: str, cat: str, _cmd: list[str]) -> list[Hit]:
    out = out.strip()
    if not out:
        return []
    data = json.loads(out)
    reports = data if isinstance(data, list) else [data]
    hits = []
    for rep in reports:
        framework = rep.get("check_type", "")
        for r in rep.get("results", {}).get("failed_checks", []):
            path = r["file_path"].lstrip("/")
            if not path.startswith(cat + "/"):
                path = f"{cat}/{path}"  # Checkov gives some paths relative to -d, others to the cwd
            lo, hi = r.get("file_line_range") or [None, None]
            topic = None if framework == "secrets" else CHECKOV_TOPICS.get(r["check_id"], r"(?!)")
            hits.append(
                Hit(
                    path,
                    lo,
                    hi,
                    r["check_id"],
                    None,
                    f"{framework}: {r.get('check_name', '')}",
                    topic=topic,
                )
            )
    return hits


def parse_pip_audit(out: str, _cat: str, cmd: list[str]) -> list[Hit]:
    req = cmd[cmd.index("-r") + 1]
    data = json.loads(out)
    hits = []
    for dep in data.get("dependencies", []):
        if dep.get("vulns"):
            ids = ", ".join(v["id"] for v in dep["vulns"])
            hits.append(
                Hit(
                    req,
                    None,
                    None,
                    "vuln",
                    None,
                    f"{dep['name']}=={dep.get('version')}: {ids}",
                    package=_norm_pkg(dep["name"]),
                )
            )
    return hits


PARSERS = {
    "dozor": parse_dozor,
    "bandit": parse_bandit,
    "detect-secrets": parse_detect_secrets,
    "checkov": parse_checkov,
    "pip-audit": parse_pip_audit,
}


def commands(tool: str, cat: str, corpus: Path) -> list[list[str]]:
    exe = str(tool_bin(tool))
    if tool == "dozor":
        return [[exe, "scan", cat, "--format", "json"]]
    if tool == "bandit":
        return [[exe, "-r", cat, "-f", "json", "-q"]]
    if tool == "detect-secrets":
        return [[exe, "scan", cat, "--all-files"]]
    if tool == "checkov":
        return [
            [
                exe,
                "-d",
                cat,
                "-o",
                "json",
                "--quiet",
                "--skip-download",
                "--framework",
                "kubernetes",
                "dockerfile",
                "secrets",
            ]
        ]
    if tool == "pip-audit":
        reqs = sorted(
            p.relative_to(corpus).as_posix() for p in (corpus / cat).rglob("requirements*.txt")
        )
        return [
            [
                exe,
                "-r",
                r,
                "--no-deps",
                "--disable-pip",
                "-f",
                "json",
                "--cache-dir",
                str(corpus / ".pip-audit-cache"),
            ]
            for r in reqs
        ]
    raise ValueError(tool)


@dataclass
class RunRecord:
    tool: str
    category: str
    seconds: list[float]
    """Wall-clock seconds of each repetition (all commands of the category together)."""
    exit_codes: list[int]
    errors: list[str]
    """Commands whose output could not be read, with the last lines they printed."""
    said_no_vulns: bool
    """pip-audit: whether any output claimed "No known vulnerabilities found"."""


def run_tool(tool: str, cat: str, corpus: Path, runs: int) -> tuple[list[Hit], RunRecord]:
    cmds = commands(tool, cat, corpus)
    seconds: list[float] = []
    hits: list[Hit] = []
    codes: list[int] = []
    errors: list[str] = []
    said_no_vulns = False
    if tool == "pip-audit":
        shutil.rmtree(corpus / ".pip-audit-cache", ignore_errors=True)
    for rep in range(runs):
        total = 0.0
        for cmd in cmds:
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd, cwd=corpus, capture_output=True, text=True, env=offline_env(), timeout=TIMEOUT
            )
            total += time.perf_counter() - t0
            if rep:
                continue
            codes.append(proc.returncode)
            said_no_vulns |= "No known vulnerabilities found" in proc.stdout + proc.stderr
            try:
                hits += PARSERS[tool](proc.stdout, cat, cmd)
            except (json.JSONDecodeError, KeyError, ValueError):
                last = (
                    [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()] or ["(nothing)"]
                )[-1]
                shown = [Path(c).name if i == 0 else c for i, c in enumerate(cmd)]
                if "--cache-dir" in shown:
                    del shown[shown.index("--cache-dir") : shown.index("--cache-dir") + 2]
                errors.append(
                    f"`{' '.join(shown)}`: exit {proc.returncode}, no report on standard output; "
                    f"its last line on standard error: `{last[:300]}`"
                )
        seconds.append(total)
    return hits, RunRecord(tool, cat, seconds, codes, errors, said_no_vulns)


# ---------------------------------------------------------------------------
# matching and scoring
# ---------------------------------------------------------------------------


def case_window(case: dict) -> tuple[int, int]:
    if "line_end" in case:
        return case["line"], case["line_end"]
    return case["line"] - 2, case["line"] + 2


def matches(hit: Hit, case: dict) -> bool:
    if hit.file != case["file"]:
        return False
    if hit.topic is not None and not re.search(hit.topic, case["what"]):
        return False
    if hit.package is not None:
        return hit.package == _norm_pkg(case.get("package", ""))
    if hit.cell is not None and "cell" in case:
        if (hit.cell, hit.where) != (case["cell"], case["where"]):
            return False
        return hit.line is None or abs(hit.line - case["cell_line"]) <= 2
    if hit.line is None:
        return True
    lo, hi = case_window(case)
    return hit.line <= hi and (hit.line_end or hit.line) >= lo


def above_info(hit: Hit) -> bool:
    """INFO findings are notes (e.g. which advisory snapshot was used), not a verdict on the file."""
    return (hit.severity or "").lower() != "info"


def at_least_medium(hit: Hit) -> bool:
    return (
        hit.severity is None
        or SEVERITY_ORDER.get(hit.severity.lower(), 0) >= SEVERITY_ORDER["medium"]
    )


def score(
    cases: list[dict],
    hits: dict[str, list[Hit]],
    tools: list[str],
    keep: Callable[[Hit], bool] = lambda h: True,
) -> dict:
    """Per case and tool: True (reported), False (not reported), None (not claimed)."""
    verdicts: dict[str, dict[str, bool | None]] = {}
    for case in cases:
        row: dict[str, bool | None] = {}
        for tool in tools:
            if not CLAIMS[tool][1](case) or tool not in hits:
                row[tool] = None
            else:
                row[tool] = any(matches(h, case) for h in hits[tool] if keep(h))
        verdicts[case["id"]] = row
    return verdicts


def tally(cases: list[dict], verdicts: dict, tool: str, category: str | None) -> dict[str, int]:
    t = {"tp": 0, "pos": 0, "fp": 0, "neg": 0}
    for case in cases:
        if category and case["category"] != category:
            continue
        v = verdicts[case["id"]][tool]
        if v is None:
            continue
        if case["label"] == "positive":
            t["pos"] += 1
            t["tp"] += int(v)
        else:
            t["neg"] += 1
            t["fp"] += int(v)
    return t


def unattributed(cases: list[dict], hits: list[Hit]) -> int:
    return sum(1 for h in hits if above_info(h) and not any(matches(h, c) for c in cases))


# ---------------------------------------------------------------------------
# large tree
# ---------------------------------------------------------------------------

BIG_PACKAGE = "sympy"


def big_tree() -> tuple[Path, str]:
    """Download the latest sympy wheel (no dependencies) and unpack it once."""
    base = VENVS / "bigtree"
    wheels = sorted(base.glob(f"{BIG_PACKAGE}-*.whl"))
    if not wheels:
        base.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(VENVS / "bandit" / "bin" / "python"),
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-d",
                str(base),
                BIG_PACKAGE,
            ],
            check=True,
        )
        wheels = sorted(base.glob(f"{BIG_PACKAGE}-*.whl"))
    wheel = wheels[-1]
    version = wheel.name.split("-")[1]
    tree = base / f"{BIG_PACKAGE}-{version}"
    if not (tree / BIG_PACKAGE).is_dir():
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tree)
    return tree / BIG_PACKAGE, version


def run_big(runs: int, out_dir: Path) -> dict:
    pkg, version = big_tree()
    files = [p for p in pkg.rglob("*") if p.is_file()]
    py = [p for p in files if p.suffix == ".py"]
    lines = sum(p.read_bytes().count(b"\n") for p in py)
    result: dict = {
        "package": f"{BIG_PACKAGE} {version}",
        "files": len(files),
        "py_files": len(py),
        "py_lines": lines,
        "tools": {},
    }
    cmds = {
        "dozor": [
            str(DOZOR),
            "scan",
            str(pkg),
            "--format",
            "json",
            "--output",
            str(out_dir / "big-dozor.json"),
        ],
        "bandit": [
            str(tool_bin("bandit")),
            "-r",
            str(pkg),
            "-f",
            "json",
            "-q",
            "-o",
            str(out_dir / "big-bandit.json"),
        ],
    }
    for tool, cmd in cmds.items():
        secs = []
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=offline_env(), timeout=3600
            )
            secs.append(time.perf_counter() - t0)
        report = json.loads((out_dir / f"big-{tool}.json").read_text())
        if tool == "dozor":
            sev = report["summary"]["by_severity"]
            rules: dict[str, int] = {}
            for f in report["findings"]:
                rules[f["rule_id"]] = rules.get(f["rule_id"], 0) + 1
            n = report["summary"]["findings"]
            errors = len(report.get("errors", []))
            listed = [
                f"{f['rule_id']} {f['severity']} {Path(f['location']['path']).relative_to(pkg.parent)}"
                f":{f['location'].get('line')}: {f['evidence'][:120]}"
                for f in report["findings"][:10]
            ]
        else:
            sev = {}
            rules = {}
            listed = []
            for r in report["results"]:
                s = r["issue_severity"].lower()
                sev[s] = sev.get(s, 0) + 1
                rules[r["test_id"]] = rules.get(r["test_id"], 0) + 1
            n = len(report["results"])
            errors = len(report.get("errors", []))
        result["tools"][tool] = {
            "seconds": secs,
            "median": statistics.median(secs),
            "exit": proc.returncode,
            "findings": n,
            "by_severity": sev,
            "by_rule": rules,
            "errors": errors,
            "listed": listed,
        }
    return result


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def fmt_ratio(x: float) -> str:
    return f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def cell_text(t: dict[str, int]) -> str:
    if not t["pos"] and not t["neg"]:
        return "—"
    rec = f"{t['tp']}/{t['pos']}" + (f" ({100 * t['tp'] / t['pos']:.0f}%)" if t["pos"] else "")
    return f"{rec}; FP {t['fp']}/{t['neg']}"


def markdown(res: dict) -> str:
    cases = res["cases"]
    tools = res["tools"]
    v_all = res["verdicts"]
    by_cat = {c: [0, 0] for c in CATEGORIES}
    for c in cases:
        by_cat[c["category"]][c["label"] == "negative"] += 1
    n_files = len({c["file"] for c in cases})
    out = [SECTION, ""]
    out.append(
        f"Run on {res['date']} on {res['machine']} by `{res['command']}`; the corpus is written by "
        f"`bench/code/make_corpus.py` ({len(cases)} labelled cases in {n_files} files: "
        + ", ".join(f"{cat} {p}+/{n}−" for cat, (p, n) in by_cat.items())
        + "; + = a true positive that must be reported, − = a look-alike that must not be). "
        "Fake keys are assembled from parts at generation time, so the repository holds no key-shaped string. "
        "Dependency labels come from the PyPA advisory database snapshot in `shared/data/pypa-advisories` "
        "(57da901a, 2026-07-23; ids per pin in `bench/code/advisories.json`)."
    )
    out.append("")
    out.append(
        "Reproduce: `python bench/code/run.py --big --write-docs` (peers are installed into `bench/.venvs/` on first use; "
        "raw findings and per-case verdicts in `bench/code/corpus/results.json`; `--report-only` rebuilds this section from them)."
    )
    out.append("")
    out.append(
        "A finding counts for a case when it is in the same file and within ±2 lines of the case (the cases of a file "
        "are far enough apart that one line points at one case; for a case spanning a multi-line call, an `args:` list or a "
        "Pipfile.lock entry, anywhere in that span). dozor's notebook findings name the cell and the line in it; detect-secrets and Checkov report the line of "
        "the raw `.ipynb` JSON. pip-audit reports packages, so it is matched by file and package name. Checkov reports its "
        "Kubernetes and Dockerfile checks on the whole resource, so such a check counts only for cases of its topic "
        "(`CHECKOV_TOPICS` in `run.py`). Every severity counts except INFO (dozor's notes such as which advisory snapshot "
        "was used; LOW counts). "
        "Each tool is scored only on what it claims to cover; every tool ran with its HTTP(S) proxy pointed at a closed "
        "local port, i.e. offline."
    )
    out += [
        "",
        "| tool | version | command (per category folder) | scored on |",
        "| --- | --- | --- | --- |",
    ]
    cmd_text = {
        "dozor": "`dozor scan DIR --format json`",
        "bandit": "`bandit -r DIR -f json -q`",
        "detect-secrets": "`detect-secrets scan DIR --all-files`",
        "checkov": "`checkov -d DIR -o json --quiet --skip-download --framework kubernetes dockerfile secrets`",
        "pip-audit": "`pip-audit -r FILE --no-deps --disable-pip -f json` per requirements file",
    }
    for tool in tools:
        out.append(f"| {tool} | {res['versions'][tool]} | {cmd_text[tool]} | {CLAIMS[tool][0]} |")

    out += [
        "",
        "### Recall and false positives",
        "",
        "Cell: positives reported / positives it claims (recall); FP = negatives reported / negatives it claims; — = not claimed.",
        "",
        "| tool | " + " | ".join(CATEGORIES) + " | all claimed |",
        "| --- | " + " | ".join("---" for _ in CATEGORIES) + " | --- |",
    ]
    for tool in tools:
        row = [cell_text(tally(cases, v_all, tool, cat)) for cat in CATEGORIES]
        out.append(
            f"| {tool} | " + " | ".join(row) + f" | {cell_text(tally(cases, v_all, tool, None))} |"
        )
    v_med = res["verdicts_medium"]
    out += [
        "",
        "Counting only findings at MEDIUM or above (dozor's default failing threshold; Bandit's own severities):",
        "",
        "| tool | " + " | ".join(CATEGORIES) + " | all claimed |",
        "| --- | " + " | ".join("---" for _ in CATEGORIES) + " | --- |",
    ]
    for tool in ("dozor", "bandit"):
        if tool in tools:
            row = [cell_text(tally(cases, v_med, tool, cat)) for cat in CATEGORIES]
            out.append(
                f"| {tool} | "
                + " | ".join(row)
                + f" | {cell_text(tally(cases, v_med, tool, None))} |"
            )

    out += [
        "",
        "### Time",
        "",
        f"Median of {res['runs']} wall-clock runs per tool and category folder, start-up included (it dominates on folders this small), "
        "as a ratio to dozor's time on the same folder; dozor's own seconds in the last row. Findings that match no case "
        "(true or false, e.g. Bandit's `import pickle` notes or Checkov's generic hardening checks) are in brackets.",
        "",
        "| tool | " + " | ".join(CATEGORIES) + " |",
        "| --- | " + " | ".join("---" for _ in CATEGORIES) + " |",
    ]
    runs = res["runs_by"]
    for tool in tools:
        row = []
        for cat in CATEGORIES:
            r = runs.get(f"{tool}/{cat}")
            d = runs.get(f"dozor/{cat}")
            if not r:
                row.append("—")
                continue
            ratio = (
                statistics.median(r["seconds"]) / statistics.median(d["seconds"])
                if d
                else float("nan")
            )
            row.append(f"{fmt_ratio(ratio)} [{res['unattributed'][f'{tool}/{cat}']}]")
        out.append(f"| {tool} | " + " | ".join(row) + " |")
    out.append(
        "| dozor (seconds) | "
        + " | ".join(
            f"{statistics.median(runs[f'dozor/{cat}']['seconds']):.2f} s"
            if f"dozor/{cat}" in runs
            else "—"
            for cat in CATEGORIES
        )
        + " |"
    )

    out += ["", "### Offline behaviour of the peers", ""]
    for note in res["notes"]:
        # a refused connection is the point here; the proxy details are not
        out.append(f"- {re.sub(r' [(]Caused by [^`]*`', ' (connection refused)`', note)}")

    if res.get("big"):
        big = res["big"]
        d = big["tools"]["dozor"]
        out += [
            "",
            "### Large tree",
            "",
            f"{big['package']} (the wheel from PyPI, unpacked: {big['files']} files, {big['py_files']} `.py` files, "
            f"{big['py_lines']:,} lines of Python), median of {len(d['seconds'])} runs each, ratio to dozor.",
            "",
            "| tool | time vs dozor | median seconds | findings | by severity | most frequent rules |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for tool, t in big["tools"].items():
            sev = ", ".join(
                f"{k} {v}"
                for k, v in sorted(
                    t["by_severity"].items(), key=lambda kv: -SEVERITY_ORDER.get(kv[0], 0)
                )
                if v
            )
            top = ", ".join(
                f"{k} {v}" for k, v in sorted(t["by_rule"].items(), key=lambda kv: -kv[1])[:5]
            )
            out.append(
                f"| {tool} | {fmt_ratio(t['median'] / d['median'])} | {t['median']:.1f} s | {t['findings']} | {sev or '—'} | {top or '—'} |"
            )
        if "bandit" in big["tools"]:
            b = big["tools"]["bandit"]
            out += [
                "",
                f"Bandit without B101 (`assert` used): {b['findings'] - b['by_rule'].get('B101', 0)} findings. "
                "dozor's findings there: "
                + ("; ".join(f"`{x}`" for x in d.get("listed", [])) or "none")
                + ".",
            ]

    if "dozor" in tools:
        v_med = res["verdicts_medium"]
        missed = [c for c in cases if c["label"] == "positive" and v_all[c["id"]]["dozor"] is False]
        flagged = [c for c in cases if c["label"] == "negative" and v_all[c["id"]]["dozor"]]
        low_only = [
            c
            for c in cases
            if c["label"] == "positive" and v_all[c["id"]]["dozor"] and not v_med[c["id"]]["dozor"]
        ]

        def names(cs: list[dict]) -> str:
            return "; ".join(f"`{c['what']}` (`{c['file']}:{c['line']}`)" for c in cs) or "none"

        out += [
            "",
            "### dozor: what to fix",
            "",
            f"- Missed positives: {names(missed)}.",
            f"- Flagged negatives: {names(flagged)}.",
            f"- Positives reported only at LOW (below the default `--fail-on medium`): {names(low_only)}.",
        ]

    out += [
        "",
        "### Per case",
        "",
        "found / missed for a positive, flagged / clean for a negative, — = not claimed. Line: the line in the written file "
        "(notebooks: cell number and line in that cell).",
        "",
        "| # | file:line | label | what | " + " | ".join(tools) + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in tools) + " |",
    ]
    for c in cases:
        place = (
            f"{c['file']}:{c['line']}"
            if "cell" not in c
            else f"{c['file']} cell {c['cell']} {c['where']}:{c['cell_line']}"
        )
        cells = []
        for tool in tools:
            v = v_all[c["id"]][tool]
            if v is None:
                cells.append("—")
            elif c["label"] == "positive":
                cells.append("found" if v else "**missed**")
            else:
                cells.append("**flagged**" if v else "clean")
        out.append(
            f"| {c['id']} | `{place}` | {'+' if c['label'] == 'positive' else '−'} | `{c['what']}` | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(out) + "\n"


def write_docs(section: str) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + len(SECTION))
        rest = text[nxt + 1 :] if nxt >= 0 else ""
        new = text[:start] + section + ("\n" + rest if rest else "")
    DOCS.write_text(new, encoding="utf-8")


# ---------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=HERE / "corpus")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default="dozor,bandit,detect-secrets,checkov,pip-audit")
    ap.add_argument(
        "--big", action="store_true", help="also time dozor and Bandit on the sympy package tree"
    )
    ap.add_argument("--big-runs", type=int, default=3)
    ap.add_argument("--upgrade", action="store_true", help="reinstall the peers' latest releases")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument(
        "--report-only", action="store_true", help="rebuild the report from <corpus>/results.json"
    )
    args = ap.parse_args()
    tools = args.tools.split(",")
    if args.report_only:
        res = json.loads((args.corpus / "results.json").read_text())
        section = markdown(res)
        (args.corpus / "results.md").write_text(section)
        if args.write_docs:
            write_docs(section)
            print(f"wrote the section to {DOCS}")
        return

    for tool in tools:
        if tool != "dozor":
            ensure_venv(tool, args.upgrade)
    corpus = args.corpus.resolve()
    if corpus.exists():
        shutil.rmtree(corpus)
    subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(corpus)], check=True)
    manifest = json.loads(
        (corpus / "manifest.json").read_text()
    )  # tools scan the category folders only
    cases = manifest["cases"]

    versions = {t: tool_version(t) for t in tools}
    hits: dict[str, list[Hit]] = {}
    runs_by: dict[str, dict] = {}
    unattr: dict[str, int] = {}
    for tool in tools:
        cats = [
            cat
            for cat in CATEGORIES
            if any(CLAIMS[tool][1](c) and c["category"] == cat for c in cases)
        ]
        hits[tool] = []
        for cat in cats:
            print(f"{tool}: {cat} ...", flush=True)
            h, rec = run_tool(tool, cat, corpus, args.runs)
            hits[tool] += h
            runs_by[f"{tool}/{cat}"] = asdict(rec)
            unattr[f"{tool}/{cat}"] = unattributed(cases, h)

    verdicts = score(cases, hits, tools, above_info)
    verdicts_medium = score(cases, hits, tools, at_least_medium)

    notes = []
    if "pip-audit" in tools:
        recs = [r for k, r in runs_by.items() if k.startswith("pip-audit/")]
        for r in recs:
            for e in r["errors"]:
                notes.append(f"pip-audit: {e}")
            notes.append(
                "pip-audit "
                + ("printed" if r["said_no_vulns"] else "did not print")
                + ' "No known vulnerabilities found" for any file; exit codes '
                + ", ".join(map(str, r["exit_codes"]))
                + ". Its vulnerability services (PyPI's JSON API by default, OSV with `-s osv`) are online only; it has no local database."
            )
    if "checkov" in tools:
        sca = subprocess.run(
            [
                str(tool_bin("checkov")),
                "-d",
                "deps",
                "-o",
                "json",
                "--quiet",
                "--skip-download",
                "--framework",
                "sca_package",
            ],
            cwd=corpus,
            capture_output=True,
            text=True,
            env=offline_env(),
            timeout=TIMEOUT,
        )
        said = [
            ln.strip()
            for ln in (sca.stdout + sca.stderr).splitlines()
            if "sca" in ln.lower() or "SCA" in ln
        ]
        notes.append(
            f"checkov `--framework sca_package` on `deps/` (offline): exit {sca.returncode}, "
            f"{'no findings and no report' if not sca.stdout.strip() else 'printed a report'}; it said: "
            + (" / ".join(s[s.find("]") + 1 :].strip() for s in said[-2:]) if said else "nothing")
            + ". Its dependency scan needs a Prisma Cloud API key and network, so Checkov is not scored on dependencies."
        )
        ck_errs = [e for k, r in runs_by.items() if k.startswith("checkov/") for e in r["errors"]]
        notes += [f"checkov: {e}" for e in ck_errs]
        sec_files = sorted({h.file for h in hits.get("checkov", []) if h.topic is None})
        secret_case_files = sorted(
            {c["file"] for c in cases if c["kind"] == "secret" and c["label"] == "positive"}
        )
        silent = [f for f in secret_case_files if f not in sec_files]
        notes.append(
            "Checkov has no docker-compose framework, and no KServe, KubeRay, Service-exposure or hostPath checks beyond generic ones. "
            f"Its secrets framework reported in {len(sec_files)} file(s) ({', '.join(f'`{f}`' for f in sec_files) or 'none'}) and stayed silent on "
            f"{len(silent)} of the {len(secret_case_files)} files that hold a positive secret case."
        )
    if "detect-secrets" in tools:
        notes.append("detect-secrets and Bandit need no network.")

    big = None
    if args.big:
        print("big tree ...", flush=True)
        big = run_big(args.big_runs, corpus)

    res = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
        "command": "python bench/code/run.py"
        + (" --big" if args.big else "")
        + (" --write-docs" if args.write_docs else ""),
        "runs": args.runs,
        "tools": tools,
        "versions": versions,
        "cases": cases,
        "verdicts": verdicts,
        "verdicts_medium": verdicts_medium,
        "runs_by": runs_by,
        "unattributed": unattr,
        "notes": notes,
        "big": big,
        "hits": {t: [asdict(h) for h in hs] for t, hs in hits.items()},
    }
    (corpus / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    section = markdown(res)
    (corpus / "results.md").write_text(section)
    for tool in tools:
        t = tally(cases, verdicts, tool, None)
        print(f"{tool:15s} recall {t['tp']}/{t['pos']}  FP {t['fp']}/{t['neg']}")
    if args.write_docs:
        write_docs(section)
        print(f"wrote the section to {DOCS}")


if __name__ == "__main__":
    main()
