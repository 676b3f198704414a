"""Hostile input for the proxy's two parsers: request bodies from clients, SSE from upstreams.

Bounded hypothesis runs: a request body of any bytes gets a well-formed answer (never a
500 or a traceback), and the SSE reader never raises anything but its size limit and
never loses data lines.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dozor.guard.proxy.app import create_app  # noqa: E402
from dozor.guard.proxy.config import ProxyConfig  # noqa: E402
from dozor.guard.proxy.sse import SseTooLarge, read_events  # noqa: E402
from dozor.guard.proxy.stub import make_stub  # noqa: E402
from tests.test_guard_proxy import MemoryStore, ScriptedGuard, ServerThread  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with ServerThread(make_stub(), grace=0.5) as upstream:
        app = create_app(ProxyConfig(upstream=upstream.url + "/v1", max_request_bytes=8192),
                         guard_factory=lambda _: ScriptedGuard(), store=MemoryStore())
        with ServerThread(app) as proxy, httpx.Client(base_url=proxy.url, timeout=20) as c:
            yield c


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)
_messages = st.lists(st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", 5]),
     "content": st.one_of(st.text(max_size=200), st.none(), st.integers(),
                          st.lists(st.fixed_dictionaries({"type": st.just("text"),
                                                          "text": st.text(max_size=50)}),
                                   max_size=3))}), max_size=4)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=400),
    _json.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda m, s: json.dumps({"model": "x", "messages": m, "stream": s}).encode(),
              _messages, st.booleans()),
    st.integers(8000, 9000).map(lambda n: b'{"messages": "' + b"a" * n + b'"}'),
))
def test_any_request_body_gets_a_well_formed_answer(client: httpx.Client, body: bytes) -> None:
    resp = client.post("/v1/chat/completions", content=body,
                       headers={"content-type": "application/json"})
    assert resp.status_code in (200, 400, 413), resp.text
    if resp.status_code != 200:
        error = resp.json()["error"]
        assert {"message", "type", "code", "param"} <= set(error)
    elif resp.headers["content-type"].startswith("text/event-stream"):
        assert resp.text.rstrip().endswith("data: [DONE]")
    else:
        assert "choices" in resp.json()


async def _lines(items: list[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


def _read(lines: list[str]) -> list:
    async def go() -> list:
        return [e async for e in read_events(_lines(lines))]

    return asyncio.run(go())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), st.just(""), st.just("data: [DONE]"),
                          st.text(max_size=30).map(lambda t: "data: " + t),
                          st.text(max_size=30).map(lambda t: ": " + t)), max_size=30))
def test_sse_reader_keeps_every_data_line(lines: list[str]) -> None:
    clean = [line.replace("\r", "").replace("\n", "") for line in lines]
    events = _read(clean)
    got = [d for e in events if e.data is not None for d in e.data.split("\n")]
    want = [line[5:].removeprefix(" ") for line in clean if line.startswith("data:")]
    assert got == want
    assert all(e.raw.endswith("\n\n") for e in events)


def test_sse_reader_bounds_one_event() -> None:
    with pytest.raises(SseTooLarge):
        _read(["data: " + "x" * 1_000_000] * 5)
