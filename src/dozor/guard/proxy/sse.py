"""Server-sent events as the OpenAI streaming API writes them, read line by line.

An event is a run of ``field: value`` lines ended by a blank line; the chat API sends
one ``data:`` line per chunk and ``data: [DONE]`` at the end. The reader joins multi-line
``data`` fields as the SSE specification says, keeps other fields (``event:``, comments)
so they can be passed on untouched, and bounds a single event's size so a hostile
upstream cannot make the proxy buffer without end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

MAX_EVENT_CHARS = 4_000_000


@dataclass(frozen=True)
class SseEvent:
    data: str | None
    """The joined ``data`` lines, or None for an event without data (a comment)."""
    raw: str
    """The event as received, for passing on unchanged."""


class SseTooLarge(Exception):
    """One event exceeded MAX_EVENT_CHARS."""


async def read_events(lines: AsyncIterator[str]) -> AsyncIterator[SseEvent]:
    data: list[str] = []
    raw: list[str] = []
    size = 0
    async for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if raw:
                yield SseEvent("\n".join(data) if data else None, "\n".join(raw) + "\n\n")
            data, raw, size = [], [], 0
            continue
        size += len(line)
        if size > MAX_EVENT_CHARS:
            raise SseTooLarge(f"an upstream event is larger than {MAX_EVENT_CHARS} characters")
        raw.append(line)
        if line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if raw:
        yield SseEvent("\n".join(data) if data else None, "\n".join(raw) + "\n\n")


def encode(data: str) -> bytes:
    """One ``data:`` event (the chat API never puts newlines inside its JSON)."""
    return b"data: " + data.encode("utf-8") + b"\n\n"
