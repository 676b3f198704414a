"""Serve the demo application as an OpenAI-compatible endpoint on localhost.

The standard library's threading HTTP server is enough for a local demo and the
tests, and keeps the demo free of server dependencies; it answers
``POST /v1/chat/completions`` and ``GET /v1/models``. Bodies are capped in size.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 2_000_000

Responder = Callable[[list[dict[str, Any]], list[dict[str, Any]] | None], dict[str, Any]]


def _handler(respond: Responder, model: str, delay: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": model, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": {"message": "request too large"}})
                return
            try:
                data = json.loads(self.rfile.read(length) or b"{}")
                messages = data["messages"]
                assert isinstance(messages, list)
            except (ValueError, KeyError, AssertionError):
                self._send(400, {"error": {"message": "expected a chat completion request"}})
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            if delay:
                time.sleep(delay)
            message = respond(messages, data.get("tools"))
            text = message.get("content") or ""
            self._send(200, {
                "id": "chatcmpl-demo", "object": "chat.completion", "created": int(time.time()),
                "model": data.get("model", model),
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if message.get("tool_calls")
                             else "stop"}],
                "usage": {"prompt_tokens": sum(len(str(m.get("content") or "")) for m in
                                               messages) // 4,
                          "completion_tokens": len(text) // 4,
                          "total_tokens": (sum(len(str(m.get("content") or "")) for m in
                                               messages) + len(text)) // 4},
            })

    return Handler


class DemoServer:
    """A running server; use as a context manager or call `close()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 respond: Responder | None = None, model: str = "helpbot-demo",
                 delay: float = 0.0) -> None:
        if respond is None:
            from dozor.redteam.demo.app import respond as demo_respond

            respond = demo_respond
        self.httpd = ThreadingHTTPServer((host, port), _handler(respond, model, delay))
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 128
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}/v1"
        self._thread: threading.Thread | None = None

    def start(self) -> DemoServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
