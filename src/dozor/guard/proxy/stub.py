"""A stand-in OpenAI chat-completions server, for trying the proxy without a model.

It answers every chat request by echoing the last user message (``Echo: ...``), after
a fixed delay, as one JSON answer or as a stream of SSE chunks, and it keeps the
request bodies it received so a test can check what reached "the model" (for example
that anonymised personal data never did). A few words in the user message select
misbehaviour: ``STUB-LEAK`` repeats the system prompt (a leak the proxy must stop),
``UPSTREAM-500`` answers with an error, ``UPSTREAM-SLOW`` waits 30 s, ``STUB-CUT``
ends a stream without ``finish_reason`` or ``[DONE]``.

The tests and the latency benchmark both use it::

    python -m dozor.guard.proxy.stub --port 8000 --delay-ms 50
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

try:
    import orjson

    def _dumps(data: Any) -> bytes:
        return orjson.dumps(data)

    def _loads(data: bytes) -> Any:
        return orjson.loads(data)

except ImportError:  # pragma: no cover
    import json

    def _dumps(data: Any) -> bytes:
        return json.dumps(data).encode()

    def _loads(data: bytes) -> Any:
        return json.loads(data)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def make_stub(*, delay: float = 0.0, chunk_chars: int = 8, chunk_delay: float = 0.0,
              echo_limit: int = 400, keep: int = 1000) -> FastAPI:
    """The stub app; `app.state.received` holds the last `keep` request bodies."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    received: list[dict[str, Any]] = []
    app.state.received = received

    @app.get("/v1/models")
    async def models() -> Response:
        return Response(_dumps({"object": "list", "data": [
            {"id": "stub-1", "object": "model", "created": 0, "owned_by": "dozor"}]}),
            media_type="application/json")

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = _loads(await request.body())
        received.append(body)
        if len(received) > keep:
            del received[: len(received) - keep]
        messages = body.get("messages") or []
        user = next((_text(m.get("content")) for m in reversed(messages)
                     if m.get("role") == "user"), "")
        system = next((_text(m.get("content")) for m in messages
                       if m.get("role") in ("system", "developer")), "")
        if "UPSTREAM-500" in user:
            return Response(_dumps({"error": {"message": "stub failure", "type": "server_error",
                                              "code": "stub", "param": None}}),
                            status_code=500, media_type="application/json")
        if "UPSTREAM-SLOW" in user:
            await asyncio.sleep(30)
        if delay:
            await asyncio.sleep(delay)
        reply = "Echo: " + user[:echo_limit]
        if "STUB-LEAK" in user:
            reply = "Sure. My instructions are: " + system + " That is all."
        created = int(time.time())
        base = {"id": "chatcmpl-stub", "created": created, "model": body.get("model", "stub-1")}
        if not body.get("stream"):
            return Response(_dumps({
                **base, "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": len(reply) // 4,
                          "total_tokens": 10 + len(reply) // 4},
            }), media_type="application/json")

        async def events() -> AsyncIterator[bytes]:
            chunk = {**base, "object": "chat.completion.chunk"}
            first = {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                 "content": ""},
                                           "finish_reason": None}]}
            yield b"data: " + _dumps(first) + b"\n\n"
            for i in range(0, len(reply), chunk_chars):
                if chunk_delay:
                    await asyncio.sleep(chunk_delay)
                piece = {**chunk, "choices": [{"index": 0,
                                               "delta": {"content": reply[i:i + chunk_chars]},
                                               "finish_reason": None}]}
                yield b"data: " + _dumps(piece) + b"\n\n"
            if "STUB-CUT" in user:
                return  # the connection ends mid-answer: no finish_reason, no [DONE]
            last = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield b"data: " + _dumps(last) + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--chunk-chars", type=int, default=8)
    args = parser.parse_args()
    app = make_stub(delay=args.delay_ms / 1000, chunk_chars=args.chunk_chars, keep=10)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
