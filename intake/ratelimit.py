"""Rate limits on expensive or guessable routes (rendering notices, certificate queries,
the applicant's progress query): a token bucket per API key and one per client address,
so neither one key nor one address behind many keys can hammer them.

A bucket holds up to `burst` tokens and refills at `per_minute` tokens a minute; a request
takes one token or is refused with the seconds until one is back (HTTP 429 with
`Retry-After`, code `rate.limited`). The embedded default keeps the buckets in the process;
with a Redis broker configured the buckets live in Redis (one atomic script per take), so
several API processes share them. Time comes from the runtime's clock (wall time), which
tests move with time-machine instead of sleeping.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from intake.errors import IntakeError


@dataclass(frozen=True)
class Limit:
    """`per_minute` tokens a minute, at most `burst` at once; 0 per minute: no limit."""

    per_minute: int
    burst: int

    @property
    def off(self) -> bool:
        return self.per_minute <= 0


class Limiter(Protocol):
    def take(self, bucket: str, limit: Limit) -> float | None:
        """Take a token from `bucket`; None if granted, else seconds until one is back."""


class MemoryLimiter:
    """Buckets in this process (the embedded default: one API process)."""

    MAX_BUCKETS = 100_000

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # tokens, at
        self._lock = threading.Lock()

    def take(self, bucket: str, limit: Limit) -> float | None:
        rate = limit.per_minute / 60.0
        with self._lock:
            now = self.now()
            tokens, at = self._buckets.get(bucket, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + max(0.0, now - at) * rate)
            if tokens >= 1.0:
                self._remember(bucket, (tokens - 1.0, now))
                return None
            self._remember(bucket, (tokens, now))
            return (1.0 - tokens) / rate

    def _remember(self, bucket: str, state: tuple[float, float]) -> None:
        if len(self._buckets) >= self.MAX_BUCKETS and bucket not in self._buckets:
            self._buckets.clear()  # a flood of addresses: forget, rather than grow forever
        self._buckets[bucket] = state


_TAKE = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class RedisLimiter:
    """Buckets in Redis, shared by every API process (one Lua script per take)."""

    def __init__(self, url: str, now: Callable[[], float], *,
                 prefix: str = "docintake:ratelimit:") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.script = self.client.register_script(_TAKE)
        self.now = now
        self.prefix = prefix

    def take(self, bucket: str, limit: Limit) -> float | None:
        wait = float(self.script(keys=[self.prefix + bucket],
                                 args=[limit.burst, limit.per_minute / 60.0, self.now()]))
        return wait if wait > 0 else None


class RateLimits:
    """The limits of one deployment: which route class allows how much, per key and per
    client address (an address gets `address_factor` times a key's allowance: several
    clerks may sit behind one address)."""

    def __init__(self, limiter: Limiter, limits: dict[str, Limit], *,
                 address_factor: int = 4) -> None:
        self.limiter = limiter
        self.limits = limits
        self.address_factor = address_factor

    def check(self, route_class: str, *, key_id: int | None, address: str) -> None:
        """Take a token for the key and one for the address; 429 if either is empty."""
        limit = self.limits.get(route_class)
        if limit is None or limit.off:
            return
        waits = []
        if key_id is not None:
            waits.append(self.limiter.take(f"{route_class}:key:{key_id}", limit))
        wide = Limit(limit.per_minute * self.address_factor, limit.burst * self.address_factor)
        waits.append(self.limiter.take(f"{route_class}:addr:{address}", wide))
        longest = max((w for w in waits if w is not None), default=None)
        if longest is not None:
            seconds = max(1, math.ceil(longest))
            raise IntakeError("rate.limited", seconds=seconds,
                              headers={"Retry-After": str(seconds)})
