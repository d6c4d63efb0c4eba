"""Store-scale benchmark: the console, scorecard, export and verify reads over a seeded store.

    python scripts/seed_store.py --url URL --events 5000000      # once, into an empty database
    python bench/store_scale.py --url URL [--runs 5] [--heavy-runs 1] [--explain] [--json]

Calls the functions the console routes and the CLI call, by name, each against its bare-SQL
baseline in the same run (min and median of `--runs`; the whole-store reads `--heavy-runs`):
- Merges page: `merges_page` (page 1, page 40, an agent filter) vs the bare `… WHERE kind IN
  (merge kinds) ORDER BY seq DESC LIMIT 25`; target <= 100 ms.
- Agents page: the two `agent_scorecards` calls of the `/console/agents` route (all time without
  rule classes, 30 days with them) vs a bare `GROUP BY agent_id, kind` count; target <= 200 ms.
- One evaluation's read of its agent's record: `agent_history` for the busiest agent (30- and
  90-day ramp windows) vs a bare count of that agent's merges in 90 days; target <= 20 ms.
- Scorecards for 50 agents: `agent_scorecards` over 30 days (per agent and rule class) vs a bare
  count over the same window; target <= 300 ms.
- Export: every merge through `export_merges` (JSONL, CSV), records/s and RSS sampled every 10,000
  records, vs a bare stream of the same rows; target >= 50,000 records/s, flat memory.
- `verify_chain`: events/s and RSS, vs a bare stream of every row; target >= 100,000 events/s.
With `--explain`, each SQL statement those functions sent (captured from the engine) is run again
under `EXPLAIN (ANALYZE, BUFFERS)` and its plan printed. The 1-minute load average is recorded
before each figure: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.agentops.scorecard import Window  # noqa: E402
from app.console.pages import ALL_TIME  # noqa: E402
from app.console.queries import MergeFilter, distinct_values, merges_page  # noqa: E402
from app.store.audit.agent_events import agent_scorecards  # noqa: E402
from app.store.audit.agent_record import agent_history  # noqa: E402
from app.store.audit.export import export_merges  # noqa: E402
from app.store.audit.verify import verify_chain  # noqa: E402
from app.store.db import make_engine  # noqa: E402

MERGES = "kind IN ('merge', 'bypass_merge')"


def rss_mib() -> float:
    """This process's resident set size now (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Figure:
    name: str
    walls: list[float] = field(default_factory=list)
    load: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "min_ms": round(min(self.walls) * 1000, 1),
            "median_ms": round(statistics.median(self.walls) * 1000, 1),
            "runs": len(self.walls),
            "load1": round(self.load, 2),
            **self.extra,
        }


def timed(name: str, work: Callable[[], Any], runs: int) -> tuple[Figure, Any]:
    figure, result = Figure(name, load=os.getloadavg()[0]), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        figure.walls.append(time.perf_counter() - start)
    return figure, result


def bare(engine: sa.Engine, sql: str, **params: Any) -> Callable[[], list[Any]]:
    def run() -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    return run


def bare_stream(engine: sa.Engine, sql: str) -> Callable[[], int]:
    """Rows through a server-side cursor, touched and dropped: what streaming costs alone."""

    def run() -> int:
        count = 0
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5_000).execute(
                sa.text(sql)
            )
            for _row in result:
                count += 1
        return count

    return run


@contextmanager
def captured(engine: sa.Engine, into: list[tuple[str, Any]]) -> Iterator[None]:
    """Record every statement sent while the block runs (for EXPLAIN)."""

    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        into.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


def explain(engine: sa.Engine, label: str, work: Callable[[], Any]) -> list[str]:
    statements: list[tuple[str, Any]] = []
    with captured(engine, statements):
        work()
    out = [f"### {label}"]
    seen: set[str] = set()
    for statement, params in statements:
        if statement in seen or not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        seen.add(statement)
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            out += [" ".join(statement.split())[:400], *(f"    {r[0]}" for r in plan), ""]
    return out


def streamed(lines: Iterator[str], framing: int) -> tuple[int, list[float]]:
    """Consume an export; (records, RSS samples in MiB every 10,000 lines). `framing`: the
    lines that are not records (header, CSV column names, footer)."""
    samples: list[float] = [rss_mib()]
    count = 0
    for _line in lines:
        count += 1
        if count % 10_000 == 0:
            samples.append(rss_mib())
    return count - framing, samples


