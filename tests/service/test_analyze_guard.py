"""The pre-flight API's rate limiter (stepped clock) and bounded runner (work held by an event)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.service.analyze_guard import (
    BoundedRunner,
    DeadlineExceeded,
    RateLimiter,
    RunnerBusy,
    retry_after_header,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    assert [limiter.take("t1", 6, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("t1", 6, 3)
    assert wait == pytest.approx(10.0)  # 6 a minute: one every 10 s
    assert retry_after_header(wait) == "10"
    assert limiter.take("t2", 6, 3) == 0.0  # buckets are per token
    clock.now += 4
    assert limiter.take("t1", 6, 3) == pytest.approx(6.0)
    clock.now += 6
    assert limiter.take("t1", 6, 3) == 0.0
    clock.now += 3600  # refills up to the burst, never beyond
    assert [limiter.take("t1", 6, 3) == 0.0 for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(2.2) == "3"


def wait_until_idle(runner: BoundedRunner) -> None:
    done = threading.Event()
    while runner.in_flight:
        done.wait(0.01)


def test_runner_answers_at_the_deadline_and_keeps_the_slot_until_the_work_ends() -> None:
    runner = BoundedRunner(slots=1, deadline_seconds=0.05)
    release = threading.Event()
    started = threading.Event()

    def held() -> str:
        started.set()
        release.wait(30)
        return "late"

    try:
        with pytest.raises(DeadlineExceeded, match=r"within 0\.05 s"):
            asyncio.run(runner.run(held))
        assert started.is_set() and runner.in_flight == 1
        # The overrunning evaluation still holds the only slot: the next call is refused at once.
        with pytest.raises(RunnerBusy) as busy:
            asyncio.run(runner.run(lambda: "quick"))
        assert busy.value.retry_after == 0.05
        release.set()
        wait_until_idle(runner)
        assert asyncio.run(runner.run(lambda: "quick")) == "quick"
    finally:
        release.set()
        runner.close()


def test_runner_passes_the_works_errors_through() -> None:
    runner = BoundedRunner(slots=2, deadline_seconds=5)

    def broken() -> None:
        raise ValueError("bad input")

    try:
        with pytest.raises(ValueError, match="bad input"):
            asyncio.run(runner.run(broken))
        wait_until_idle(runner)
        assert runner.in_flight == 0
    finally:
        runner.close()
