"""A worker process for the cross-process rate-limit test (spawned children import it by name)."""

from __future__ import annotations

from typing import Any

from app.config.settings import Settings
from app.service.app import build_runtime
from app.service.worker import WorkerPool


def run_worker(settings: Settings, ready: Any, stop: Any, results: Any) -> None:
    """Run one inbox worker against the shared database until `stop`; report what it did."""
    rt = build_runtime(settings)
    pool = WorkerPool(rt, workers=1)
    pool.start()
    ready.set()
    stop.wait(120)
    pool.stop()
    done = rt.metrics.registry.get_sample_value(
        "countersign_deliveries_processed_total", {"event": "pull_request", "outcome": "done"}
    )
    results.put(int(done or 0))
    rt.engine.dispose()