def _pages(engine: sa.Engine, agent: str, runs: int) -> list[Figure]:
    base = f"SELECT seq, kind, payload FROM audit_event WHERE {MERGES}"
    figures = []

    def route() -> Any:  # what GET /console/merges reads: the page and the form's choices
        page = merges_page(engine, MergeFilter(), 1)
        return page, distinct_values(engine, "repo"), distinct_values(engine, "agent_id")

    for name, work in (
        ("merges route reads (page 1 + filter choices)", route),
        ("merges page 1", lambda: merges_page(engine, MergeFilter(), 1)),
        ("merges page 40", lambda: merges_page(engine, MergeFilter(), 40)),
        (f"merges page 1, agent {agent}", lambda: merges_page(engine, MergeFilter(agent=agent))),
        ("  baseline: bare page SQL", bare(engine, base + " ORDER BY seq DESC LIMIT 25")),
        (
            "  baseline: bare count of merges",
            bare(engine, f"SELECT count(*) FROM audit_event WHERE {MERGES}"),
        ),
    ):
        figures.append(timed(name, work, runs)[0])
    return figures


def _agents(engine: sa.Engine, now: datetime, runs: int, heavy: int) -> list[Figure]:
    def page() -> Any:
        totals = agent_scorecards(engine, Window(since=ALL_TIME, until=now), by_class=False)
        cards = agent_scorecards(engine, Window(since=now - timedelta(days=30), until=now))
        return totals, cards

    def fifty() -> Any:
        return agent_scorecards(engine, Window(since=now - timedelta(days=30), until=now))

    counts = "SELECT agent_id, kind, count(*) FROM audit_event WHERE agent_id IS NOT NULL"
    since = (now - timedelta(days=30)).isoformat()
    agents_page, (totals, _) = timed("agents page (route's two agent_scorecards)", page, heavy)
    agents_page.extra["agents"] = len(totals)
    cards, result = timed("scorecards, 50 agents x rule class, 30 days", fifty, heavy)
    cards.extra["scorecards"] = len(result)
    return [
        agents_page,
        timed(
            "  baseline: bare GROUP BY agent, kind", bare(engine, counts + " GROUP BY 1, 2"), runs
        )[0],
        cards,
        timed(
            "  baseline: bare GROUP BY agent, kind, 30 days",
            bare(engine, counts + f" AND occurred_at >= '{since}' GROUP BY 1, 2"),
            runs,
        )[0],
    ]


def _record(engine: sa.Engine, agent: str, now: datetime, runs: int) -> list[Figure]:
    with engine.connect() as conn:
        opening = conn.execute(
            sa.text("SELECT max(seq) FROM audit_event WHERE kind = 'agent_pr' AND agent_id = :a"),
            {"a": agent},
        ).scalar_one()

    def read() -> Any:
        return agent_history(
            engine, agent_id=agent, repo="acme/svc-00", pr=0, opening_seq=opening + 1,
            windows=[30, 90], now=now,
        )  # fmt: skip

    since = (now - timedelta(days=90)).isoformat()
    return [
        timed(f"agent_history({agent}, windows 30+90 d)", read, runs)[0],
        timed(
            "  baseline: bare count of its merges, 90 days",
            bare(
                engine,
                f"SELECT count(*) FROM audit_event WHERE agent_id = :a AND {MERGES} "
                f"AND occurred_at >= '{since}'",
                a=agent,
            ),
            runs,
        )[0],
    ]


def _exports(engine: sa.Engine, heavy: int) -> list[Figure]:
    figures = []
    for fmt, framing in (("jsonl", 2), ("csv", 3)):
        figure, (count, rss) = timed(
            f"export_merges {fmt}",
            lambda f=fmt, n=framing: streamed(export_merges(engine, fmt=f), n),
            heavy,
        )
        figure.extra |= _rate(figure, count, "records") | _rss(rss)
        figures.append(figure)
    stream = bare_stream(
        engine,
        "SELECT seq, kind, occurred_at, repo, pr_number, head_sha, agent_id, run_id, payload, "
        f"prev_hash, hash FROM audit_event WHERE {MERGES} ORDER BY seq",
    )
    figure, count = timed("  baseline: bare stream of the merge rows", stream, heavy)
    figures.append(figure)
    figure.extra |= _rate(figure, count, "records")
    return figures


