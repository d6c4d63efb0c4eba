"""Tamper evidence: edits, deletions and reordering in the database and in exported files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.store.audit.export import export_merges
from app.store.audit.records import MergeRecord
from app.store.audit.store import append
from app.store.audit.verify import verify_chain, verify_export

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def merge_record(pr: int, **overrides: object) -> MergeRecord:
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    return MergeRecord.model_validate({**data, "pr": pr, **overrides})


def fill(engine: sa.Engine, merges: int = 6) -> None:
    """Interleaved evaluations and merges: merge i is seq 2i, evaluation i is seq 2i-1."""
    for i in range(1, merges + 1):
        moment = START + timedelta(hours=i)
        append(
            engine,
            "evaluation",
            {"conclusion": "success", "i": i},
            occurred_at=moment,
            repo="acme/catalog",
            pr_number=i,
        )
        repo = "acme/catalog" if i % 2 else "acme/infra"
        agent = "pricing-bot" if i % 2 else "infra-bot"
        append(engine, "merge", merge_record(i, repo=repo, agent_id=agent), occurred_at=moment)


def drop_append_only_triggers(engine: sa.Engine) -> None:
    """What an attacker with database or file access does first."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")


def test_untouched_chain_verifies(db_engine: sa.Engine) -> None:
    fill(db_engine)
    assert verify_chain(db_engine).ok
    assert verify_chain(db_engine).count == 12


def test_edited_payload_names_its_seq(db_engine: sa.Engine) -> None:
    fill(db_engine)
    drop_append_only_triggers(db_engine)
    with db_engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE audit_event SET payload = replace(payload, '\"bypass\":false', '\"bypass\":true') WHERE seq = 6"
        )
    result = verify_chain(db_engine)
    assert not result.ok
    assert result.first_bad_seq == 6
    assert "edited" in result.reason


def test_edit_with_recomputed_hash_breaks_the_next_link(db_engine: sa.Engine) -> None:
    fill(db_engine)
    drop_append_only_triggers(db_engine)
    with db_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_event SET hash = 'f' || substr(hash, 2) WHERE seq = 4")
    result = verify_chain(db_engine)
    assert result.first_bad_seq == 4
    assert not result.ok


def test_deleted_middle_event_is_detected(db_engine: sa.Engine) -> None:
    fill(db_engine)
    drop_append_only_triggers(db_engine)
    with db_engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq = 5")
    result = verify_chain(db_engine)
    assert not result.ok
    assert result.first_bad_seq == 5
    assert "missing" in result.reason


def test_deleted_newest_events_are_detected_by_the_head(db_engine: sa.Engine) -> None:
    fill(db_engine)
    drop_append_only_triggers(db_engine)
    with db_engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq >= 11")
    result = verify_chain(db_engine)
    assert not result.ok
    assert result.first_bad_seq == 11


def test_an_append_during_verification_is_not_a_broken_chain(db_engine: sa.Engine) -> None:
    """Writers keep appending (the retention sweep every few seconds): an event committed after
    the walk began is outside this verification, not "events deleted from the end"."""
    fill(db_engine)

    def append_while_walking(count: int) -> None:
        if count == 12:  # the walk reached the end: another process appends now
            append(db_engine, "retention_purge", {"deliveries": 1}, occurred_at=START)

    result = verify_chain(db_engine, progress=append_while_walking)
    assert result.ok, result.reason
    assert result.count == 12
    assert verify_chain(db_engine).count == 13


def test_a_head_edited_back_over_existing_events_is_detected(db_engine: sa.Engine) -> None:
    fill(db_engine)
    drop_append_only_triggers(db_engine)
    with db_engine.begin() as conn:
        hash_10 = conn.exec_driver_sql("SELECT hash FROM audit_event WHERE seq = 10").scalar_one()
        merges = conn.exec_driver_sql(
            "SELECT count(*) FROM audit_event WHERE seq <= 10 AND kind = 'merge'"
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE audit_head SET seq = 10, hash = :h, merge_count = :m"),
            {"h": hash_10, "m": merges},
        )
    result = verify_chain(db_engine)
    assert not result.ok
    assert result.first_bad_seq == 11
    assert "not covered by the chain head" in result.reason


