"""Guard latency: what the proxy adds over calling the same upstream directly.

One run starts, each in its own process:
  - the upstream stub (`dozor.guard.proxy.stub`) answering after a fixed delay (50 ms);
  - the proxy (`dozor guard serve`, default policy, decision log on, as a user runs it)
    in front of that stub;
and this process is the load generator: N concurrent clients (1, 10, 50) send the
same chat request with a ~1k-token prompt, alternating direct and proxied phases
(ABAB..., so a change in machine load hits both sides), and the overhead is the
difference of the latency percentiles, direct vs through the proxy, in the same run.

It also measures the library alone (`Guard.check_input` / `check_output` per call) on
a short prompt and a ~4k-token one, and, with ``--offload``, the proxy with guard checks
inline on the event loop vs in a thread pool vs by size (``--guard-offload``); with
``--null-guard`` a proxy whose guard does nothing, to split the framework's overhead
from the checks'.

    .venv/bin/python bench/guard/latency.py                 # the full run (~3 min)
    .venv/bin/python bench/guard/latency.py --quick         # fewer requests
    .venv/bin/python bench/guard/latency.py --offload --null-guard

Results: a Markdown table on stdout and bench/guard/latency-results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DOZOR = str(Path(PYTHON).with_name("dozor"))

_SENTENCES = [
    "The quarterly planning meeting covered the migration of the billing service to the "
    "new cluster, which the platform team expects to finish before the end of the month.",
    "Several teams asked for clearer ownership of the shared dashboards, because alerts "
    "are often acknowledged late when nobody feels responsible for them.",
    "The design review for the search feature concluded that the index should be rebuilt "
    "nightly rather than updated in place, trading freshness for simpler operations.",
    "Customer support reported that most tickets last week concerned delayed invoices, "
    "and that a short status page would answer many of those questions.",
    "The data team proposed archiving event tables older than two years to cold storage, "
    "which would cut the storage bill noticeably without affecting current reports.",
    "A follow-up is needed on the hiring plan for the second half of the year, since two "
    "senior engineers are moving to the infrastructure group.",
    "The mobile release was postponed by one week to fix a crash on older devices that "
    "appeared only when the application resumed from the background.",
    "Finance asked every department to review software subscriptions and cancel the "
    "ones that were not used during the last quarter.",
]


def make_prompt(tokens: int) -> str:
    """Benign meeting notes of about `tokens` tokens (4 characters per token)."""
    parts: list[str] = []
    size, i = 0, 0
    while size < tokens * 4:
        sentence = f"Item {i + 1}: {_SENTENCES[i % len(_SENTENCES)]}"
        parts.append(sentence)
        size += len(sentence) + 1
        i += 1
    return "Please summarise these meeting notes in five bullet points.\n\n" + " ".join(parts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}: {url}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server did not come up: {url}")


def start_stub(delay_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([PYTHON, "-m", "dozor.guard.proxy.stub", "--port", str(port),
                             "--delay-ms", str(delay_ms)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/v1/models", proc)
    return proc, url


def start_proxy(upstream: str, store: str, *, offload: str | None = None,
                null_guard: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if null_guard:
        cmd = [PYTHON, __file__, "--serve-null-proxy", "--port", str(port), "--upstream",
               upstream + "/v1", "--store", store]
    else:
        cmd = [DOZOR, "guard", "serve", "--upstream", upstream + "/v1", "--port", str(port),
               "--store", store]
        if offload:
            cmd += ["--guard-offload", offload]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/healthz", proc)
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def load(url: str, body: bytes, concurrency: int, count: int) -> tuple[list[float], dict]:
    """`count` requests by `concurrency` clients; latencies in seconds and status counts."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                t = time.perf_counter()
                resp = await client.post("/v1/chat/completions", content=body, headers={
                    "content-type": "application/json", "authorization": "Bearer sk-bench"})
                await resp.aread()
                latencies.append(time.perf_counter() - t)
                decision = resp.headers.get("x-dozor-decision", "")
                tag = f"{resp.status_code}{'/' + decision if decision else ''}"
                statuses[tag] = statuses.get(tag, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses


def measure(direct: str, proxied: str, body: bytes, concurrency: int, count: int,
            rounds: int) -> dict[str, Any]:
    per_round = max(concurrency, count // rounds)
    asyncio.run(load(direct, body, concurrency, concurrency * 3))  # warm up both paths
    asyncio.run(load(proxied, body, concurrency, concurrency * 3))
    d_lat: list[float] = []
    p_lat: list[float] = []
    p_status: dict[str, int] = {}
    d_status: dict[str, int] = {}
    started = time.perf_counter()
    for r in range(rounds):
        order = [(direct, d_lat, d_status), (proxied, p_lat, p_status)]
        if r % 2:
            order.reverse()
        for url, sink, status in order:
            lat, st = asyncio.run(load(url, body, concurrency, per_round))
            sink.extend(lat)
            for k, v in st.items():
                status[k] = status.get(k, 0) + v
    out: dict[str, Any] = {"concurrency": concurrency, "requests_per_side": len(d_lat),
                           "seconds": round(time.perf_counter() - started, 1),
                           "direct_status": d_status, "proxy_status": p_status}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        d, p = percentile(d_lat, q) * 1000, percentile(p_lat, q) * 1000
        out[f"direct_{name}_ms"] = round(d, 2)
        out[f"proxy_{name}_ms"] = round(p, 2)
        out[f"overhead_{name}_ms"] = round(p - d, 2)
    return out


def library_latency(repeat: int) -> dict[str, Any]:
    from dozor.guard import Guard  # type: ignore[attr-defined]

    guard = Guard.from_policy(None)
    out: dict[str, Any] = {}
    cases = {"short (~12 tokens)": "What will the weather be like in Paris tomorrow?",
             "1k tokens": make_prompt(1000), "4k tokens": make_prompt(4000)}
    for name, text in cases.items():
        for kind in ("check_input", "check_output"):
            fn = getattr(guard, kind)
            fn(text)  # warm caches and lazy model loading
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn(text)
                times.append(time.perf_counter() - t)
            decision = str(fn(text).decision)
            out[f"{kind} {name}"] = {"chars": len(text), "decision": decision,
                                     "p50_ms": round(percentile(times, 0.5) * 1000, 3),
                                     "p99_ms": round(percentile(times, 0.99) * 1000, 3)}
    return out


def serve_null_proxy(args: argparse.Namespace) -> None:
    """A proxy whose guard allows everything at no cost: the framework's own overhead."""
    import uvicorn

    from dozor.guard.proxy.app import create_app
    from dozor.guard.proxy.config import ProxyConfig

    class Result:
        decision, text, messages, findings, scores, reasons = "allow", "", None, (), {}, ()

    class Step:
        def __init__(self, emit: str) -> None:
            self.emit, self.result = emit, None

    class Stream:
        def feed(self, chunk: str) -> Step:
            return Step(chunk)

        def close(self) -> Step:
            return Step("")

    class NullGuard:
        def conversation(self, conversation_id: str | None = None) -> object:
            return object()

        def check_input(self, messages: Any, **_: Any) -> Result:
            return Result()

        def check_output(self, text: str, **_: Any) -> Result:
            r = Result()
            r.text = text
            return r

        def prepare_system_prompt(self, prompt: str, conversation: object) -> str:
            return prompt

        def output_stream(self, conversation: object = None) -> Stream:
            return Stream()

    app = create_app(ProxyConfig(upstream=args.upstream, store_url=args.store),
                     guard_factory=lambda _: NullGuard())
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description="guard proxy latency benchmark")
    parser.add_argument("--delay-ms", type=float, default=50.0, help="upstream stub delay")
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--tokens", type=int, default=1000, help="prompt size in tokens")
    parser.add_argument("--rounds", type=int, default=4, help="ABAB rounds per level")
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--offload", action="store_true",
                        help="also compare --guard-offload inline/thread/auto at 10 clients")
    parser.add_argument("--null-guard", action="store_true",
                        help="also run a proxy whose guard does nothing")
    parser.add_argument("--no-library", action="store_true")
    parser.add_argument("--no-real", action="store_true",
                        help="skip `dozor guard serve` (with --null-guard: framework only)")
    parser.add_argument("--output", default=str(Path(__file__).with_name(
        "latency-results.json")))
    parser.add_argument("--serve-null-proxy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", default="", help=argparse.SUPPRESS)
    parser.add_argument("--store", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_null_proxy:
        serve_null_proxy(args)
        return

    levels = [int(c) for c in args.concurrency.split(",")]
    prompt = make_prompt(args.tokens)
    body = json.dumps({"model": "stub-1", "messages": [
        {"role": "system", "content": "You are a helpful assistant for an operations team."},
        {"role": "user", "content": prompt}]}).encode()
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "delay_ms": args.delay_ms, "prompt_chars": len(prompt), "prompt_tokens": args.tokens,
        "proxy": [], "offload": [], "null_guard": [],
    }
    tmp = tempfile.TemporaryDirectory(prefix="dozor-latency-")
    store = f"sqlite:///{tmp.name}/dozor.db"
    stub, stub_url = start_stub(args.delay_ms)
    procs = [stub]
    try:
        def count_for(c: int) -> int:
            base = 120 if args.quick else 400
            return max(base, c * (8 if args.quick else 30))

        if not args.no_real:
            proxy, proxy_url = start_proxy(stub_url, store)
            procs.append(proxy)
            for c in levels:
                row = measure(stub_url, proxy_url, body, c, count_for(c), args.rounds)
                print(json.dumps(row), file=sys.stderr)
                results["proxy"].append(row)
            stop(proxy)
            procs.remove(proxy)
        if args.offload:
            for mode in ("inline", "thread", "auto"):
                proxy, proxy_url = start_proxy(stub_url, store, offload=mode)
                procs.append(proxy)
                row = measure(stub_url, proxy_url, body, 10, count_for(10), args.rounds)
                row["mode"] = mode
                print(json.dumps(row), file=sys.stderr)
                results["offload"].append(row)
                stop(proxy)
                procs.remove(proxy)
        if args.null_guard:
            proxy, proxy_url = start_proxy(stub_url, store, null_guard=True)
            procs.append(proxy)
            for c in levels:
                row = measure(stub_url, proxy_url, body, c, count_for(c), args.rounds)
                print(json.dumps(row), file=sys.stderr)
                results["null_guard"].append(row)
            stop(proxy)
            procs.remove(proxy)
    finally:
        for proc in procs:
            stop(proc)
        tmp.cleanup()
    if not args.no_library:
        results["library"] = library_latency(50 if args.quick else 200)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))


