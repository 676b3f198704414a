"""A streamed answer whose client is gone before the first byte still closes the upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("fastapi")

from starlette.requests import ClientDisconnect  # noqa: E402

from dozor.guard.proxy.app import _ClosingStream  # noqa: E402


def _run(send_fails: bool, fail_on_body: bool = False) -> tuple[list[str], bool]:
    events: list[str] = []
    started = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal started
        started = True
        try:
            yield b"data: 1\n\n"
            yield b"data: 2\n\n"
        finally:
            events.append("generator finally")

    async def on_exit() -> None:
        events.append("on_exit")

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if send_fails or (fail_on_body and message["type"] == "http.response.body"):
            raise OSError("client went away")

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "method": "POST", "path": "/", "headers": []}
    response = _ClosingStream(body(), on_exit=on_exit, media_type="text/event-stream")
    try:
        asyncio.run(response(scope, receive, send))
    except (OSError, ClientDisconnect):
        pass
    return events, started


def test_client_gone_before_the_first_byte_runs_on_exit() -> None:
    events, started = _run(send_fails=True)
    assert not started  # the body generator never ran, so its finally could not
    assert events == ["on_exit"]


def test_a_normal_stream_runs_its_finally_then_on_exit() -> None:
    events, started = _run(send_fails=False)
    assert started
    assert events == ["generator finally", "on_exit"]


def test_client_gone_mid_stream_closes_the_generator_first() -> None:
    events, started = _run(send_fails=False, fail_on_body=True)
    assert started
    assert events == ["generator finally", "on_exit"]  # not left for the collector
