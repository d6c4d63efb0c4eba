"""Scorecards from the daily aggregates vs the full scan, on bench/scorecard.py's busy store.

    python bench/aggregates.py [--events N] [--postgres URL] [--json]

Loads the store (bulk, as bench/scorecard.py does), rebuilds the aggregates from the chain
(timed: what `countersign audit rebuild-aggregates` and migration 0004 cost), then, median of 3
runs each, on the same store:
1. the Agents page's two reads: all-time per agent, and 30 days per agent × rule class, from the
   aggregates (`agent_scorecards`) and from every event (`scan_scorecards`);
2. baseline: a bare `SELECT agent_id, kind, COUNT(*) … GROUP BY` over the window's events;
3. appends: evaluations and merges through `store.append`, with the aggregates kept and with
   their hook replaced by a no-op (what keeping them adds to an append).
It checks that both paths give the same scorecards (latency within its 2.2 %).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.agentops.scorecard import Scorecard, Window  # noqa: E402
from app.demo.loadkit import temporary_schema  # noqa: E402
from app.store.audit import aggregates, store  # noqa: E402
from app.store.audit.agent_events import agent_scorecards, scan_scorecards  # noqa: E402
from app.store.db import make_engine, upgrade  # noqa: E402
from bench.scorecard import NOW, events, load, timed  # noqa: E402

LATENCY = {"approval_latency_p50_seconds", "approval_latency_p90_seconds"}
APPENDS = 300


def _page(engine: sa.Engine, read: Any) -> tuple[list[Scorecard], list[Scorecard]]:
    """The Agents page's two reads (app/console/pages.py)."""
    all_time = Window(datetime(2000, 1, 1, tzinfo=UTC), NOW + timedelta(days=1))
    month = Window(NOW - timedelta(days=30), NOW + timedelta(days=1))
    return read(engine, all_time, by_class=False), read(engine, month)


def _same(a: list[Scorecard], b: list[Scorecard]) -> bool:
    if [c.model_dump(exclude=LATENCY) for c in a] != [c.model_dump(exclude=LATENCY) for c in b]:
        return False
    for x, y in zip(a, b, strict=True):
        for name in LATENCY:
            u, v = getattr(x, name), getattr(y, name)
            if (u is None) != (v is None) or (u is not None and abs(u - v) > 0.022 * u + 1):
                return False
    return True


def _appends(engine: sa.Engine) -> float:
    """Seconds per append of the bench's evaluation and merge events (fresh PR numbers)."""
    sample = [e for e in events(6 * APPENDS) if e["kind"] in ("evaluation", "merge")][:APPENDS]

    def run() -> None:
        for e in sample:
            cols = {k: e.get(k) for k in ("repo", "head_sha", "agent_id", "run_id")}
            store.append(engine, e["kind"], e["payload"], occurred_at=e["occurred_at"],
                         pr_number=(e["pr_number"] or 0) + 10_000_000, **cols)  # fmt: skip

    wall, _cpu, _ = timed(run, runs=1)
    return wall / len(sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL: run in a throwaway schema there")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = f"sqlite:///{Path(tmp) / 'aggregates.db'}"
        if args.postgres:
            url = stack.enter_context(temporary_schema(args.postgres, prefix="bench"))
        upgrade(url)
        engine = make_engine(url)
        count = load(engine, args.events)
        rebuild_wall, _cpu, rebuilt = timed(lambda: aggregates.rebuild_aggregates(engine), runs=1)
        agg_wall, _cpu, agg_cards = timed(lambda: _page(engine, agent_scorecards))
        scan_wall, _cpu, scan_cards = timed(lambda: _page(engine, scan_scorecards))
        query = sa.text(
            "SELECT agent_id, kind, COUNT(*) FROM audit_event WHERE occurred_at >= :since "
            "GROUP BY agent_id, kind"
        )

        def bare() -> list[Any]:
            with engine.connect() as conn:
                since = NOW - timedelta(days=30)
                if engine.dialect.name == "sqlite":
                    since = since.replace(tzinfo=None)
                return list(conn.execute(query, {"since": since}))

        bare_wall, _cpu, _ = timed(bare)
        kept = _appends(engine)
        real = aggregates.record
        aggregates.record = lambda *a, **k: None  # type: ignore[assignment]
        try:
            without = _appends(engine)
        finally:
            aggregates.record = real  # type: ignore[assignment]
        engine.dispose()
    result = {
        "database": url.split(":", 1)[0],
        "events": count,
        "rebuild_wall_s": round(rebuild_wall, 2),
        "rebuild_rows": rebuilt.rows,
        "agents_page_aggregates_wall_ms": round(agg_wall * 1000, 1),
        "agents_page_scan_wall_ms": round(scan_wall * 1000, 1),
        "bare_count_wall_ms": round(bare_wall * 1000, 1),
        "speedup": round(scan_wall / agg_wall, 1),
        "same_scorecards": _same(agg_cards[0], scan_cards[0])
        and _same(agg_cards[1], scan_cards[1]),
        "append_with_aggregates_ms": round(kept * 1000, 2),
        "append_without_aggregates_ms": round(without * 1000, 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>32}: {value}")


if __name__ == "__main__":
    main()
