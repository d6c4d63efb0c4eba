"""What stands between the public pre-flight API and the CPU: a per-token rate limit and a bounded
evaluation runner with a deadline.

- `RateLimiter`: a token bucket per API token (refill `per_minute / 60` a second, up to `burst`);
  a refused call learns when the next call will be allowed (`Retry-After`). The clock is injected,
  so tests step time instead of sleeping. Buckets live in this process: with several web
  processes each allows the rate (see docs/SECURITY.md).
- `BoundedRunner`: at most `slots` evaluations at once, each in a worker thread. A call that
  finds every slot taken is refused at once (never queued behind slow work), and a caller whose
  evaluation passes the deadline gets its answer (503) at the deadline. Python cannot stop a
  thread, so an evaluation that overran keeps its slot until it ends: CPU spent on pre-flights
  is bounded by `slots` threads whatever callers do, and the input caps bound each evaluation.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from app.config.settings import Settings

T = TypeVar("T")


class RunnerRefused(Exception):
    """The runner did not produce a result in time; `retry_after` is a hint in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RunnerBusy(RunnerRefused):
    """Every evaluation slot is taken."""


class DeadlineExceeded(RunnerRefused):
    """The evaluation did not finish before the deadline."""


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1 (RFC 9110 delay-seconds)."""
    return str(max(1, math.ceil(seconds)))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by API token fingerprint (bounded: only registered tokens get one)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: float, burst: int) -> float:
        """Spend one call: 0.0 when allowed, else the seconds until one is available."""
        rate = per_minute / 60.0
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(tokens=float(burst), updated=now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(burst), bucket.tokens + elapsed * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def left(self, key: str, per_minute: float, burst: int) -> float:
        """Calls this key could make now, without spending one (`my_record` shows it)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return float(burst)
            elapsed = max(0.0, self._clock() - bucket.updated)
            return min(float(burst), bucket.tokens + elapsed * per_minute / 60.0)


class BoundedRunner:
    """Run blocking work in at most `slots` threads, answering callers by `deadline_seconds`."""

    def __init__(self, slots: int, deadline_seconds: float) -> None:
        self.slots = slots
        self.deadline_seconds = deadline_seconds
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="analyze")
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Evaluations still running, including those whose caller already got a 503."""
        with self._lock:
            return self._in_flight

    def _release(self, _future: Future[Any]) -> None:
        with self._lock:
            self._in_flight -= 1

    async def run(self, work: Callable[[], T]) -> T:
        """`work()`'s result; RunnerBusy when no slot is free, DeadlineExceeded after the deadline.

        Exceptions raised by `work` reach the caller unchanged.
        """
        with self._lock:
            if self._in_flight >= self.slots:
                raise RunnerBusy(
                    f"all {self.slots} pre-flight evaluation slots are busy",
                    self.deadline_seconds,
                )
            self._in_flight += 1
        try:
            future: Future[T] = self._executor.submit(work)
        except BaseException:
            with self._lock:
                self._in_flight -= 1
            raise
        future.add_done_callback(self._release)
        try:
            # On timeout wait_for cancels the asyncio wrapper only: the thread runs on, holding its
            # slot, and its late result is dropped.
            return await asyncio.wait_for(asyncio.wrap_future(future), self.deadline_seconds)
        except TimeoutError:
            raise DeadlineExceeded(
                f"the evaluation did not finish within {self.deadline_seconds:g} s",
                self.deadline_seconds,
            ) from None

    def close(self) -> None:
        """Stop taking work; running evaluations end on their own (threads cannot be killed)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


class AnalyzeGuard:
    """The pre-flight API's limits for one process, built from the settings."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = settings.analyze_max_bytes
        self.max_files = settings.analyze_max_files
        self.per_minute = settings.analyze_rate_per_minute
        self.burst = settings.analyze_burst
        self.limiter = RateLimiter(clock)
        self.runner = BoundedRunner(settings.analyze_concurrency, settings.analyze_deadline_seconds)
