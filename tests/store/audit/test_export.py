"""Merge export: the DESIGN.md fields, filters, CSV layout, and streaming."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.store.audit.chain import canonical_json, link_hash
from app.store.audit.export import count_merges, export_merges, iter_export
from app.store.audit.records import MergeRecord
from app.store.audit.store import append

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DESIGN_FIELDS = {
    "repo", "pr", "title", "url", "agent_id", "run_id", "author", "head_sha", "merge_commit_sha",
    "merged_by", "merged_at", "tier", "risk_level", "risk_score", "findings", "approvals",
    "check_conclusion", "bypass", "policy_version", "seq", "hash", "prev_hash",
    "merge_index", "prev_merge_hash", "event", "plans",
    "run_cost_usd", "head_first_evaluated_at", "reverts",  # agent ops (scorecards)
    "observed", "break_glass", "post_review", "waivers", "freeze_exception",
}  # fmt: skip


def record(pr: int, **overrides: object) -> MergeRecord:
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    return MergeRecord.model_validate({**data, "pr": pr, **overrides})


def fill(engine: sa.Engine) -> None:
    agents = ["pricing-bot", "infra-bot", "pricing-bot", "docs-bot"]
    for day, agent in enumerate(agents):
        moment = START + timedelta(days=day)
        append(engine, "evaluation", {"day": day}, occurred_at=moment)
        repo = "acme/infra" if agent == "infra-bot" else "acme/catalog"
        append(engine, "merge", record(day + 1, agent_id=agent, repo=repo), occurred_at=moment)


def records(lines: list[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines[1:-1]]


def test_jsonl_records_carry_the_design_fields_and_the_hashed_event(db_engine: sa.Engine) -> None:
    fill(db_engine)
    lines = list(export_merges(db_engine))
    header = json.loads(lines[0])["_countersign_export"]
    assert header["format_version"] == 1
    assert header["filters"] == {"since": None, "until": None, "repo": None, "agent": None}
    rows = records(lines)
    assert [r["seq"] for r in rows] == [2, 4, 6, 8]
    first = rows[0]
    assert set(first) == DESIGN_FIELDS
    assert first["approvals"][0]["login"] == "maria-finance"  # type: ignore[index]
    assert first["findings"][0]["rule"] == "pricing.price-increase"  # type: ignore[index]
    assert link_hash(str(first["prev_hash"]), canonical_json(first["event"])) == first["hash"]
    footer = json.loads(lines[-1])["_countersign_export_end"]
    assert footer == {"count": 4, "last_seq": 8, "last_hash": rows[-1]["hash"]}


@pytest.mark.parametrize(
    ("filters", "expected_prs"),
    [
        ({"repo": "acme/infra"}, [2]),
        ({"agent": "pricing-bot"}, [1, 3]),
        ({"since": START + timedelta(days=1), "until": START + timedelta(days=3)}, [2, 3]),
        ({"since": START + timedelta(days=9)}, []),
    ],
)
def test_filters(db_engine: sa.Engine, filters: dict[str, object], expected_prs: list[int]) -> None:
    fill(db_engine)
    rows = records(list(export_merges(db_engine, **filters)))  # type: ignore[arg-type]
    assert [r["pr"] for r in rows] == expected_prs
    assert count_merges(db_engine, **filters) == len(expected_prs)  # type: ignore[arg-type]


def test_csv_has_a_comment_header_and_json_nested_cells(db_engine: sa.Engine) -> None:
    fill(db_engine)
    text = "".join(iter_export(db_engine, fmt="csv", repo="acme/catalog"))
    first, rest = text.split("\n", 1)
    assert (
        json.loads(first.removeprefix("# "))["_countersign_export"]["filters"]["repo"]
        == "acme/catalog"
    )
    rows = list(csv.DictReader(io.StringIO(rest)))
    data = [r for r in rows if not r["seq"].startswith("#")]
    assert [r["pr"] for r in data] == ["1", "3", "4"]
    assert json.loads(data[0]["findings"])[1]["severity"] == "info"
    assert data[0]["bypass"] == "false"
    assert json.loads(data[0]["event"])["payload"]["title"].startswith("Raise Pro plan")


def test_export_is_lazy(db_engine: sa.Engine) -> None:
    fill(db_engine)
    lines = export_merges(db_engine)
    assert next(lines).startswith('{"_countersign_export"')
    append(db_engine, "merge", record(99), occurred_at=START + timedelta(days=30))
    assert len(records([" ", *lines])) == 5  # rows are read as they are consumed


def test_unknown_format_is_refused(db_engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="jsonl, csv"):
        next(export_merges(db_engine, fmt="xml"))  # type: ignore[arg-type]


def test_console_filters_run_id_tier_and_bypass(db_engine: sa.Engine) -> None:
    append(db_engine, "merge", record(1, run_id="run_a", tier=2), occurred_at=START)
    append(db_engine, "bypass_merge", record(2, run_id="run_b", tier=3, bypass=True))
    append(db_engine, "merge", record(3, run_id="run_c", tier="blocked"), occurred_at=START)

    def prs(**filters: object) -> list[int]:
        lines = list(export_merges(db_engine, **filters))  # type: ignore[arg-type]
        return [int(r["pr"]) for r in records(lines)]  # type: ignore[call-overload]

    assert prs(run_id="run_b") == [2]
    assert prs(tier="2") == [1]
    assert prs(tier="3") == [2]
    assert prs(tier="blocked") == [3]
    assert prs(bypass=True) == [2]
    assert prs(bypass=False) == [1, 3]
    header = json.loads(next(iter(export_merges(db_engine, tier="3", bypass=True))))
    assert header["_countersign_export"]["filters"]["tier"] == "3"
    assert header["_countersign_export"]["filters"]["bypass"] is True
    plain = json.loads(next(iter(export_merges(db_engine))))["_countersign_export"]["filters"]
    assert set(plain) == {"since", "until", "repo", "agent"}  # unchanged without the new filters


FORMULAS = ["=HYPERLINK(\"http://evil.example\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
            "\tTAB", "\rCR"]  # fmt: skip


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_cells_never_start_a_formula_and_jsonl_stays_exact(
    db_engine: sa.Engine, tmp_path: Path, formula: str
) -> None:
    """Agent-written text starting with = + - @ TAB CR is prefixed with ' (OWASP) in CSV only."""
    append(
        db_engine,
        "merge",
        record(7, title=formula, author=formula, merged_by=formula, run_id=formula),
        occurred_at=START,
    )
    text = "".join(iter_export(db_engine, fmt="csv"))
    rows = list(csv.reader(io.StringIO(text.split("\n", 1)[1], newline="")))
    cells = [cell for row in rows if not row[0].startswith("#") for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    data = dict(zip(rows[0], rows[1], strict=True))
    assert data["title"] == "'" + formula
    assert json.loads(data["event"])["payload"]["title"] == formula
    jsonl = records(list(export_merges(db_engine)))
    assert jsonl[0]["title"] == formula
    assert jsonl[0]["event"]["payload"]["author"] == formula  # type: ignore[index]
    path = tmp_path / "merges.csv"
    path.write_text(text, encoding="utf-8", newline="")
    from app.store.audit.verify import verify_export

    assert verify_export(path).ok
