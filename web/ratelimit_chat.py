"""A small per-session limiter for the browser chat (keeps one browser from flooding)."""

from __future__ import annotations

import time
from collections import OrderedDict


class SessionLimiter:
    """Token bucket per key: ``rate`` inputs per second with bursts of ``burst``."""

    def __init__(self, *, rate: float = 2.0, burst: int = 20, max_keys: int = 100_000):
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Whether one more input from ``key`` is allowed now."""
        moment = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (float(self.burst), moment))
        tokens = min(float(self.burst), tokens + (moment - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, moment)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed
