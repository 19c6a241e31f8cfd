"""The per-client token bucket of public pages."""

from __future__ import annotations

import pytest

from web.ratelimit import RateLimiter


class Clock:
    """A hand-moved clock, so refills are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=60, per=60, burst=20, clock=clock)
    assert [limiter.take("a") for _ in range(20)] == [0.0] * 20
    wait = limiter.take("a")
    assert wait == pytest.approx(1.0)
    assert limiter.retry_after(wait) == 1
    assert limiter.take("b") == 0.0  # other clients are not affected
    clock.now += 1.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    clock.now += 3600
    assert [limiter.take("a") for _ in range(20)] == [0.0] * 20  # never more than the burst
    assert limiter.take("a") > 0


def test_memory_is_bounded() -> None:
    limiter = RateLimiter(rate=1, per=60, burst=1, max_keys=100, clock=Clock())
    for index in range(1000):
        limiter.take(f"10.0.{index // 256}.{index % 256}")
    assert len(limiter) == 100


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
