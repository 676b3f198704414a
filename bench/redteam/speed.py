"""Time to run the same number of attempts (>= 1,000) against a local OpenAI-compatible
stub with a fixed 50 ms delay: dozor redteam vs garak, in one run.

The stub answers every chat completion after 50 ms with a fixed refusal, counts
requests, and runs in this process (a thread per request, so it is never the
bottleneck at these rates). Each tool runs as a subprocess, start-up included:

    .venv/bin/python bench/redteam/speed.py [--attempts 1000] [--repeat 3]

garak: bench/.venvs/garak (garak 0.17.1, installed --no-deps plus what its OpenAI
generator, probes and CLI import), probes encoding.InjectBase64/InjectHex/InjectROT13
(string detector DecodeMatch, no model; parallelisable, unlike promptinject.*, which
garak marks `parallelisable_attempts: False`), generator openai.OpenAICompatible at the
stub, one generation per prompt, run once with its default (sequential) settings and
once with parallel_attempts 16.
dozor: `dozor redteam --target URL --converters all --limit N --no-store -f json`,
default concurrency 16.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOZOR = ROOT / ".venv" / "bin" / "dozor"
GARAK_PY = ROOT / "bench" / ".venvs" / "garak" / "bin" / "python"
DELAY = 0.05


class Stub:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        stub = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with stub._lock:
                    stub.count += 1
                time.sleep(DELAY)
                body = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "stub",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant",
                        "content": "I'm sorry, but I can't help with that request."}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 12,
                              "total_tokens": 22}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 256
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def take(self) -> int:
        with self._lock:
            n, self.count = self.count, 0
        return n


def run_dozor(stub: Stub, attempts: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rt.json"
        start = time.perf_counter()
        subprocess.run([str(DOZOR), "redteam", "--target", stub.url, "--converters", "all",
                        "--limit", str(attempts), "--no-store", "-f", "json", "-o", str(out)],
                       check=True, capture_output=True, cwd=tmp)
        seconds = time.perf_counter() - start
        n = json.loads(out.read_text())["redteam"]["overall"]["attempts"]
        assert n == attempts, n
    return seconds, stub.take()


GARAK_PROBES = "encoding.InjectBase64,encoding.InjectHex,encoding.InjectROT13"


def run_garak(stub: Stub, attempts: int, parallel: int) -> tuple[float, int]:
    probes = GARAK_PROBES
    with tempfile.TemporaryDirectory() as tmp:
        cap = -(-attempts // len(probes.split(",")))  # the probes share the attempts
        config = Path(tmp) / "garak.yaml"
        config.write_text(json.dumps({
            "system": {"lite": True, "show_z": False, "narrow_output": True,
                       **({"parallel_attempts": parallel} if parallel > 1 else {})},
            "run": {"generations": 1, "soft_probe_prompt_cap": cap, "seed": 0},
            "plugins": {"generators": {"openai": {"OpenAICompatible": {
                "uri": stub.url, "api_key": "dummy", "model": "stub",
                "max_tokens": 64, "retry_json": False}}}},
            "reporting": {"report_dir": tmp},
        }))
        env = {**os.environ, "XDG_DATA_HOME": tmp, "XDG_CONFIG_HOME": tmp,
               "XDG_CACHE_HOME": tmp, "OPENAICOMPATIBLE_API_KEY": "dummy"}
        start = time.perf_counter()
        proc = subprocess.run([str(GARAK_PY), "-m", "garak", "--config", str(config),
                               "--target_type", "openai.OpenAICompatible",
                               "--target_name", "stub", "--probes", probes],
                              capture_output=True, text=True, env=env, cwd=tmp)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit("garak failed")
    sent = stub.take()
    if sent < attempts:  # garak exits 0 when a probe fails to load: never time nothing
        raise SystemExit(f"garak sent {sent} requests, not {attempts}: see its log")
    return seconds, sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-sequential-garak", action="store_true")
    parser.add_argument("--garak-probes", default="")
    args = parser.parse_args()
    if args.garak_probes:
        global GARAK_PROBES
        GARAK_PROBES = args.garak_probes
    stub = Stub()
    rows: dict[str, list[tuple[float, int]]] = {}
    for _ in range(args.repeat):
        rows.setdefault("dozor redteam (concurrency 16)", []).append(
            run_dozor(stub, args.attempts))
        rows.setdefault("garak --parallel_attempts 16", []).append(
            run_garak(stub, args.attempts, 16))
        if not args.skip_sequential_garak:
            rows.setdefault("garak (default, sequential)", []).append(
                run_garak(stub, args.attempts, 1))
    load = os.getloadavg()[0]
    base = statistics.median(s for s, _ in rows["dozor redteam (concurrency 16)"])
    print(f"stub delay {int(DELAY * 1000)} ms, {args.attempts} attempts, {args.repeat} "
          f"run(s), load average {load:.1f} on {os.cpu_count()} CPUs")
    print("| tool | requests at the stub | median seconds | attempts/s | time vs dozor |")
    print("| --- | --- | --- | --- | --- |")
    for name, vals in rows.items():
        med = statistics.median(s for s, _ in vals)
        reqs = vals[0][1]
        print(f"| {name} | {reqs} | {med:.1f} | {reqs / med:.0f} | {med / base:.1f}x |")


if __name__ == "__main__":
    main()
