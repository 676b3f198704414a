"""The `dozor guard serve` command; `dozor.guard.cli` calls `add_serve` on its group.

Only typer and the standard library at module level: `dozor --help` must not import
the web stack.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dozor.cli_support import fail, require


class PromptLog(StrEnum):
    hash = "hash"
    redacted = "redacted"
    clear = "clear"
    none = "none"


class Client(StrEnum):
    auto = "auto"
    aiohttp = "aiohttp"
    httpx = "httpx"


class Offload(StrEnum):
    auto = "auto"
    thread = "thread"
    inline = "inline"


def serve(
    upstream: Annotated[
        str, typer.Option("--upstream", "-u", help="Base URL of the OpenAI-compatible API "
                          "to protect, up to and including /v1 (e.g. "
                          "https://api.openai.com/v1 or http://127.0.0.1:8000/v1).",
                          show_default=False)
    ],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Guard policy file (YAML). Its optional proxy: "
                     "section sets keys, rate limits, Redis and logging; see docs/guard.md. "
                     "[default: dozor's default policy]", dir_okay=False, show_default=False),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 exposes the proxy "
                                      "to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes, one per core is a good "
                          "start (each checks prompts on its own core; every worker has its "
                          "own socket on the port and the kernel spreads connections). "
                          "In-memory rate limits, metrics and anonymisation vaults are per "
                          "worker: use --redis for shared limits with more than one.")
    ] = 1,
    redis: Annotated[
        str | None,
        typer.Option("--redis", help="Redis URL (redis://host:6379/0) for rate limits shared "
                     "by all workers and replicas. [default: the policy's proxy.redis, else "
                     "in memory]", show_default=False),
    ] = None,
    rpm: Annotated[
        int | None,
        typer.Option("--rpm", min=1, help="Requests per minute per API key (sliding window). "
                     "[default: the policy's, else no limit]", show_default=False),
    ] = None,
    tpm: Annotated[
        int | None,
        typer.Option("--tpm", min=1, help="Tokens per minute per API key: estimated prompt "
                     "tokens plus completion tokens. [default: the policy's, else no limit]",
                     show_default=False),
    ] = None,
    require_key: Annotated[
        bool | None,
        typer.Option("--require-key/--any-key", help="Refuse API keys the policy does not "
                     "list (401). [default: the policy's, else any key]", show_default=False),
    ] = None,
    upstream_key_env: Annotated[
        str | None,
        typer.Option("--upstream-key-env", help="Name of an environment variable holding the "
                     "upstream's API key; the proxy then sends that key instead of the "
                     "client's. [default: forward the client's key]", show_default=False),
    ] = None,
    max_request_bytes: Annotated[
        int | None,
        typer.Option("--max-request-bytes", min=1024, help="Refuse larger request bodies with "
                     "413. [default: 1048576]", show_default=False),
    ] = None,
    upstream_timeout: Annotated[
        float | None,
        typer.Option("--upstream-timeout", min=0.1, help="Seconds to wait for the upstream "
                     "(between bytes); then 504. [default: 120]", show_default=False),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Store URL for the decision log (sqlite:///file.db or "
                     "postgresql://...). [default: $DOZOR_STORE, else .dozor/dozor.db]",
                     show_default=False),
    ] = None,
    decision_log: Annotated[
        bool | None,
        typer.Option("--decision-log/--no-decision-log", help="Write one event per request "
                     "to the store's guard.decisions stream. [default: on]",
                     show_default=False),
    ] = None,
    log_prompts: Annotated[
        PromptLog | None,
        typer.Option("--log-prompts", help="How prompts enter the decision log: hash "
                     "(SHA-256 only), redacted (as sent upstream), clear, none. "
                     "[default: hash]", show_default=False),
    ] = None,
    guard_offload: Annotated[
        Offload | None,
        typer.Option("--guard-offload", help="Run guard checks in a thread pool (thread), on "
                     "the event loop (inline), or by text size (auto). [default: auto]",
                     show_default=False),
    ] = None,
    upstream_client: Annotated[
        Client | None,
        typer.Option("--upstream-client", help="HTTP client for the upstream: aiohttp "
                     "(about 1 ms less CPU per request), httpx, or auto (aiohttp when "
                     "installed). [default: auto]", show_default=False),
    ] = None,
    grace: Annotated[
        float, typer.Option("--grace-seconds", min=0, help="On SIGTERM/Ctrl-C, stop accepting "
                            "and let requests in flight finish for up to this long.")
    ] = 30.0,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log one line per HTTP "
                           "request (never the API key).")
    ] = False,
) -> None:
    """Run the guard as an OpenAI-compatible proxy in front of a chat-completions API.

    Clients point their OpenAI base URL at the proxy. Each request's messages are checked
    (injection, secrets, personal data, ...): blocked requests get an OpenAI-style error
    naming the rule, personal data is replaced by placeholders before it leaves and put
    back in the answer, and answers (streams included) are checked on the way back.
    Serves /v1/chat/completions, /v1/models, /healthz and /metrics (Prometheus).

    [b]Examples[/b]

      dozor guard serve --upstream https://api.openai.com/v1

      dozor guard serve -u http://127.0.0.1:8000/v1 --policy guard.yaml --port 9000

      dozor guard serve -u http://vllm:8000/v1 --workers 4 --redis redis://127.0.0.1:6379/0
    """
    for module in ("fastapi", "uvicorn", "httpx", "prometheus_client"):
        require(module, "guard")
    from dozor.guard.proxy.config import ConfigError, build_config, read_policy_file

    policy_path = str(policy) if policy else None
    if policy is not None and not policy.is_file():
        raise fail(f"--policy: {policy} does not exist")
    overrides = {
        "redis_url": redis, "store_url": store, "decision_log": decision_log,
        "log_prompts": log_prompts.value if log_prompts else None,
        "max_request_bytes": max_request_bytes, "upstream_timeout": upstream_timeout,
        "upstream_key_env": upstream_key_env, "require_key": require_key,
        "guard_offload": guard_offload.value if guard_offload else None,
        "upstream_client": upstream_client.value if upstream_client else None,
    }
    try:
        _, section = read_policy_file(policy_path)
        config = build_config(upstream, policy_path, section, overrides)
        if rpm is not None or tpm is not None:
            from dataclasses import replace

            from dozor.guard.proxy.config import RateLimit

            limit = config.rate_limit.merged(RateLimit(rpm, tpm))
            config = replace(config, rate_limit=limit)
        if config.redis_url:
            require("redis", "guard")
        from dozor.guard.proxy.app import create_app

        app = create_app(config)  # builds every guard now, so a bad policy fails here
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a policy the guard rejects: one line, no trace
        text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        raise fail(f"cannot start the proxy: {(text.splitlines() or [repr(exc)])[0]}") from None
    import uvicorn

    loop = "uvloop" if _has("uvloop") else "asyncio"
    http = "httptools" if _has("httptools") else "h11"
    if workers > 1 and not config.redis_url and (config.rate_limit.active or any(
            k.rate_limit and k.rate_limit.active for k in config.keys)):
        typer.echo(f"dozor: warning: with {workers} workers and no --redis each worker keeps "
                   "its own rate-limit counters, so a key may get up to "
                   f"{workers}x its limit", err=True)
    typer.echo(f"dozor guard proxy on http://{host}:{port} -> {config.upstream} "
               f"(workers {workers}, rate limits {'redis' if config.redis_url else 'memory'})",
               err=True)
    common = {"host": host, "port": port, "loop": loop, "http": http,
              "timeout_graceful_shutdown": grace, "access_log": access_log,
              "log_level": "info", "server_header": False}
    if workers == 1:
        uvicorn.run(app, **common)  # type: ignore[arg-type]
        return
    os.environ["DOZOR_PROXY_CONFIG"] = json.dumps(config.to_dict())
    from dozor.guard.proxy import workers as worker_pool

    if worker_pool.supported():  # a socket per worker: the kernel spreads connections
        options = {k: v for k, v in common.items() if k not in ("host", "port")}
        try:
            code = worker_pool.serve(workers, host, port, options, grace)
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        raise typer.Exit(code)
    uvicorn.run("dozor.guard.proxy.app:app_from_env", factory=True, workers=workers,
                **common)  # type: ignore[arg-type]


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def add_serve(group: typer.Typer) -> None:
    """Add `serve` to the `dozor guard` command group."""
    group.command("serve")(serve)
