"""The decision log: one event per request, written in batches off the request path.

Events go to the store's hash-chained ``guard.decisions`` stream (`dozor.store`), so the
log is tamper-evident (`dozor` can verify the chain later). A request only appends a
dict to a bounded buffer; a background task moves the buffer to the store every half
second (or sooner when it fills) on a worker thread, because a database write takes
milliseconds the client should not wait for. If the store fails, the batch is retried
a few times and then dropped and counted, never blocking traffic.

Prompts never enter the log in clear unless the policy sets ``log_prompts: clear``:
``hash`` (default) keeps a SHA-256 of the prompt (enough to match a complaint to a
request), ``redacted`` keeps the text as the guard passed it on (secrets redacted,
personal data replaced by placeholders), ``none`` keeps nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

STREAM = "guard.decisions"
_log = logging.getLogger("dozor.guard.proxy")


class DecisionLog:
    """Buffers events and appends them to a store from a background task."""

    ATTEMPTS = 4
    """Tries per batch: several workers share one chain, and one may win a race."""

    def __init__(self, store: Any, *, stream: str = STREAM, interval: float = 0.5,
                 batch: int = 500, max_pending: int = 50_000,
                 on_drop: Callable[[int], None] | None = None) -> None:
        self._store = store
        self._stream = stream
        self._interval = interval
        self._batch = batch
        self._max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_drop = on_drop or (lambda n: None)
        self._closing = False

    def record(self, event: dict[str, Any]) -> None:
        """Queue one event; never blocks and never raises."""
        if len(self._pending) >= self._max_pending:
            self._on_drop(1)
            return
        self._pending.append(event)
        if len(self._pending) >= self._batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._batch], self._pending[self._batch:]
            for attempt in range(1, self.ATTEMPTS + 1):
                try:
                    await asyncio.to_thread(self._store.append_events, self._stream, batch)
                    break
                except Exception as exc:  # noqa: BLE001 - the log must not stop traffic
                    if attempt < self.ATTEMPTS:
                        # another worker appending to the same chain wins a race: retry
                        await asyncio.sleep(0.05 * attempt)
                    else:
                        _log.warning("decision log: %d events dropped: %s", len(batch),
                                     str(exc).splitlines()[0] if str(exc) else
                                     type(exc).__name__)
                        self._on_drop(len(batch))

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self.flush()