def render(results: dict[str, Any]) -> str:
    lines = [f"{results['date']}, {results['machine']}, load {results['load_before']} -> "
             f"{results['load_after']}; stub delay {results['delay_ms']:g} ms, prompt "
             f"{results['prompt_chars']} chars (~{results['prompt_tokens']} tokens)", ""]
    head = ("| proxy | clients | direct p50 / p99 ms | proxy p50 / p99 ms | overhead p50 ms "
            "| overhead p99 ms | proxy answers |")
    lines += [head, "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, rows in (("dozor guard serve", results["proxy"]),
                        ("null guard (framework only)", results["null_guard"]),
                        *((f"--guard-offload {r['mode']}", [r]) for r in results["offload"])):
        for r in rows:
            lines.append(
                f"| {label} | {r['concurrency']} | {r['direct_p50_ms']:.1f} / "
                f"{r['direct_p99_ms']:.1f} | {r['proxy_p50_ms']:.1f} / {r['proxy_p99_ms']:.1f} "
                f"| {r['overhead_p50_ms']:+.1f} | {r['overhead_p99_ms']:+.1f} | "
                f"{', '.join(f'{k}: {v}' for k, v in sorted(r['proxy_status'].items()))} |")
    if "library" in results:
        lines += ["", "| library call | chars | decision | p50 ms | p99 ms |",
                  "| --- | --- | --- | --- | --- |"]
        for name, r in results["library"].items():
            lines.append(f"| {name} | {r['chars']} | {r['decision']} | {r['p50_ms']:.2f} | "
                         f"{r['p99_ms']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