def _verify(engine: sa.Engine, heavy: int) -> list[Figure]:
    rss: list[float] = []

    def run() -> Any:
        rss.append(rss_mib())
        return verify_chain(
            engine, progress=lambda n: rss.append(rss_mib()) if n % 100_000 == 0 else None
        )

    figure, result = timed("verify_chain", run, heavy)
    if not result.ok:
        raise SystemExit(f"the seeded chain does not verify: {result.reason}")
    figure.extra |= _rate(figure, result.count, "events") | _rss(rss)
    stream = bare_stream(
        engine,
        "SELECT seq, kind, occurred_at, repo, pr_number, head_sha, agent_id, run_id, payload, "
        "prev_hash, hash FROM audit_event ORDER BY seq",
    )
    base, count = timed("  baseline: bare stream of every row", stream, heavy)
    base.extra |= _rate(base, count, "events")
    return [figure, base]


def _rate(figure: Figure, count: int, unit: str) -> dict[str, Any]:
    return {unit: count, f"{unit}_per_s_median": round(count / statistics.median(figure.walls))}


def _rss(samples: list[float]) -> dict[str, Any]:
    return {"rss_mib_first": round(samples[0]), "rss_mib_max": round(max(samples))}


def median_agent(engine: sa.Engine) -> str:
    """The agent in the middle by PR openings (a typical agent, where the busiest is the worst)."""
    with engine.connect() as conn:
        agents = (
            conn.execute(
                sa.text(
                    "SELECT agent_id FROM audit_event WHERE kind = 'agent_pr' "
                    "GROUP BY agent_id ORDER BY count(*) DESC"
                )
            )
            .scalars()
            .all()
        )
    return str(agents[len(agents) // 2])


def busiest_agent(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                sa.text(
                    "SELECT agent_id FROM audit_event WHERE kind = 'agent_pr' "
                    "GROUP BY agent_id ORDER BY count(*) DESC LIMIT 1"
                )
            ).scalar_one()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="a seeded store (scripts/seed_store.py)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heavy-runs", type=int, default=1)
    parser.add_argument("--only", default="pages,record,agents,export,verify")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    engine = make_engine(args.url)
    with engine.connect() as conn:
        events = conn.execute(sa.text("SELECT seq FROM audit_head")).scalar_one()
        last = conn.execute(sa.text("SELECT max(occurred_at) FROM audit_event")).scalar_one()
    now = last + timedelta(minutes=1)
    agent = busiest_agent(engine)
    only = set(args.only.split(","))
    if args.explain:
        print("\n".join(_explain_all(engine, agent, now, only)))
        return
    figures: list[Figure] = []
    steps: dict[str, Callable[[], list[Figure]]] = {
        "pages": lambda: _pages(engine, agent, args.runs),
        "record": lambda: [
            *_record(engine, agent, now, args.runs),
            *_record(engine, median_agent(engine), now, args.runs),
        ],
        "agents": lambda: _agents(engine, now, args.runs, args.heavy_runs),
        "export": lambda: _exports(engine, args.heavy_runs),
        "verify": lambda: _verify(engine, args.heavy_runs),
    }
    for key, step in steps.items():
        if key in only:
            for figure in step():
                figures.append(figure)
                if not args.json:
                    print(json.dumps(figure.row()), flush=True)
    if args.json:
        print(
            json.dumps(
                {"events": events, "now": now.isoformat(), "figures": [f.row() for f in figures]}
            )
        )


def _explain_all(engine: sa.Engine, agent: str, now: datetime, only: set[str]) -> list[str]:
    month = Window(since=now - timedelta(days=30), until=now)
    out: list[str] = []
    if "pages" in only:
        out += explain(engine, "merges_page 1", lambda: merges_page(engine, MergeFilter(), 1))
        out += explain(engine, "merges_page 40", lambda: merges_page(engine, MergeFilter(), 40))
        out += explain(engine, "filter choices", lambda: distinct_values(engine, "agent_id"))
        out += explain(
            engine, "merges_page agent", lambda: merges_page(engine, MergeFilter(agent=agent))
        )
    if "record" in only:
        out += explain(engine, "agent_history", lambda: agent_history(
            engine, agent_id=agent, repo="acme/svc-00", pr=0, opening_seq=10**12,
            windows=[30, 90], now=now))  # fmt: skip
    if "agents" in only:
        out += explain(engine, "agent_scorecards 30 days", lambda: agent_scorecards(engine, month))
    if "export" in only:
        out += explain(engine, "export_merges", lambda: list(export_merges(engine)))
    if "verify" in only:
        out += explain(engine, "verify_chain", lambda: verify_chain(engine))
    return out


if __name__ == "__main__":
    main()
