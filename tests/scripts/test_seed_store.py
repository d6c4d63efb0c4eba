"""The store seeder: a seeded chain verifies, its merges export and re-verify, it refuses a store
that holds events, and on PostgreSQL the indexes it drops for the load come back as they were."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from app.store.aggregate_tables import AGENT_DAY, AGGREGATE_TABLES
from app.store.audit.aggregates import rebuild_aggregates
from app.store.audit.chain import GENESIS_HASH, MERGE_KINDS, canonical_json
from app.store.audit.export import export_merges
from app.store.audit.records import EvaluationRecord, MergeRecord
from app.store.audit.store import append, chain_head
from app.store.audit.verify import verify_chain, verify_export
from app.store.tables import EVENTS, HEAD

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 6, 1, tzinfo=UTC)


def _load() -> ModuleType:
    """`scripts/` is not a package: load the module by path."""
    spec = importlib.util.spec_from_file_location("seed_store", ROOT / "scripts" / "seed_store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["seed_store"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


seeder = _load()


def _mix(**kwargs: object) -> object:
    return seeder.Mix(end=END, **kwargs)


def test_a_seeded_store_verifies_and_its_head_names_the_last_event(db_engine: sa.Engine) -> None:
    done = seeder.seed(db_engine, 1_500, _mix())
    result = verify_chain(db_engine)
    assert result.ok, result.reason
    assert result.count == done.events == 1_500
    with db_engine.connect() as conn:
        head = conn.execute(sa.select(HEAD)).one()
        merges = conn.execute(
            sa.select(sa.func.count()).where(EVENTS.c.kind.in_(MERGE_KINDS))
        ).scalar_one()
    assert int(head.seq) == 1_500
    assert int(head.merge_count) == merges == done.merges > 0
    # The scorecard aggregates were computed as append keeps them: a rebuild writes the same.
    with db_engine.connect() as conn:
        kept = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in AGGREGATE_TABLES}  # fmt: skip
    assert kept[AGENT_DAY.name] > 0 and rebuild_aggregates(db_engine).rows == kept
    # The real append path continues the seeded chain, and the whole still verifies.
    append(db_engine, "analyze_call", {"outcome": "ok", "status": 200}, agent_id="agent-01")
    assert verify_chain(db_engine).count == 1_501


def test_the_mix_is_realistic_and_payloads_are_canonical_records(db_engine: sa.Engine) -> None:
    seeder.seed(db_engine, 3_000, _mix(agents=50))
    with db_engine.connect() as conn:
        rows = conn.execute(
            sa.select(EVENTS.c.kind, EVENTS.c.agent_id, EVENTS.c.occurred_at, EVENTS.c.payload)
            .order_by(EVENTS.c.seq)
        ).all()  # fmt: skip
    kinds = Counter(r.kind for r in rows)
    assert set(kinds) >= {"agent_pr", "evaluation", "approval", "merge", "pr_closed", "waiver",
                          "analyze_call", "deployment_decision"}  # fmt: skip
    assert kinds["evaluation"] > kinds["merge"] > kinds["pr_closed"] > kinds["waiver"]
    assert len({r.agent_id for r in rows if r.agent_id}) > 30
    assert any(r.agent_id is None for r in rows if r.kind == "evaluation")  # human PRs too
    times = [r.occurred_at for r in rows]
    assert times == sorted(times)
    assert (times[-1] - times[0]).days > 300
    for row in rows:
        assert canonical_json(json.loads(row.payload)) == row.payload
        assert "@@" not in row.payload
        if row.kind in MERGE_KINDS:
            MergeRecord.model_validate_json(row.payload)
        elif row.kind == "evaluation":
            EvaluationRecord.model_validate_json(row.payload)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_export_of_a_seeded_store_streams_and_verifies(
    db_engine: sa.Engine, tmp_path: Path, fmt: str
) -> None:
    done = seeder.seed(db_engine, 2_000, _mix())
    path = tmp_path / f"merges.{fmt}"
    seen: list[int] = []
    lines = export_merges(db_engine, fmt=fmt, progress=seen.append)  # type: ignore[arg-type]
    first = next(lines)  # a generator: the header comes before any row is read
    assert "_countersign_export" in first
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(first)
        handle.writelines(lines)
    result = verify_export(path)
    assert result.ok, result.reason
    assert result.count == done.merges == seen[-1]


def test_it_refuses_a_store_that_holds_events(db_engine: sa.Engine) -> None:
    append(db_engine, "analyze_call", {"outcome": "ok", "status": 200}, agent_id="a")
    before = chain_head(db_engine)
    with pytest.raises(seeder.StoreNotEmpty, match="already holds 1 events"):
        seeder.seed(db_engine, 100, _mix())
    assert chain_head(db_engine) == before


def test_the_same_arguments_write_the_same_chain() -> None:
    def last_hash(seed: int) -> str:
        head = seeder.Head()
        for _ in seeder.chained(seeder.events(800, _mix(seed=seed)), head):
            pass
        assert head.seq == 800
        return str(head.hash)

    assert last_hash(1) == last_hash(1) != last_hash(2)
    assert last_hash(1) != GENESIS_HASH


def test_it_is_bounded(db_engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="between 1 and"):
        seeder.seed(db_engine, seeder.MAX_EVENTS + 1, _mix())


def _shape(definition: tuple[str, str, str]) -> tuple[str, str, str, list[str]]:
    what, name, text = definition
    columns, _, predicate = text.partition(" WHERE ")
    return what, name, columns, sorted(re.findall(r"'([^']*)'", predicate))


@pytest.mark.postgres
def test_postgres_indexes_and_unique_constraints_are_rebuilt_as_they_were(pg_url: str) -> None:
    from app.store.db import make_engine, upgrade

    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            before = sorted(tuple(r) for r in conn.execute(seeder._DEFINITIONS))
        seeder.seed(engine, 500, _mix())
        with engine.connect() as conn:
            after = sorted(tuple(r) for r in conn.execute(seeder._DEFINITIONS))
        # A partial index's predicate deparses a little differently once re-created from its
        # own deparsed text (casts, parentheses): same columns, same predicate literals.
        assert [_shape(d) for d in after] == [_shape(d) for d in before]
        assert {name for what, name, _ in before if what == "constraint"} >= {
            "audit_event_hash_key",
            "audit_event_prev_hash_key",
        }
        # The unique constraints hold again: a forked link is refused.
        with engine.connect() as conn:
            row = conn.execute(sa.select(EVENTS).where(EVENTS.c.seq == 1)).one()._asdict()
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.insert(EVENTS).values({**row, "seq": 10_000}))
    finally:
        engine.dispose()
