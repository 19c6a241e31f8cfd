"""A small in-memory token bucket per client, for public pages that query the database.

Per process: behind a load balancer each ``pmd serve`` process keeps its own buckets,
so the effective limit is the per-process limit times the number of processes.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """``rate`` requests per ``per`` seconds per key, with bursts of up to ``burst``."""

    def __init__(
        self,
        *,
        rate: float = 60,
        per: float = 60.0,
        burst: int = 20,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        if rate <= 0 or per <= 0 or burst < 1:
            raise ValueError("rate, per and burst must be positive")
        self.refill = rate / per  # tokens per second
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        # key -> (tokens left, moment of the last update); oldest first, for eviction.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0 when allowed, else seconds to wait."""
        now = self._clock()
        tokens, since = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.refill)
        if tokens >= 1:
            self._remember(key, tokens - 1, now)
            return 0.0
        self._remember(key, tokens, now)
        return (1 - tokens) / self.refill

    def retry_after(self, wait: float) -> int:
        """Whole seconds for a ``Retry-After`` header (at least 1)."""
        return max(1, math.ceil(wait))

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        # A full bucket refills in burst/refill seconds; forgetting the oldest keys
        # when memory is bounded only ever lets a client in earlier, never later.
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)
