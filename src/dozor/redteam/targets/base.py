"""The one interface every target shares, so probes never know what they talk to.

A target takes the whole conversation so far (OpenAI-style message dicts) and
returns a `Reply`. Memory for multi-turn attacks is kept by the harness, which sends
the growing history each turn; stateful HTTP applications can instead receive a
conversation id (`{{conversation_id}}` in a request template). Failures that a
retry may cure (429, 5xx, a dropped connection) raise `TargetError` with
``retryable=True``; the harness owns retries, backoff and budgets, so a target stays
a thin adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from dozor.redteam.base import Reply, ToolCall

MAX_RESPONSE_BYTES = 4_000_000
"""A larger answer is cut here: enough to judge unbounded consumption, not to exhaust memory."""
MAX_TEXT_CHARS = 200_000


class TargetError(Exception):
    """A request that got no usable answer."""

    def __init__(self, message: str, *, retryable: bool = False,
                 retry_after: float | None = None, status: int = 0) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class Target(Protocol):
    """Anything the red team can attack."""

    name: str

    async def send(self, messages: list[dict[str, Any]], *,
                   tools: list[dict[str, Any]] | None = None,
                   conversation_id: str = "") -> Reply: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Blocked:
    """How a guard in front of an application says no (statuses and body words)."""

    statuses: tuple[int, ...] = (400, 403, 451)
    finish_reasons: tuple[str, ...] = ("content_filter",)


def parse_tool_calls(raw: object) -> tuple[ToolCall, ...]:
    """Read OpenAI ``tool_calls`` (or legacy ``function_call``) defensively."""
    calls: list[ToolCall] = []
    if isinstance(raw, dict):
        raw = [{"function": raw}]
    if not isinstance(raw, list):
        return ()
    for item in raw[:64]:
        if not isinstance(item, dict):
            continue
        fn = item.get("function", item)
        if not isinstance(fn, dict):
            continue
        name = fn.get("name")
        args = fn.get("arguments", "{}")
        if not isinstance(name, str):
            continue
        if not isinstance(args, str):
            import json

            try:
                args = json.dumps(args)
            except (TypeError, ValueError):
                args = str(args)
        calls.append(ToolCall(name=name[:200], arguments=args[:100_000]))
    return tuple(calls)


def reply_from_message(message: object, *, status: int = 200, tokens: int = 0,
                       seconds: float = 0.0, finish_reason: str = "") -> Reply:
    """A `Reply` from an OpenAI assistant message dict (content may be None or parts)."""
    from dozor.redteam.base import estimate_tokens

    if not isinstance(message, dict):
        text = "" if message is None else str(message)
        return Reply(text=text[:MAX_TEXT_CHARS], status=status,
                     tokens=tokens or estimate_tokens(text), seconds=seconds)
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict)
                          and isinstance(p.get("text", ""), str))
    text = content if isinstance(content, str) else ""
    text = text[:MAX_TEXT_CHARS]
    calls = parse_tool_calls(message.get("tool_calls") or message.get("function_call"))
    return Reply(text=text, tool_calls=calls, status=status,
                 tokens=tokens or estimate_tokens(text), seconds=seconds,
                 blocked=finish_reason in Blocked().finish_reasons)
