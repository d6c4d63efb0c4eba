"""Seed an empty audit store with N synthetic events that `countersign audit verify` accepts.

    python scripts/seed_store.py --url URL --events N [--agents 50] [--days 365] [--end DAY]
                                 [--seed 1]

What it writes: a year (`--days`) of a busy installation's audit chain, ending at `--end`
(default: today, UTC midnight), in seq order with non-decreasing `occurred_at`. Per pull request:
its opening (`agent_pr`, agent PRs only), one to five `evaluation`s with real-sized reports,
reviews (`approval`), pre-flight calls (`analyze_call`), sometimes a `waiver`, then a `merge`
(~76 %), a `bypass_merge` (~2.5 %) or, for a fifth of them and those blocked by policy (2 %), a
close (`pr_closed` for agent PRs); 1 % of merges revert an earlier merged PR, and about every
eighth merge is followed by a `deployment_decision`. 50 agents with skewed activity (the busiest
opens ~10x the PRs of the quietest) and 15 % human PRs (no agent).

How: `seed_mix.py` builds the events and hashes them as `append` would; this module writes them
and sets the head row at the end, then computes the scorecard aggregates from the chain
(`app.store.audit.aggregates.rebuild`, what `countersign audit rebuild-aggregates` runs). PostgreSQL: `COPY … FROM STDIN` in one transaction, with the
table's secondary indexes and unique constraints dropped first and rebuilt from their own
definitions after (sorting once beats 5 M random inserts into the hash indexes), then
`VACUUM (ANALYZE)` (index-only scans then skip the heap, as on a store autovacuum keeps).
SQLite: batched INSERTs in one transaction.

Why a script and not `countersign audit seed`: the CLI is what operators run against production
stores, and fabricating millions of chained events is never a production action; like
`scripts/soak.py`, this is test equipment.

Idempotent on an empty store: it refuses a store that holds any event (nothing is written), and the
same arguments write the same chain. Bounded: at most MAX_EVENTS, streamed in batches (flat
memory). Prints the rate.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from seed_mix import Head, Mix, chained, events  # noqa: E402  (beside this script)

from app.store.audit.aggregates import rebuild  # noqa: E402
from app.store.audit.stream import EVENT_COLUMNS  # noqa: E402
from app.store.db import make_engine  # noqa: E402
from app.store.tables import EVENTS, HEAD  # noqa: E402

MAX_EVENTS = 20_000_000
BATCH = 20_000


class StoreNotEmpty(RuntimeError):
    """The store already holds events: seeding would mix fabricated and real history."""


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        text = text.replace("\r", "\\r")
    return text


def _check_empty(conn: Any) -> None:
    """Under the chain lock: refuse a store whose head or table holds anything."""
    row = conn.execute(sa.select(HEAD.c.seq).where(HEAD.c.id == 1).with_for_update()).first()
    if row is None:
        raise StoreNotEmpty("the chain head row is missing: run `countersign db upgrade` first")
    if int(row.seq) != 0 or conn.execute(sa.select(EVENTS.c.seq).limit(1)).first() is not None:
        raise StoreNotEmpty(
            f"the store already holds {int(row.seq)} events; seed only an empty, migrated store"
        )


_DEFINITIONS = sa.text("""
SELECT 'constraint', c.conname, pg_get_constraintdef(c.oid)
  FROM pg_constraint c WHERE c.conrelid = 'audit_event'::regclass AND c.contype = 'u'
UNION ALL
SELECT 'index', i.relname, pg_get_indexdef(i.oid)
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
 WHERE x.indrelid = 'audit_event'::regclass AND NOT x.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
""")


def _drop_secondary(conn: Any) -> list[tuple[str, str, str]]:
    """Drop audit_event's unique constraints and secondary indexes; their definitions, to rebuild."""
    found = [tuple(r) for r in conn.execute(_DEFINITIONS)]
    for what, name, _ in found:
        if what == "constraint":
            conn.execute(sa.text(f'ALTER TABLE audit_event DROP CONSTRAINT "{name}"'))
        else:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
    return found  # type: ignore[return-value]


def _rebuild(conn: Any, found: list[tuple[str, str, str]]) -> None:
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    for what, name, definition in found:
        if what == "constraint":
            conn.execute(sa.text(f'ALTER TABLE audit_event ADD CONSTRAINT "{name}" {definition}'))
        else:
            conn.execute(sa.text(definition))


