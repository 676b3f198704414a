"""A Python callable as a target (``module:function``), for apps tested in-process.

The function receives the message list (and ``tools=`` when the probe offers tools)
and returns a string, an OpenAI assistant message dict (``content``/``tool_calls``)
or a `Reply`; it may be sync (run in a worker thread) or async. This is the fastest
way to attack a LangChain chain or an agent in a unit test, with no server.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import time
from collections.abc import Callable
from typing import Any

from dozor.redteam.base import Reply
from dozor.redteam.targets.base import TargetError, reply_from_message


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``package.module:function`` (attributes may be dotted: ``mod:obj.method``)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{spec!r} is not 'module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{spec} is not callable")
    return obj  # type: ignore[no-any-return]


class CallableTarget:
    """Call a function with the conversation; its return value is the answer."""

    def __init__(self, fn: Callable[..., Any] | str) -> None:
        self.fn = load_callable(fn) if isinstance(fn, str) else fn
        self.name = f"python:{fn if isinstance(fn, str) else getattr(fn, '__name__', 'fn')}"
        try:
            params = inspect.signature(self.fn).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        self._takes_tools = "tools" in params or any(
            p.kind is p.VAR_KEYWORD for p in params.values())

    async def send(self, messages: list[dict[str, Any]], *,
                   tools: list[dict[str, Any]] | None = None,
                   conversation_id: str = "") -> Reply:
        kwargs = {"tools": tools} if self._takes_tools else {}
        start = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(self.fn):
                value = await self.fn([dict(m) for m in messages], **kwargs)
            else:
                value = await asyncio.to_thread(self.fn, [dict(m) for m in messages], **kwargs)
        except Exception as exc:  # the app under test failed: report, never crash the run
            raise TargetError(f"callable raised {exc.__class__.__name__}: {exc}"[:300]) from None
        seconds = time.perf_counter() - start
        if isinstance(value, Reply):
            return value
        if isinstance(value, dict):
            return reply_from_message(value, seconds=seconds)
        return reply_from_message(None if value is None else str(value), seconds=seconds)

    async def aclose(self) -> None:
        return None
