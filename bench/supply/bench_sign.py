"""Sign and verify a 2 GiB model folder: dozor (SHA-256, BLAKE3) vs the `model_signing`
command vs `openssl dgst -sha256` (the SHA-256 per-core limit), in one run.

    .venv/bin/python bench/supply/bench_sign.py [--gib 2] [--rounds 3] [--out results.json]

The folder (four shards and a config.json, like a sharded safetensors checkpoint) is
random bytes generated under /tmp and deleted at the end. Every tool runs as a command
(process start-up included, as a user would run it), the tools are interleaved round by
round, and the median of the rounds is reported, both wall-clock time and CPU time
(user + system of the child processes): on a shared machine the wall time depends on
the load, the CPU time much less. The files sit in the page cache (2 GiB of 24 GB),
so this measures hashing, not the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def make_model(folder: pathlib.Path, gib: float, shards: int = 4) -> int:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    per = int(gib * (1 << 30)) // shards
    chunk = 16 << 20
    for i in range(shards):
        with open(folder / f"model-{i + 1:05d}-of-{shards:05d}.safetensors", "wb") as f:
            left = per
            while left:
                n = min(chunk, left)
                f.write(os.urandom(n))
                left -= n
    return per * shards


def make_key(folder: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    priv, pub = folder / "key.pem", folder / "key.pub"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    str(priv)], check=True)
    subprocess.run(["openssl", "ec", "-in", str(priv), "-pubout", "-out", str(pub)],
                   check=True, capture_output=True)
    return priv, pub


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd`; return (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def hash_only(model: pathlib.Path, files: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Hashing alone, in this process (no start-up): dozor's hashing (model_signing's
    file hashers, threads) with SHA-256 and BLAKE3, and one-thread hashlib SHA-256."""
    import hashlib

    sys.path.insert(0, str(ROOT / "src"))
    from dozor.supply.signing import hashing_config

    def sha_one_thread() -> None:
        for f in files:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)

    cases = {
        "hashlib sha256, 1 thread": sha_one_thread,
        "dozor hashing sha256 (threads per file)":
            lambda: hashing_config("sha256").hash(model),
        "dozor hashing blake3 (multi-threaded)": lambda: hashing_config("blake3").hash(model),
    }
    hashing_config("sha256").hash(pathlib.Path(files[-1]))  # imports out of the timing
    out: dict[str, dict[str, float]] = {}
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            w, c = time.perf_counter(), time.process_time()
            fn()
            samples[name].append((time.perf_counter() - w, time.process_time() - c))
    for name, xs in samples.items():
        out[name] = {"wall_s": round(statistics.median(x[0] for x in xs), 3),
                     "cpu_s": round(statistics.median(x[1] for x in xs), 3)}
    return out


def loadavg() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="dozor-bench-supply-"))
    try:
        model = work / "model"
        size = make_model(model, args.gib)
        priv, pub = make_key(work)
        files = sorted(str(p) for p in model.iterdir())
        for f in files:  # warm the page cache once for everyone
            with open(f, "rb") as fh:
                while fh.read(64 << 20):
                    pass
        dozor, ms = str(VENV_BIN / "dozor"), str(VENV_BIN / "model_signing")
        sig = {k: str(work / f"{k}.sig") for k in ("dz256", "dzb3", "ms")}
        tools: dict[str, list[str]] = {
            "openssl dgst -sha256 (1 core)": ["openssl", "dgst", "-sha256", *files],
            "dozor sign (sha256)": [dozor, "sign", str(model), "-k", str(priv), "-s",
                                    sig["dz256"], "--no-progress"],
            "dozor sign --hash blake3": [dozor, "sign", str(model), "-k", str(priv), "-s",
                                         sig["dzb3"], "--hash", "blake3", "--no-progress"],
            "model_signing sign key": [ms, "sign", "key", str(model), "--private_key",
                                       str(priv), "--signature", sig["ms"]],
        }
        verify: dict[str, list[str]] = {
            "dozor verify (sha256)": [dozor, "verify", str(model), "-k", str(pub), "-s",
                                      sig["dz256"], "--no-progress"],
            "dozor verify (blake3)": [dozor, "verify", str(model), "-k", str(pub), "-s",
                                      sig["dzb3"], "--no-progress"],
            "model_signing verify key": [ms, "verify", "key", str(model), "--public_key",
                                         str(pub), "--signature", sig["ms"]],
        }
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in [*tools, *verify]}
        loads: list[float] = []
        for r in range(args.rounds):
            order = list(tools.items())
            order = order[r % len(order):] + order[:r % len(order)]  # rotate who goes first
            for name, cmd in order:
                loads.append(loadavg())
                runs[name].append(timed(cmd))
            for name, cmd in verify.items():
                loads.append(loadavg())
                runs[name].append(timed(cmd))
            print(f"round {r + 1}/{args.rounds} done (load {loads[-1]:.1f})", file=sys.stderr)
        gib = size / (1 << 30)
        table = {}
        for name, samples in runs.items():
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            table[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                           "GiB_per_s_wall": round(gib / wall, 3),
                           "GiB_per_s_cpu": round(gib / cpu, 3) if cpu else None,
                           "samples": [[round(w, 3), round(c, 3)] for w, c in samples]}
        def paired(a: str, b: str, kind: int = 0) -> float:
            """Median over rounds of a/b, each ratio from the same round (same load)."""
            return round(statistics.median(x[kind] / y[kind]
                                           for x, y in zip(runs[a], runs[b], strict=True)), 3)

        sha, b3, ms_s = "dozor sign (sha256)", "dozor sign --hash blake3", "model_signing sign key"
        ossl = "openssl dgst -sha256 (1 core)"
        summary = {
            "sign time, dozor sha256 / model_signing (wall, paired median)": paired(sha, ms_s),
            "sign time, dozor sha256 / model_signing (CPU, paired median)":
                paired(sha, ms_s, 1),
            "sign time, dozor blake3 / model_signing (wall, paired median)": paired(b3, ms_s),
            "verify time, dozor sha256 / model_signing (wall, paired median)":
                paired("dozor verify (sha256)", "model_signing verify key"),
            "verify time, dozor sha256 / model_signing (CPU, paired median)":
                paired("dozor verify (sha256)", "model_signing verify key", 1),
            "openssl sha256 time / dozor blake3 sign time (wall, paired median; >1: blake3 "
            "faster)": paired(ossl, b3),
            "openssl sha256 CPU / dozor blake3 sign CPU (paired median; >1: blake3 faster "
            "per core)": paired(ossl, b3, 1),
        }
        in_process = hash_only(model, [f for f in files if f.endswith(".safetensors")]
                               + [str(model / "config.json")], args.rounds)
        result = {"bytes": size, "rounds": args.rounds, "cpus": os.cpu_count(),
                  "cpu": platform.processor() or platform.machine(),
                  "load_avg_1min": {"min": round(min(loads), 2), "median":
                                    round(statistics.median(loads), 2),
                                    "max": round(max(loads), 2)},
                  "tools": table, "summary": summary, "hashing_in_process": in_process}
        text = json.dumps(result, indent=2)
        print(text)
        if args.out:
            args.out.write_text(text + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
