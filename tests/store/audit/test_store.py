"""Appending to the audit chain and reading it back, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.core.errors import DatabaseNotReady
from app.store.audit.chain import GENESIS_HASH, event_hash
from app.store.audit.export import export_merges
from app.store.audit.records import EvaluationRecord, MergeRecord
from app.store.audit.store import append, chain_head, evaluations_for_pr, latest_evaluation
from app.store.audit.verify import verify_chain, verify_export
from app.store.db import make_engine
from app.store.tables import EVENTS
from tests.processes import child_processes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"
ROOT = Path(__file__).resolve().parents[3]


def merge_record(**overrides: object) -> MergeRecord:
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    return MergeRecord.model_validate({**data, **overrides})


def evaluation(head_sha: str, conclusion: str = "action_required") -> EvaluationRecord:
    report = {"schema_version": 1, "tier": 2, "risk": {"level": "high", "score": 72}}
    return EvaluationRecord(
        report=report,
        head_sha=head_sha,
        policy_version="sha256:1b9e0c4d",
        conclusion=conclusion,
        check_run_id=28190455112,
        api_calls=7,
    )


def test_events_chain_from_genesis(db_engine: sa.Engine) -> None:
    first = append(db_engine, "evaluation", evaluation("a" * 40), repo="acme/infra", pr_number=7)
    second = append(
        db_engine, "approval", {"login": "alice", "state": "APPROVED"}, repo="acme/infra"
    )
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert event_hash(second.prev_hash, second.fields()) == second.hash
    assert chain_head(db_engine) == (2, second.hash)
    assert verify_chain(db_engine).ok


def test_stored_event_reproduces_its_hash(db_engine: sa.Engine) -> None:
    appended = append(
        db_engine,
        "evaluation",
        evaluation("b" * 40),
        repo="acme/infra",
        pr_number=3,
        head_sha="b" * 40,
    )
    stored = latest_evaluation(db_engine, "acme/infra", 3, "b" * 40)
    assert stored is not None
    assert stored.occurred_at == appended.occurred_at
    assert stored.occurred_at.tzinfo is not None
    assert event_hash(stored.prev_hash, stored.fields()) == stored.hash == appended.hash
    assert stored.data()["conclusion"] == "action_required"


def test_secret_values_never_reach_the_store(db_engine: sa.Engine) -> None:
    payload = json.loads((FIXTURES / "evaluation_db_password.json").read_text())
    append(
        db_engine,
        "evaluation",
        payload,
        repo="acme/infra",
        pr_number=9,
        head_sha=payload["head_sha"],
    )
    with db_engine.connect() as conn:
        dumped = json.dumps([list(row) for row in conn.execute(sa.select(EVENTS))], default=str)
    for secret in (
        "Wint3r-is-coming!",
        "Summ3r-is-here!",
        "V2ludDNy",
        "U3VtbTNy",
        "ghp_d3adb33f",
        "MIIEowIBAAK",
    ):
        assert secret not in dumped
    assert "<redacted>" in dumped


def test_merges_get_a_contiguous_index_and_link(db_engine: sa.Engine) -> None:
    first = append(db_engine, "merge", merge_record(pr=1))
    append(db_engine, "evaluation", evaluation("c" * 40))
    second = append(
        db_engine, "bypass_merge", merge_record(pr=2, bypass=True, check_conclusion="failure")
    )
    assert first.data()["merge_index"] == 1
    assert first.data()["prev_merge_hash"] == GENESIS_HASH
    assert second.data()["merge_index"] == 2
    assert second.data()["prev_merge_hash"] == first.hash
    # Filter columns default to the merge record's values, so exports can filter by agent.
    assert (second.repo, second.pr_number, second.agent_id) == ("acme/catalog", 2, "pricing-bot")


def test_queries_for_the_service(db_engine: sa.Engine) -> None:
    for sha in ("1" * 40, "2" * 40, "2" * 40):
        append(
            db_engine, "evaluation", evaluation(sha), repo="acme/infra", pr_number=5, head_sha=sha
        )
    append(
        db_engine,
        "evaluation",
        evaluation("3" * 40),
        repo="acme/infra",
        pr_number=6,
        head_sha="3" * 40,
    )
    append(db_engine, "approval", {"login": "bob"}, repo="acme/infra", pr_number=5)
    history = evaluations_for_pr(db_engine, "acme/infra", 5)
    assert [e.seq for e in history] == [1, 2, 3]
    latest = latest_evaluation(db_engine, "acme/infra", 5, "2" * 40)
    assert latest is not None
    assert latest.seq == 3
    assert latest_evaluation(db_engine, "acme/infra", 5, "9" * 40) is None
    with Session(db_engine) as session:
        assert [e.seq for e in evaluations_for_pr(session, "acme/infra", 6)] == [4]


def test_append_in_a_session_commits_or_rolls_back_with_it(db_engine: sa.Engine) -> None:
    with Session(db_engine) as session:
        append(session, "evaluation", evaluation("d" * 40))
        session.rollback()
    assert chain_head(db_engine) == (0, GENESIS_HASH)
    with Session(db_engine) as session:
        event = append(session, "evaluation", evaluation("d" * 40))
        session.commit()
    assert event.seq == 1  # no gap after the rollback
    assert verify_chain(db_engine).ok


def test_events_cannot_be_updated_or_deleted(db_engine: sa.Engine) -> None:
    append(db_engine, "evaluation", evaluation("e" * 40))
    for statement in (
        "UPDATE audit_event SET payload = '{}' WHERE seq = 1",
        "DELETE FROM audit_event",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db_engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert verify_chain(db_engine).ok


def test_bad_appends_raise_clear_errors(db_engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="kind"):
        append(db_engine, "Merge; DROP TABLE", {})
    with pytest.raises(ValueError, match="timezone-aware"):
        append(db_engine, "evaluation", {}, occurred_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="must be a MergeRecord"):
        append(db_engine, "merge", {"repo": "acme/x"})
    with pytest.raises(ValueError, match="JSON compliant"):
        append(db_engine, "evaluation", {"score": float("nan")})
    assert chain_head(db_engine)[0] == 0


def test_unmigrated_database_is_not_ready(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with pytest.raises(DatabaseNotReady, match="countersign db upgrade"):
        append(engine, "evaluation", {})
    engine.dispose()


@pytest.mark.slow  # writer processes (tests/processes.py)
@pytest.mark.parametrize("writers", [4])
def test_concurrent_processes_build_one_chain(
    db_engine: sa.Engine, db_url: str, writers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # children import tests.store.audit._workers
    from tests.store.audit._workers import append_many

    per_writer = 60
    context = child_processes()
    barrier = context.Barrier(writers)
    processes = [
        context.Process(target=append_many, args=(db_url, w, per_writer, barrier))
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=90)
    assert [p.exitcode for p in processes] == [0] * writers
    result = verify_chain(db_engine)
    assert result.ok, result
    assert result.count == writers * per_writer
    export = tmp_path / "merges.jsonl"
    export.write_text("".join(export_merges(db_engine)))
    exported = verify_export(export)
    assert exported.ok, exported
    assert exported.count == writers * per_writer // 3


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds
        datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 30, 0, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
)
def test_timestamps_round_trip_exactly(db_engine: sa.Engine, moment: datetime) -> None:
    event = append(
        db_engine, "evaluation", {"at": moment}, occurred_at=moment, repo="o/r", pr_number=1
    )
    [stored] = evaluations_for_pr(db_engine, "o/r", 1)
    assert stored.occurred_at == moment
    assert event_hash(stored.prev_hash, stored.fields()) == event.hash
    assert verify_chain(db_engine).ok  # the streaming path formats the time the same way
