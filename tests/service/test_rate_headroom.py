"""`RateLimiter.left`: the headroom `my_record` shows, read without spending a call."""

from __future__ import annotations

import pytest

from app.service.analyze_guard import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_left_reads_the_bucket_without_spending_it() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    assert limiter.left("t", 6, 3) == 3.0  # an unused token has its whole burst
    limiter.take("t", 6, 3)
    limiter.take("t", 6, 3)
    assert limiter.left("t", 6, 3) == pytest.approx(1.0)
    assert limiter.left("t", 6, 3) == pytest.approx(1.0)  # reading twice spends nothing
    clock.now += 5  # 6 a minute: half a call back
    assert limiter.left("t", 6, 3) == pytest.approx(1.5)
    clock.now += 3600
    assert limiter.left("t", 6, 3) == 3.0  # never beyond the burst
    assert [limiter.take("t", 6, 3) == 0.0 for _ in range(4)] == [True, True, True, False]
