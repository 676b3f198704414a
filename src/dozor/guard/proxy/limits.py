"""Per-key rate limits: requests and tokens per minute, in memory or shared through Redis.

The window is a *sliding window counter* (the approximation Cloudflare and nginx-style
limiters use): counts are kept per fixed minute, and the budget used "in the last 60
seconds" is the current minute's count plus the previous minute's count weighted by
how much of it still lies inside the window. That needs two integers per key and limit
(not a log of timestamps), never admits the 2x burst a plain fixed window allows at a
minute boundary, and is exact when traffic is even.

In memory (the default) each process has its own counters: right for one process.
With Redis the check-and-increment is one Lua script, so it is atomic across any
number of replicas; the keys carry a hash tag so a Redis Cluster keeps one key's
counters on one shard. If Redis cannot be reached the request is admitted (fail
open, counted in metrics and logged): the guard's checks still run, only the budget
is not enforced while Redis is down.

Tokens: a request is admitted against its estimated prompt tokens; the completion's
tokens are charged after the answer (from the upstream's `usage`, or estimated from
the streamed text), so a key that spent its budget is refused on its next request.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from dozor.guard.proxy.config import RateLimit

WINDOW = 60.0
_TTL_MS = int(WINDOW * 2 * 1000 + 5000)
_log = logging.getLogger("dozor.guard.proxy")


@dataclass(frozen=True)
class Admission:
    allowed: bool
    """Whether the request may go on."""
    limit: str = ""
    """Which budget refused it: "requests" or "tokens"."""
    retry_after: float = 0.0
    """Seconds after which the same request would be admitted."""
    error: bool = False
    """The limiter's backend failed and the request was admitted anyway."""


class RateLimiter(Protocol):
    async def admit(self, key: str, limit: RateLimit, tokens: int,
                    now: float | None = None) -> Admission:
        """Check both budgets for `key` and, only if both allow, count this request."""
        ...

    async def charge(self, key: str, limit: RateLimit, tokens: int,
                     now: float | None = None) -> None:
        """Add `tokens` (a completion's) to `key`'s token budget without checking it."""
        ...

    async def close(self) -> None: ...


def retry_after(prev: float, cur: float, cost: float, limit: float, frac: float) -> float:
    """Seconds until ``prev * (1 - f) + cur + cost <= limit`` holds, `f` the window fraction.

    Within this minute the previous minute's share shrinks; failing that, next minute
    this minute's count becomes the shrinking share.
    """
    room = limit - cur - cost
    if room >= 0 and prev > 0:
        need = 1.0 - room / prev  # the fraction at which the previous share fits
        return max(0.0, (need - frac) * WINDOW)
    rest = (1.0 - frac) * WINDOW
    if cost > limit:
        return rest + WINDOW  # never fits in one window; say "a minute or more"
    if cur <= 0:
        return rest
    need = 1.0 - (limit - cost) / cur
    return rest + max(0.0, need) * WINDOW


def _window(now: float) -> tuple[int, float]:
    idx = math.floor(now / WINDOW)
    return idx, (now - idx * WINDOW) / WINDOW


