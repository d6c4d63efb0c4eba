"""Packets for many merges at once: the same packets as `build_packet`, in the records' order,
from one query per repository per batch instead of queries per merge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from app.core.errors import UsageError
from app.store.audit import evidence_batch
from app.store.audit.evidence import build_packet
from app.store.audit.evidence_batch import merge_packets
from app.store.audit.export import export_merges
from app.store.audit.records import MergeRecord
from app.store.audit.store import append
from tests.store.audit.test_evidence import merge_data, record_change

CHANGES = [("acme/catalog", 412), ("acme/catalog", 413), ("acme/api", 7), ("acme/catalog", 414)]


def seed(engine: sa.Engine) -> None:
    for repo, pr in CHANGES:
        url = f"https://github.com/{repo}/pull/{pr}"
        record_change(engine, merge_data(repo=repo, pr=pr, url=url))
    # 412 merged a second time (reopened): each record gets the packet of its own merge
    again = merge_data(pr=412, merge_commit_sha="c" * 40, merged_at="2026-11-22T09:00:00Z")
    append(engine, "merge", MergeRecord.model_validate(again))


def merge_records(engine: sa.Engine) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in export_merges(engine, None, None, None, None)]
    return [r for r in lines if "seq" in r and "hash" in r]  # not the export's header


@contextmanager
def counted_selects(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("batch", [2, 200])
def test_the_same_packets_as_one_at_a_time_in_order(
    db_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    seed(db_engine)
    monkeypatch.setattr(evidence_batch, "BATCH", batch)
    records = merge_records(db_engine)
    assert len(records) == 5
    got = list(merge_packets(db_engine, records))
    expected = [build_packet(db_engine, r["repo"], int(r["pr"]), seq=r["seq"]) for r in records]
    assert [p.chain_seq for p in got] == [r["seq"] for r in records]
    assert got == expected  # no deployment decisions are recorded: those are empty on both sides
    assert got[-1].merge_commit_sha == "c" * 40 and got[0].merge_commit_sha != "c" * 40


def test_one_query_per_repository_not_per_merge(db_engine: sa.Engine) -> None:
    seed(db_engine)
    records = merge_records(db_engine)
    with counted_selects(db_engine) as selects:
        packets = list(merge_packets(db_engine, records))
    assert len(packets) == 5
    assert len(selects) == 2  # acme/api and acme/catalog


def test_a_record_whose_merge_is_not_stored_is_refused(db_engine: sa.Engine) -> None:
    seed(db_engine)
    stray = {"repo": "acme/catalog", "pr": 999, "seq": 10_000}
    with pytest.raises(UsageError):
        list(merge_packets(db_engine, [*merge_records(db_engine), stray]))
