"""Any OpenAI-compatible chat endpoint (``POST {base}/chat/completions``).

This is the default target: vLLM, llama.cpp, Ollama, LiteLLM, most gateways and
`dozor guard serve` speak it. httpx is used because it is the well-kept async HTTP
client of the field (HTTP/1.1 keep-alive pooling, timeouts, limits); the harness
shares one client across all concurrent attempts.
"""

from __future__ import annotations

import os
import time
from typing import Any

from dozor.redteam.base import Reply
from dozor.redteam.targets.base import MAX_RESPONSE_BYTES, Blocked, TargetError, reply_from_message


class OpenAIChatTarget:
    """Chat completions over HTTP; headers and key from the environment, never the command line."""

    def __init__(self, base_url: str, *, model: str = "default", api_key_env: str = "",
                 headers: dict[str, str] | None = None, timeout: float = 60.0,
                 max_connections: int = 64, temperature: float | None = 0.0,
                 max_tokens: int | None = None) -> None:
        import httpx

        self.name = f"openai:{base_url}"
        self.url = base_url.rstrip("/")
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions"
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        hdrs = {"content-type": "application/json", **(headers or {})}
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        if key:
            hdrs["authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        self._client = httpx.AsyncClient(headers=hdrs, timeout=timeout, limits=limits)

    async def send(self, messages: list[dict[str, Any]], *,
                   tools: list[dict[str, Any]] | None = None,
                   conversation_id: str = "") -> Reply:
        import httpx

        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if tools:
            body["tools"] = tools
        if conversation_id:
            body["user"] = conversation_id
        start = time.perf_counter()
        try:
            resp = await self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise TargetError(f"timeout: {exc.__class__.__name__}", retryable=True) from None
        except httpx.HTTPError as exc:
            raise TargetError(f"transport error: {exc.__class__.__name__}: {exc}",
                              retryable=True) from None
        return parse_response(resp.status_code, resp.content, resp.headers.get("retry-after"),
                              time.perf_counter() - start)

    async def aclose(self) -> None:
        await self._client.aclose()


def parse_response(status: int, content: bytes, retry_after: str | None,
                   seconds: float) -> Reply:
    """Turn one HTTP answer into a `Reply`, a block, or a `TargetError`."""
    import json

    if status == 429 or status >= 500:
        after = None
        if retry_after:
            try:
                after = min(60.0, float(retry_after))
            except ValueError:
                after = None
        raise TargetError(f"HTTP {status}", retryable=True, retry_after=after, status=status)
    content = content[:MAX_RESPONSE_BYTES]
    try:
        data = json.loads(content) if content else {}
    except (ValueError, RecursionError):
        data = None
    if status in Blocked().statuses:
        text = _error_text(data) or content[:500].decode("utf-8", "replace")
        return Reply(text=text, status=status, blocked=True, seconds=seconds)
    if status >= 400:
        raise TargetError(f"HTTP {status}: {_error_text(data)[:200]}", status=status)
    if not isinstance(data, dict):
        raise TargetError("answer is not a JSON object", status=status)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise TargetError("answer has no choices", status=status)
    usage = data.get("usage")
    tokens = 0
    if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int):
        tokens = usage["total_tokens"]
    finish = choices[0].get("finish_reason")
    return reply_from_message(choices[0].get("message"), status=status, tokens=tokens,
                              seconds=seconds,
                              finish_reason=finish if isinstance(finish, str) else "")


def _error_text(data: object) -> str:
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", ""))
        if isinstance(err, dict):
            err = err.get("message", "")
        return str(err)[:2000]
    return ""
