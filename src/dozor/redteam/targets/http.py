"""Any HTTP JSON endpoint, described by a request template and a response path.

Most LLM applications are not OpenAI-compatible: a support bot takes
``{"question": ..., "session": ...}`` and answers ``{"data": {"answer": ...}}``.
The template is JSON in which the string ``"{{messages}}"`` becomes the message list
and ``{{prompt}}``, ``{{conversation_id}}``, ``{{system}}`` inside strings are
replaced after parsing, so quoting is always right. Header values written
``env:NAME`` (or ``$NAME``) are read from the environment at start, so keys never
appear on a command line or in a report.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from dozor.redteam.base import Reply, estimate_tokens
from dozor.redteam.targets.base import (
    MAX_RESPONSE_BYTES,
    MAX_TEXT_CHARS,
    TargetError,
    parse_tool_calls,
)
from dozor.redteam.targets.openai import _error_text

DEFAULT_TEMPLATE = '{"prompt": "{{prompt}}"}'


class TemplateError(ValueError):
    """A request template or response path that cannot work."""


def resolve_headers(pairs: list[str] | dict[str, str]) -> dict[str, str]:
    """``Name: value`` pairs, values ``env:VAR``/``$VAR`` taken from the environment."""
    items = pairs.items() if isinstance(pairs, dict) else [_split_header(p) for p in pairs]
    out: dict[str, str] = {}
    for name, value in items:
        value = value.strip()
        var = value[4:] if value.startswith("env:") else value[1:] if value.startswith("$") \
            else None
        if var is not None:
            if var not in os.environ:
                raise TemplateError(f"header {name}: environment variable {var} is not set")
            value = os.environ[var]
        out[name.strip()] = value
    return out


def _split_header(pair: str) -> tuple[str, str]:
    if ":" not in pair:
        raise TemplateError(f"header {pair!r} is not 'Name: value'")
    name, value = pair.split(":", 1)
    return name, value


def get_path(data: object, path: str) -> object:
    """Follow a dotted path (``choices.0.message.content``); None where it breaks."""
    cur = data
    for part in path.split(".") if path else []:
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.lstrip("-").isdigit():
            idx = int(part)
            cur = cur[idx] if -len(cur) <= idx < len(cur) else None
        else:
            return None
    return cur


def render(template: object, values: dict[str, Any]) -> object:
    """Fill a parsed template: whole-string placeholders take any JSON value."""
    if isinstance(template, str):
        whole = template.strip()
        if whole.startswith("{{") and whole.endswith("}}") and whole[2:-2] in values \
                and not isinstance(values[whole[2:-2]], str):
            return values[whole[2:-2]]
        out = template
        for key, value in values.items():
            if isinstance(value, str):
                out = out.replace("{{" + key + "}}", value)
        return out
    if isinstance(template, list):
        return [render(v, values) for v in template]
    if isinstance(template, dict):
        return {k: render(v, values) for k, v in template.items()}
    return template


class HTTPJSONTarget:
    """POST a filled template, read the answer at a dotted path."""

    def __init__(self, url: str, *, template: str = DEFAULT_TEMPLATE,
                 response_path: str = "response", tool_calls_path: str = "",
                 headers: dict[str, str] | None = None, timeout: float = 60.0,
                 max_connections: int = 64, method: str = "POST") -> None:
        import httpx

        try:
            self.template = json.loads(template)
        except ValueError as exc:
            raise TemplateError(f"request template is not JSON: {exc}") from None
        if "{{prompt}}" not in template and "{{messages}}" not in template:
            raise TemplateError("request template needs {{prompt}} or {{messages}}")
        self.name = f"http:{url}"
        self.url = url
        self.method = method.upper()
        self.response_path = response_path
        self.tool_calls_path = tool_calls_path
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        self._client = httpx.AsyncClient(headers=headers or {}, timeout=timeout, limits=limits)

    async def send(self, messages: list[dict[str, Any]], *,
                   tools: list[dict[str, Any]] | None = None,
                   conversation_id: str = "") -> Reply:
        import httpx

        prompt = next((str(m.get("content", "")) for m in reversed(messages)
                       if m.get("role") == "user"), "")
        system = next((str(m.get("content", "")) for m in messages
                       if m.get("role") == "system"), "")
        body = render(self.template, {"prompt": prompt, "messages": messages,
                                      "conversation_id": conversation_id, "system": system,
                                      "tools": tools or []})
        start = time.perf_counter()
        try:
            resp = await self._client.request(self.method, self.url, json=body)
        except httpx.TimeoutException:
            raise TargetError("timeout", retryable=True) from None
        except httpx.HTTPError as exc:
            raise TargetError(f"transport error: {exc.__class__.__name__}",
                              retryable=True) from None
        seconds = time.perf_counter() - start
        status = resp.status_code
        if status == 429 or status >= 500:
            raise TargetError(f"HTTP {status}", retryable=True, status=status)
        raw = resp.content[:MAX_RESPONSE_BYTES]
        try:
            data = json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            data = None
        if status in (400, 403, 451):
            return Reply(text=_error_text(data) or raw[:500].decode("utf-8", "replace"),
                         status=status, blocked=True, seconds=seconds)
        if status >= 400:
            raise TargetError(f"HTTP {status}", status=status)
        if data is None:  # a plain-text endpoint
            text = raw.decode("utf-8", "replace")
        else:
            value = get_path(data, self.response_path)
            if value is None:
                raise TargetError(f"response path {self.response_path!r} not in the answer")
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        calls = parse_tool_calls(get_path(data, self.tool_calls_path)) \
            if self.tool_calls_path else ()
        text = text[:MAX_TEXT_CHARS]
        return Reply(text=text, tool_calls=calls, status=status,
                     tokens=estimate_tokens(text), seconds=seconds)

    async def aclose(self) -> None:
        await self._client.aclose()