def test_swapped_contents_are_detected(db_engine: sa.Engine) -> None:
    fill(db_engine)
    drop_append_only_triggers(db_engine)
    with db_engine.begin() as conn:
        rows = {
            r.seq: r
            for r in conn.execute(
                sa.text("SELECT seq, payload FROM audit_event WHERE seq IN (3, 5)")
            )
        }
        for seq, other in ((3, 5), (5, 3)):
            conn.execute(
                sa.text("UPDATE audit_event SET payload = :p WHERE seq = :s"),
                {"p": rows[other].payload, "s": seq},
            )
    assert verify_chain(db_engine).first_bad_seq == 3


# --- exported files -------------------------------------------------------------------------


def export(engine: sa.Engine, path: Path, fmt: str = "jsonl", **filters: object) -> list[str]:
    lines = list(export_merges(engine, fmt=fmt, **filters))  # type: ignore[arg-type]
    path.write_text("".join(lines), encoding="utf-8")
    return lines


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_round_trip_verifies(db_engine: sa.Engine, tmp_path: Path, fmt: str) -> None:
    fill(db_engine)
    path = tmp_path / f"merges.{fmt}"
    export(db_engine, path, fmt)
    result = verify_export(path)
    assert result.ok, result
    assert result.count == 6


def test_filtered_export_verifies_with_gaps(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    path = tmp_path / "infra.jsonl"
    export(db_engine, path, repo="acme/infra")
    result = verify_export(path)
    assert result.ok, result
    assert result.count == 3
    # The same records without the header's filter claim a deletion.
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"repo": "acme/infra"', '"repo": null')
    path.write_text("".join(lines))
    assert verify_export(path).first_bad_seq == 4


def test_edited_jsonl_field_names_the_seq(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    path = tmp_path / "merges.jsonl"
    lines = export(db_engine, path)
    record = json.loads(lines[3])  # header, seq 2, seq 4, seq 6 ...
    record["merged_by"] = "mallory"
    lines[3] = json.dumps(record) + "\n"
    path.write_text("".join(lines))
    result = verify_export(path)
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert "merged_by" in result.reason


def test_edited_jsonl_event_names_the_seq(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    path = tmp_path / "merges.jsonl"
    lines = export(db_engine, path)
    record = json.loads(lines[2])
    record["event"]["payload"]["bypass"] = True
    record["bypass"] = True
    lines[2] = json.dumps(record) + "\n"
    path.write_text("".join(lines))
    result = verify_export(path)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "edited" in result.reason


def test_deleted_jsonl_line_names_the_next_seq(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    path = tmp_path / "merges.jsonl"
    lines = export(db_engine, path)
    del lines[3]  # seq 6
    path.write_text("".join(lines))
    result = verify_export(path)
    assert (result.ok, result.first_bad_seq) == (False, 8)
    assert "deleted" in result.reason


def test_deleted_first_and_last_lines_are_detected(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    path = tmp_path / "merges.jsonl"
    lines = export(db_engine, path)
    path.write_text("".join([lines[0], *lines[2:]]))
    assert verify_export(path).first_bad_seq == 4
    path.write_text("".join([*lines[:-2], lines[-1]]))
    truncated = verify_export(path)
    assert (truncated.ok, truncated.first_bad_seq) == (False, 12)
    path.write_text("".join(lines[:-1]))
    assert "footer is missing" in verify_export(path).reason


def test_swapped_jsonl_lines_are_detected(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    path = tmp_path / "merges.jsonl"
    lines = export(db_engine, path)
    lines[2], lines[3] = lines[3], lines[2]  # seq 4 and seq 6
    path.write_text("".join(lines))
    result = verify_export(path)
    assert not result.ok
    assert result.first_bad_seq in (4, 6)


def test_edited_csv_cell_names_the_seq(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    path = tmp_path / "merges.csv"
    lines = export(db_engine, path, "csv")
    assert lines[1].startswith("seq,hash,prev_hash,repo,pr,title")
    lines[4] = lines[4].replace(",maria-finance,", ",mallory,", 1)  # header, columns, seq 2, 4, 6
    path.write_text("".join(lines))
    result = verify_export(path)
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_garbage_files_fail_without_crashing(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    for content in (
        "",
        "not json\n",
        '{"_countersign_export": {"format_version": 1}}\n{"seq": \n',
        "\xff",
    ):
        path.write_text(content, encoding="latin-1")
        result = verify_export(path)
        assert not result.ok
        assert result.reason
    assert "cannot read" in verify_export(tmp_path / "missing.jsonl").reason
