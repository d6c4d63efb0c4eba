"""Process entry point for the inbox concurrency test (imported by spawned children by name)."""

from __future__ import annotations

from typing import Any

from app.store.db import make_engine
from app.store.inbox import claim, complete


def claim_until_empty(url: str, worker_id: str, barrier: Any, results: Any) -> None:
    """Claim in small batches until the queue is empty; report every id this worker got."""
    engine = make_engine(url)
    barrier.wait(timeout=60)
    got: list[str] = []
    while batch := claim(engine, worker_id, lease_seconds=300, limit=3):
        for delivery in batch:
            got.append(delivery.id)
            assert complete(engine, delivery.id, worker_id)
    results.put((worker_id, got))
    engine.dispose()