class MemoryRateLimiter:
    """Counters in this process; check and increment happen with no await between."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        # key -> kind ("r"/"t") -> [window index, previous count, current count]
        self._counts: dict[str, dict[str, list[int]]] = {}

    def _slot(self, key: str, kind: str, idx: int) -> list[int]:
        per_key = self._counts.get(key)
        if per_key is None:
            if len(self._counts) >= self.MAX_KEYS:
                self._prune(idx)
            per_key = self._counts[key] = {}
        slot = per_key.get(kind)
        if slot is None:
            slot = per_key[kind] = [idx, 0, 0]
        if slot[0] != idx:
            slot[1] = slot[2] if slot[0] == idx - 1 else 0
            slot[2] = 0
            slot[0] = idx
        return slot

    def _prune(self, idx: int) -> None:
        stale = [k for k, kinds in self._counts.items()
                 if all(s[0] < idx - 1 for s in kinds.values())]
        for k in stale:
            del self._counts[k]

    async def admit(self, key: str, limit: RateLimit, tokens: int,
                    now: float | None = None) -> Admission:
        idx, frac = _window(time.time() if now is None else now)
        checks = []
        if limit.requests_per_minute:
            checks.append(("r", "requests", 1, limit.requests_per_minute))
        if limit.tokens_per_minute:
            checks.append(("t", "tokens", tokens, limit.tokens_per_minute))
        slots = []
        for kind, name, cost, cap in checks:
            slot = self._slot(key, kind, idx)
            if slot[1] * (1.0 - frac) + slot[2] + cost > cap:
                return Admission(False, name, retry_after(slot[1], slot[2], cost, cap, frac))
            slots.append((slot, cost))
        for slot, cost in slots:
            slot[2] += cost
        return Admission(True)

    async def charge(self, key: str, limit: RateLimit, tokens: int,
                     now: float | None = None) -> None:
        if limit.tokens_per_minute and tokens > 0:
            idx, _ = _window(time.time() if now is None else now)
            self._slot(key, "t", idx)[2] += tokens

    async def close(self) -> None:
        self._counts.clear()


# Returns {0} when admitted, else {1 or 2 (which budget), previous count, current count}.
_ADMIT_LUA = """
local w = tonumber(ARGV[4])
local rl = tonumber(ARGV[1])
local tl = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
if rl > 0 then
  local rc = tonumber(redis.call('GET', KEYS[1]) or '0')
  local rp = tonumber(redis.call('GET', KEYS[2]) or '0')
  if rp * w + rc + 1 > rl then return {1, rp, rc} end
end
if tl > 0 then
  local tc = tonumber(redis.call('GET', KEYS[3]) or '0')
  local tp = tonumber(redis.call('GET', KEYS[4]) or '0')
  if tp * w + tc + cost > tl then return {2, tp, tc} end
end
if rl > 0 then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
if tl > 0 and cost > 0 then
  redis.call('INCRBY', KEYS[3], cost)
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return {0}
"""


class RedisRateLimiter:
    """Counters in Redis, shared by every replica pointed at the same server."""

    def __init__(self, url: str, *, prefix: str = "dozor:rl") -> None:
        import redis.asyncio as aioredis

        self._client: Any = aioredis.from_url(url, socket_timeout=2.0,
                                              socket_connect_timeout=2.0)
        self._admit = self._client.register_script(_ADMIT_LUA)
        self._prefix = prefix

    def _keys(self, key: str, idx: int) -> list[str]:
        base = f"{self._prefix}:{{{key}}}"
        return [f"{base}:r:{idx}", f"{base}:r:{idx - 1}", f"{base}:t:{idx}", f"{base}:t:{idx - 1}"]

    async def admit(self, key: str, limit: RateLimit, tokens: int,
                    now: float | None = None) -> Admission:
        idx, frac = _window(time.time() if now is None else now)
        args: list[int | str] = [limit.requests_per_minute or 0, limit.tokens_per_minute or 0,
                                 max(0, tokens), repr(1.0 - frac), _TTL_MS]
        try:
            out = await self._admit(keys=self._keys(key, idx), args=args)
        except Exception as exc:  # noqa: BLE001 - any backend failure fails open
            _log.warning("rate limiter: Redis unavailable, request admitted: %s",
                         type(exc).__name__)
            return Admission(True, error=True)
        which = int(out[0])
        if which == 0:
            return Admission(True)
        prev, cur = float(out[1]), float(out[2])
        if which == 1:
            assert limit.requests_per_minute
            return Admission(False, "requests",
                             retry_after(prev, cur, 1, limit.requests_per_minute, frac))
        assert limit.tokens_per_minute
        return Admission(False, "tokens",
                         retry_after(prev, cur, tokens, limit.tokens_per_minute, frac))

    async def charge(self, key: str, limit: RateLimit, tokens: int,
                     now: float | None = None) -> None:
        if not limit.tokens_per_minute or tokens <= 0:
            return
        idx, _ = _window(time.time() if now is None else now)
        name = self._keys(key, idx)[2]
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incrby(name, tokens)
                pipe.pexpire(name, _TTL_MS)
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001
            _log.warning("rate limiter: Redis unavailable, tokens not charged: %s",
                         type(exc).__name__)

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except Exception:  # noqa: BLE001
            return False

    async def close(self) -> None:
        await self._client.aclose()


def open_limiter(redis_url: str | None) -> RateLimiter:
    """Redis when a URL is given, else in-memory counters."""
    if redis_url:
        return RedisRateLimiter(redis_url)
    return MemoryRateLimiter()