def _load_postgres(
    engine: sa.Engine, rows: Iterator[tuple[Any, ...]], head: Head, report: Any
) -> None:
    columns = ", ".join(EVENT_COLUMNS)
    with engine.connect() as conn, conn.begin():
        _check_empty(conn)
        conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        found = _drop_secondary(conn)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY audit_event ({columns}) FROM STDIN") as copy:
            lines: list[str] = []
            for (
                seq,
                kind,
                _moment,
                iso,
                repo,
                pr,
                head_sha,
                agent,
                run,
                payload,
                prev,
                digest,
            ) in rows:
                lines.append(
                    "\t".join(
                        (
                            str(seq),
                            kind,
                            iso,
                            _copy_text(repo),
                            _copy_text(pr),
                            _copy_text(head_sha),
                            _copy_text(agent),
                            _copy_text(run),
                            _copy_text(payload),
                            prev,
                            digest,
                        )
                    )
                    + "\n"
                )
                if len(lines) == BATCH:
                    copy.write("".join(lines))
                    lines.clear()
                    report(seq)
            if lines:
                copy.write("".join(lines))
        report(None)
        _rebuild(conn, found)
        _set_head(conn, head)
        rebuild(conn)  # the scorecard aggregates, as append keeps them, in the same transaction
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            sa.text("VACUUM (ANALYZE) audit_event")
        )


def _load_sqlite(
    engine: sa.Engine, rows: Iterator[tuple[Any, ...]], head: Head, report: Any
) -> None:
    names = (*EVENT_COLUMNS[:3], "_iso", *EVENT_COLUMNS[3:])
    with engine.connect() as conn, conn.begin():
        _check_empty(conn)
        batch: list[dict[str, Any]] = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            del record["_iso"]
            batch.append(record)
            if len(batch) == BATCH:
                conn.execute(sa.insert(EVENTS), batch)
                batch.clear()
                report(row[0])
        if batch:
            conn.execute(sa.insert(EVENTS), batch)
        _set_head(conn, head)
        rebuild(conn)  # the scorecard aggregates, as append keeps them, in the same transaction


def _set_head(conn: Any, head: Head) -> None:
    """Point the head row at the last event written (the verify walk checks it)."""
    conn.execute(
        sa.update(HEAD)
        .where(HEAD.c.id == 1)
        .values(
            seq=head.seq, hash=head.hash, merge_count=head.merge_count, merge_hash=head.merge_hash
        )
    )


@dataclass(frozen=True)
class Seeded:
    events: int
    merges: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def seed(engine: sa.Engine, total: int, mix: Mix, *, progress: bool = False) -> Seeded:
    """Write `total` events of `mix` into the empty store behind `engine`; StoreNotEmpty if not."""
    if not 0 < total <= MAX_EVENTS:
        raise ValueError(f"--events must be between 1 and {MAX_EVENTS:,}")
    head = Head()
    start = time.perf_counter()
    mark = [start]

    def report(seq: int | None) -> None:
        now = time.perf_counter()
        if progress and (seq is None or now - mark[0] > 10):
            mark[0] = now
            done = head.seq if seq is None else seq
            what = "rows sent; rebuilding indexes" if seq is None else "events"
            print(f"  {done:>11,} {what}  {done / (now - start):,.0f}/s", file=sys.stderr)

    rows = chained(events(total, mix), head)
    if engine.dialect.name == "postgresql":
        _load_postgres(engine, rows, head, report)
    else:
        _load_sqlite(engine, rows, head, report)
    return Seeded(head.seq, head.merge_count, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="database URL of a migrated, empty store")
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--end", help="last day (YYYY-MM-DD, UTC); default today")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    mix = Mix(agents=args.agents, days=args.days, seed=args.seed)
    if args.end:
        mix.end = datetime.fromisoformat(args.end).replace(tzinfo=UTC)
    engine = make_engine(args.url)
    try:
        done = seed(engine, args.events, mix, progress=True)
    except StoreNotEmpty as error:
        print(f"seed_store: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(
        f"seeded {done.events:,} events ({done.merges:,} merges) in {done.seconds:.1f} s: "
        f"{done.rate:,.0f} events/s; ending {mix.end.date()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
