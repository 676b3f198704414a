"""`dozor guard serve`: the guard as an OpenAI-compatible HTTP proxy.

A separate package from the library (`dozor.guard`) because it needs the web stack
(FastAPI, uvicorn, httpx, prometheus-client, redis), which library users do not.
`create_app` builds the ASGI app; `dozor.guard.proxy.cli.add_serve` adds the command.
"""

from __future__ import annotations

from dozor.guard.proxy.config import ConfigError, KeyPolicy, ProxyConfig, RateLimit, hash_key

__all__ = ["ConfigError", "KeyPolicy", "ProxyConfig", "RateLimit", "create_app", "hash_key"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "create_app":
        from dozor.guard.proxy.app import create_app

        return create_app
    raise AttributeError(name)
