"""The HTTP client the proxy uses to reach the upstream: aiohttp, or httpx.

Why two. httpx is the expected client and works everywhere, but its connection pool
(httpcore) scans every pooled connection with a ``poll`` system call on each request:
measured here at 1.1 ms of CPU per request with 10 connections and 2.1 ms with 50,
which is a large share of a 10 ms latency budget on a 2-core machine. aiohttp's pool
costs 0.13-0.18 ms per request in the same measurement (bench/guard/latency.py). So
the proxy uses aiohttp when it is installed (the guard extra installs it) and httpx
otherwise, behind one small interface; both are tested.

Errors are mapped to two exceptions, so the proxy answers 504 for a timeout and 502
for everything else whichever client runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol


class UpstreamTimeout(Exception):
    """The upstream did not connect or answer within the timeout."""


class UpstreamUnreachable(Exception):
    """The connection failed or broke; the message names the error class only."""


class UpstreamResponse(Protocol):
    status: int
    headers: Mapping[str, str]

    async def read(self) -> bytes: ...

    def lines(self) -> AsyncIterator[str]: ...

    async def close(self) -> None: ...


class Upstream(Protocol):
    name: str

    async def start(self) -> None: ...

    async def send(self, method: str, url: str, *, content: bytes | None,
                   headers: dict[str, str], stream: bool) -> UpstreamResponse:
        """Send a request; with `stream` the body is read later (`lines`), else now."""
        ...

    async def close(self) -> None: ...


MAX_BODY = 64 * 1024 * 1024
"""An upstream answer larger than this is refused (502) instead of buffered."""


class _HttpxResponse:
    def __init__(self, resp: Any, body: bytes | None) -> None:
        self._resp = resp
        self._body = body
        self.status = int(resp.status_code)
        self.headers: Mapping[str, str] = resp.headers

    async def read(self) -> bytes:
        import httpx

        if self._body is None:
            try:
                self._body = await self._resp.aread()
            except httpx.TimeoutException as exc:
                raise UpstreamTimeout() from exc
            except httpx.HTTPError as exc:
                raise UpstreamUnreachable(type(exc).__name__) from exc
        return self._body

    async def lines(self) -> AsyncIterator[str]:
        import httpx

        try:
            async for line in self._resp.aiter_lines():
                yield line
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout() from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc

    async def close(self) -> None:
        await self._resp.aclose()


class HttpxUpstream:
    name = "httpx"

    def __init__(self, *, timeout: float, connect_timeout: float,
                 transport: Any = None) -> None:
        self._timeout, self._connect = timeout, connect_timeout
        self._transport = transport
        self._client: Any = None

    async def start(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout, connect=self._connect),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200,
                                keepalive_expiry=30),
            transport=self._transport)

    async def send(self, method: str, url: str, *, content: bytes | None,
                   headers: dict[str, str], stream: bool) -> UpstreamResponse:
        import httpx

        request = self._client.build_request(method, url, content=content, headers=headers)
        try:
            resp = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout() from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc
        out = _HttpxResponse(resp, None)
        if not stream:
            try:
                length = resp.headers.get("content-length", "")
                if length.isdigit() and int(length) > MAX_BODY:
                    raise UpstreamUnreachable("answer too large")
                await out.read()
            finally:
                await resp.aclose()
        return out

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class _AiohttpResponse:
    def __init__(self, resp: Any, body: bytes | None) -> None:
        self._resp = resp
        self._body = body
        self.status = int(resp.status)
        self.headers: Mapping[str, str] = resp.headers

    async def read(self) -> bytes:
        """The whole body, at most MAX_BODY bytes (a hostile upstream cannot say more)."""
        if self._body is None:
            length = self._resp.content_length
            if length is not None and length > MAX_BODY:
                raise UpstreamUnreachable("answer too large")
            body = bytearray()
            while True:
                chunk = await _aiohttp_call(self._resp.content.read(1 << 16))
                if not chunk:
                    break
                body += chunk
                if len(body) > MAX_BODY:
                    raise UpstreamUnreachable("answer too large")
            self._body = bytes(body)
        return self._body

    async def lines(self) -> AsyncIterator[str]:
        import aiohttp

        content = self._resp.content
        try:
            while True:
                line = await content.readline()
                if not line:
                    return
                yield line.decode("utf-8", errors="replace").rstrip("\r\n")
        except TimeoutError as exc:
            raise UpstreamTimeout() from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc

    async def close(self) -> None:
        if self._resp.content.at_eof():
            self._resp.release()  # back to the pool
        else:
            self._resp.close()  # cut short: the connection cannot be reused


async def _aiohttp_call(awaitable: Any) -> Any:
    import aiohttp

    try:
        return await awaitable
    except TimeoutError as exc:
        raise UpstreamTimeout() from exc
    except aiohttp.ClientError as exc:
        raise UpstreamUnreachable(type(exc).__name__) from exc


class AiohttpUpstream:
    name = "aiohttp"

    def __init__(self, *, timeout: float, connect_timeout: float) -> None:
        self._timeout, self._connect = timeout, connect_timeout
        self._session: Any = None

    async def start(self) -> None:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=1000, keepalive_timeout=30,
                                         enable_cleanup_closed=False)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect,
                                          sock_read=self._timeout),
            auto_decompress=True, skip_auto_headers=("User-Agent",),
            read_bufsize=2**16, max_line_size=1_048_576, max_field_size=65_536)

    async def send(self, method: str, url: str, *, content: bytes | None,
                   headers: dict[str, str], stream: bool) -> UpstreamResponse:
        resp = await _aiohttp_call(self._session.request(method, url, data=content,
                                                         headers=headers))
        out = _AiohttpResponse(resp, None)
        if not stream:
            try:
                await out.read()
            finally:
                resp.release()
        return out

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def open_upstream(kind: str, *, timeout: float, connect_timeout: float,
                  transport: Any = None) -> Upstream:
    """`kind` is aiohttp, httpx, or auto (aiohttp when installed; httpx with a transport)."""
    if kind == "auto":
        import importlib.util

        kind = "aiohttp" if transport is None and importlib.util.find_spec("aiohttp") \
            else "httpx"
    if kind == "aiohttp":
        return AiohttpUpstream(timeout=timeout, connect_timeout=connect_timeout)
    return HttpxUpstream(timeout=timeout, connect_timeout=connect_timeout, transport=transport)
