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
    .venv/bin/python bench/guard/latency.py --concurrency 10 --repeat 5   # medians

Results: a Markdown table on stdout and bench/guard/latency-results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import statistics
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


def make_prompt(tokens: int, variant: int = 0) -> str:
    """Benign meeting notes of about `tokens` tokens (4 characters per token).

    Each `variant` is a different text of the same size (another meeting number and
    sentence order), so no cache in the guard or its detectors can answer a request
    from an earlier one: real traffic does not repeat prompts."""
    parts: list[str] = []
    size, i = 0, 0
    while size < tokens * 4:
        sentence = f"Item {i + 1}: {_SENTENCES[(i + variant) % len(_SENTENCES)]}"
        parts.append(sentence)
        size += len(sentence) + 1
        i += 1
    return (f"Please summarise the notes of meeting {variant + 1000} in five bullet points."
            "\n\n" + " ".join(parts))


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


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by process `pid` and its children (uvicorn workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def start_proxy(upstream: str, store: str, *, offload: str | None = None,
                null_guard: bool = False, workers: int = 1,
                client: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if null_guard:
        cmd = [PYTHON, __file__, "--serve-null-proxy", "--port", str(port), "--upstream",
               upstream + "/v1", "--store", store]
    else:
        cmd = [DOZOR, "guard", "serve", "--upstream", upstream + "/v1", "--port", str(port),
               "--store", store]
        if offload:
            cmd += ["--guard-offload", offload]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        if client:
            cmd += ["--upstream-client", client]
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


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               request: bytes) -> tuple[int, str]:
    """Send one request on a kept-alive connection; (status, x-dozor-decision)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers.get("x-dozor-decision", "")


_SERIAL = itertools.count()
"""Prompt variants across the whole run: no two requests ever carry the same prompt."""


def request_body(tokens: int) -> bytes:
    """A chat request whose user prompt no earlier request of this run had."""
    return json.dumps({"model": "stub-1", "messages": [
        {"role": "system", "content": "You are a helpful assistant for an operations team."},
        {"role": "user", "content": make_prompt(tokens, next(_SERIAL))}]}).encode()


ARRIVALS = "burst"
"""How the clients of a phase start (set by --arrivals): ``burst``, all at the same moment
(the worst case: the proxy checks N prompts back to back, and every phase starts so);
``spread``, client i first sends one untimed request on its new connection, then waits
i/N of the upstream delay, so requests arrive evenly, as from independent users."""
SPREAD_DELAY = 0.05


async def load(url: str, tokens: int, concurrency: int,
               count: int) -> tuple[list[float], dict]:
    """`count` requests by `concurrency` clients, each on its own kept-alive connection.

    A minimal HTTP/1.1 client on asyncio streams rather than httpx: it costs a few
    microseconds per request, so the load generator does not compete for the CPU
    with the servers it measures (httpx costs about 1 ms per request)."""
    host, port = url.removeprefix("http://").split(":")

    def request() -> bytes:
        body = request_body(tokens)
        return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    remaining = count

    async def worker(i: int) -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 22)
        try:
            if ARRIVALS == "spread":
                await _one(reader, writer, request())  # untimed: the connection's first
                await asyncio.sleep(SPREAD_DELAY * i / concurrency)
            while remaining > 0:
                remaining -= 1
                data = request()  # built before the clock starts
                t = time.perf_counter()
                status, decision = await _one(reader, writer, data)
                latencies.append(time.perf_counter() - t)
                tag = f"{status}{'/' + decision if decision else ''}"
                statuses[tag] = statuses.get(tag, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return latencies, statuses


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def measure(direct: str, proxied: str, body: int, concurrency: int, count: int,
            rounds: int, proxy_pid: int) -> dict[str, Any]:
    per_round = max(concurrency, count // rounds)
    _run(load(direct, body, concurrency, concurrency * 3))  # warm up both paths
    _run(load(proxied, body, concurrency, concurrency * 3))
    d_lat: list[float] = []
    p_lat: list[float] = []
    p_status: dict[str, int] = {}
    d_status: dict[str, int] = {}
    started = time.perf_counter()
    proxy_cpu = 0.0
    for r in range(rounds):
        order = [(direct, d_lat, d_status), (proxied, p_lat, p_status)]
        if r % 2:
            order.reverse()
        for url, sink, status in order:
            cpu0 = tree_cpu(proxy_pid) if url == proxied else 0.0
            lat, st = _run(load(url, body, concurrency, per_round))
            if url == proxied:
                proxy_cpu += tree_cpu(proxy_pid) - cpu0
            sink.extend(lat)
            for k, v in st.items():
                status[k] = status.get(k, 0) + v
    out: dict[str, Any] = {"concurrency": concurrency, "requests_per_side": len(d_lat),
                           "seconds": round(time.perf_counter() - started, 1),
                           "direct_status": d_status, "proxy_status": p_status,
                           "proxy_cpu_ms_per_request": round(proxy_cpu * 1000 / len(p_lat), 2)}
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
    cases = {"short (~12 tokens)": lambda i: f"What will the weather be like in city {i}?",
             "1k tokens": lambda i: make_prompt(1000, i),
             "4k tokens": lambda i: make_prompt(4000, i)}
    for name, make in cases.items():
        text = make(0)
        for kind in ("check_input", "check_output"):
            fn = getattr(guard, kind)
            fn(make(-1))  # lazy model loading
            texts = [make(i) for i in range(1, repeat + 1)]  # all different: no cache hits
            times = []
            cpu0 = time.process_time()
            for item in texts:
                t = time.perf_counter()
                fn(item)
                times.append(time.perf_counter() - t)
            cpu = (time.process_time() - cpu0) / len(texts)
            decision = str(fn(text).decision)
            out[f"{kind} {name}"] = {"chars": len(text), "decision": decision,
                                     "p50_ms": round(percentile(times, 0.5) * 1000, 3),
                                     "p99_ms": round(percentile(times, 0.99) * 1000, 3),
                                     "cpu_ms_mean": round(cpu * 1000, 3)}
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
    parser.add_argument("--arrivals", choices=("burst", "spread"), default="burst",
                        help="burst: every phase's clients start at the same moment (worst "
                             "case); spread: each client warms its connection, then they "
                             "start evenly over one upstream delay")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure the real proxy this many times, each with a fresh "
                             "proxy process; the summary gives the median over runs")
    parser.add_argument("--workers", type=int, default=1,
                        help="proxy worker processes (dozor guard serve --workers)")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default=None,
                        help="the proxy's upstream client [default: the proxy's default]")
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

    global ARRIVALS, SPREAD_DELAY  # noqa: PLW0603 - the load generator's settings
    ARRIVALS, SPREAD_DELAY = args.arrivals, args.delay_ms / 1000
    levels = [int(c) for c in args.concurrency.split(",")]
    prompt = make_prompt(args.tokens)
    body = args.tokens  # each request builds its own, never-repeated prompt of this size
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "delay_ms": args.delay_ms, "workers": args.workers, "arrivals": args.arrivals,
        "client": args.client or "default", "prompt_chars": len(prompt),
        "prompt_tokens": args.tokens,
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

        for run in range(0 if args.no_real else args.repeat):
            proxy, proxy_url = start_proxy(stub_url, store, workers=args.workers,
                                           client=args.client)
            procs.append(proxy)
            for c in levels:
                row = measure(stub_url, proxy_url, body, c, count_for(c), args.rounds, proxy.pid)
                row["run"] = run + 1
                print(json.dumps(row), file=sys.stderr)
                results["proxy"].append(row)
            stop(proxy)
            procs.remove(proxy)
        if args.offload:
            for mode in ("inline", "thread", "auto"):
                proxy, proxy_url = start_proxy(stub_url, store, offload=mode)
                procs.append(proxy)
                row = measure(stub_url, proxy_url, body, 10, count_for(10), args.rounds,
                              proxy.pid)
                row["mode"] = mode
                print(json.dumps(row), file=sys.stderr)
                results["offload"].append(row)
                stop(proxy)
                procs.remove(proxy)
        if args.null_guard:
            proxy, proxy_url = start_proxy(stub_url, store, null_guard=True)
            procs.append(proxy)
            for c in levels:
                row = measure(stub_url, proxy_url, body, c, count_for(c), args.rounds, proxy.pid)
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
            "| overhead p99 ms | proxy CPU ms/request | proxy answers |")
    lines += [head, "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    serve = f"dozor guard serve (workers {results['workers']}, {results['client']} client)"
    for label, rows in ((serve, results["proxy"]),
                        ("null guard (framework only)", results["null_guard"]),
                        *((f"--guard-offload {r['mode']}", [r]) for r in results["offload"])):
        for r in rows:
            lines.append(
                f"| {label} | {r['concurrency']} | {r['direct_p50_ms']:.1f} / "
                f"{r['direct_p99_ms']:.1f} | {r['proxy_p50_ms']:.1f} / {r['proxy_p99_ms']:.1f} "
                f"| {r['overhead_p50_ms']:+.1f} | {r['overhead_p99_ms']:+.1f} | "
                f"{r['proxy_cpu_ms_per_request']:.2f} | "
                f"{', '.join(f'{k}: {v}' for k, v in sorted(r['proxy_status'].items()))} |")
    if len({r.get("run", 1) for r in results["proxy"]}) > 1:
        lines += ["", f"Median over {len({r['run'] for r in results['proxy']})} runs "
                  "(overhead p50 / p99 ms, CPU ms per request; each run's values in brackets):",
                  "", "| clients | overhead p50 | overhead p99 | CPU ms/request |",
                  "| --- | --- | --- | --- |"]
        for c in sorted({r["concurrency"] for r in results["proxy"]}):
            rows = [r for r in results["proxy"] if r["concurrency"] == c]

            def cell(key: str, rows: list[dict[str, Any]] = rows) -> str:
                values = [r[key] for r in rows]
                return (f"{statistics.median(values):+.1f} ["
                        + ", ".join(f"{v:+.1f}" for v in values) + "]")
            cpu = statistics.median(r["proxy_cpu_ms_per_request"] for r in rows)
            lines.append(f"| {c} | {cell('overhead_p50_ms')} | {cell('overhead_p99_ms')} | "
                         f"{cpu:.2f} |")
    if "library" in results:
        lines += ["", "| library call | chars | decision | p50 ms | p99 ms | CPU ms (mean) |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, r in results["library"].items():
            lines.append(f"| {name} | {r['chars']} | {r['decision']} | {r['p50_ms']:.2f} | "
                         f"{r['p99_ms']:.2f} | {r.get('cpu_ms_mean', float('nan')):.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
