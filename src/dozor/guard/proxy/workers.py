"""`dozor guard serve --workers N`: N proxy processes on one port, a socket each.

Why not uvicorn's own ``workers=N``: its processes share one listening socket, and the
first process to wake accepts every pending connection (uvloop drains the backlog).
When ten clients connect at once, one process takes most of them and checks their
prompts one after another while the other core idles, so a second worker hardly helped
(bench/guard/latency.py --workers 2). Here each process binds its own socket with
``SO_REUSEPORT``, and the kernel spreads new connections over the processes by their
address hash.

The parent only supervises: it starts the workers (fresh interpreters, like uvicorn's),
passes SIGINT and SIGTERM on as SIGTERM (each worker then stops gracefully: uvicorn lets
requests in flight finish), and when one worker exits it stops the others and exits with
the worst exit code. Where ``SO_REUSEPORT`` does not exist (Windows), the CLI falls back
to uvicorn's workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
from typing import Any

APP = "dozor.guard.proxy.app:app_from_env"
BACKLOG = 2048


def supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    sock = bind(host, port)
    config = uvicorn.Config(APP, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(workers: int, host: str, port: int, options: dict[str, Any],
          grace: float) -> int:
    """Run `workers` processes until they stop; the exit code for the CLI.

    Raises OSError (for a one-line error) when host:port cannot be bound."""
    # A taken or invalid address fails here, once, not N times. The probe binds without
    # SO_REUSEPORT, so it also fails when another server (even another dozor with
    # workers) holds the port with SO_REUSEPORT: the two would silently share traffic.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_worker, args=(host, port, options), name=f"worker-{i}")
             for i in range(workers)]
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for proc in procs:
            proc.start()
        while all(proc.is_alive() for proc in procs) and not stopping:
            time.sleep(0.2)
        stop()
        deadline = time.monotonic() + grace + 5
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    codes = [proc.exitcode or 0 for proc in procs]
    return max((abs(c) for c in codes), default=0)
