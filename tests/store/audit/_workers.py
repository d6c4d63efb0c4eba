"""Process entry points for the concurrency tests (imported by spawned children by name)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.store.audit.store import append
from app.store.db import make_engine

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"


def append_many(url: str, writer: int, count: int, barrier: Any) -> None:
    """Append `count` events (every third a merge) as fast as possible once all writers start."""
    merge = json.loads((FIXTURES / "merge_pricing.json").read_text())
    engine = make_engine(url)
    barrier.wait(timeout=60)
    for i in range(count):
        if i % 3 == 0:
            record = {**merge, "pr": writer * 1000 + i, "merged_at": datetime.now(UTC).isoformat()}
            append(engine, "merge", record)
        else:
            append(
                engine,
                "evaluation",
                {"writer": writer, "i": i},
                repo="acme/catalog",
                pr_number=writer * 1000 + i,
            )
    engine.dispose()
