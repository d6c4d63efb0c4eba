"""Process entry point for the aggregates' concurrency test (imported by spawned children)."""

from __future__ import annotations

from typing import Any

from app.store.db import make_engine
from tests.store.audit.aggregate_history import Op, write


def append_ops(url: str, writer: int, count: int, barrier: Any) -> None:
    """Append `count` events of one agent on one day (all writers hit the same counter rows):
    evaluations that fail then pass, merges with a cost and a latency."""
    engine = make_engine(url)
    barrier.wait(timeout=60)
    for i in range(count):
        pr = writer * 1000 + i // 3
        if i % 3 == 0:
            write(
                engine, Op("evaluation", "docs-bot", "acme/web", pr, 60, "failure", ("pricing.x",))
            )
        elif i % 3 == 1:
            write(
                engine, Op("evaluation", "docs-bot", "acme/web", pr, 120, "success", ("pricing.x",))
            )
        else:
            write(engine, Op("merge", "docs-bot", "acme/web", pr, 180, ("pricing.x",), cost="0.10",
                             latency=60))  # fmt: skip
    engine.dispose()
