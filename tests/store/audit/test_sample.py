"""Audit samples: reproducible, independent of row order, proportionally stratified."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.cli.audit import audit_app
from app.core.errors import UsageError
from app.store.audit.records import MergeRecord
from app.store.audit.sample import (
    Candidate,
    allocate,
    choose,
    draw_sample,
    parse_stratify,
    sample_key,
)
from app.store.audit.store import append
from app.store.audit.verify import verify_export

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"
START = datetime(2026, 10, 1, tzinfo=UTC)

cli = typer.Typer()
cli.add_typer(audit_app, name="audit")


def fill(engine: sa.Engine, count: int = 60, order: list[int] | None = None) -> None:
    """`count` merges: tiers 0/1/2 in 3:2:1, every tenth a bypass; appended in `order`."""
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    for pr in order or list(range(1, count + 1)):
        tier = 0 if pr % 6 < 3 else (1 if pr % 6 < 5 else 2)
        record = MergeRecord.model_validate(
            {**data, "pr": pr, "tier": tier, "bypass": pr % 10 == 0, "title": f"change {pr}"}
        )
        append(engine, "bypass_merge" if pr % 10 == 0 else "merge", record,
               occurred_at=START + timedelta(hours=pr))  # fmt: skip


def parse(lines: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    header = json.loads(lines[0])["_countersign_export"]
    return header, [json.loads(line) for line in lines[1:-1]]


def test_same_seed_same_sample_and_a_valid_export(db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    first = list(draw_sample(db_engine, seed="soc2-2026-q4", size=25))
    again = list(draw_sample(db_engine, seed="soc2-2026-q4", size=25))
    other = list(draw_sample(db_engine, seed="another", size=25))
    header, records = parse(first)
    assert parse(again)[1] == records
    assert {r["pr"] for r in parse(other)[1]} != {r["pr"] for r in records}
    assert len(records) == 25
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    assert header["sample"]["population"] == 60 and header["sample"]["drawn"] == 25
    path = tmp_path / "sample.jsonl"
    path.write_text("".join(first))
    assert verify_export(path).ok  # each sampled record still verifies against its hash


@given(st.permutations(range(40)), st.integers(1, 45))
def test_choice_ignores_the_order_rows_arrive_in(order: list[int], size: int) -> None:
    candidates = [
        Candidate(sample_key("seed", f"{seq:064x}"), seq, (seq % 3, seq % 7 == 0))
        for seq in range(40)
    ]
    expected = choose(candidates, size, ("tier", "bypass"))
    assert choose([candidates[i] for i in order], size, ("tier", "bypass")) == expected
    assert len(expected[0]) == min(size, 40)


def test_stratified_proportions(db_engine: sa.Engine) -> None:
    fill(db_engine)
    lines = list(draw_sample(db_engine, seed="q4", size=20, stratify=("tier", "bypass")))
    header, records = parse(lines)
    strata = {
        (s["stratum"]["tier"], s["stratum"]["bypass"]): (s["population"], s["sample"])
        for s in header["sample"]["strata"]
    }
    assert sum(p for p, _ in strata.values()) == 60
    assert sum(n for _, n in strata.values()) == 20 == len(records)
    drawn = Counter((r["tier"], r["bypass"]) for r in records)
    for key, (population, size) in strata.items():
        assert drawn[key] == size
        assert abs(size - 20 * population / 60) < 1  # proportional, rounded
    assert header["filters"]["sample"] == {"seed": "q4", "size": 20, "stratify": ["tier", "bypass"]}


def test_size_larger_than_population_takes_everything(db_engine: sa.Engine) -> None:
    fill(db_engine, count=7)
    header, records = parse(list(draw_sample(db_engine, seed="x", size=25, stratify=("tier",))))
    assert [r["pr"] for r in records] == list(range(1, 8))
    assert header["sample"]["population"] == 7 and header["sample"]["drawn"] == 7


def test_period_filter_and_empty_period(db_engine: sa.Engine) -> None:
    fill(db_engine, count=20)
    since, until = START + timedelta(hours=5), START + timedelta(hours=15)
    header, records = parse(
        list(draw_sample(db_engine, seed="x", size=4, since=since, until=until))
    )
    assert header["sample"]["population"] == 10
    assert all(5 <= r["pr"] < 15 for r in records) and len(records) == 4
    lines = list(draw_sample(db_engine, seed="x", size=4, since=START + timedelta(days=99)))
    assert parse(lines)[1] == [] and json.loads(lines[-1])["_countersign_export_end"]["count"] == 0


@given(
    st.dictionaries(st.tuples(st.integers(0, 3), st.booleans()), st.integers(0, 50), max_size=8),
    st.integers(1, 120),
)
def test_allocation_is_proportional_and_exact(populations: dict[Any, int], size: int) -> None:
    sizes = allocate(populations, size)
    total = sum(populations.values())
    assert sum(sizes.values()) == min(size, total)
    for key, population in populations.items():
        assert 0 <= sizes[key] <= population
        if total:
            assert abs(sizes[key] - min(size, total) * population / total) < 1


def test_cli_sample_and_bad_stratum(db_url: str, db_engine: sa.Engine) -> None:
    fill(db_engine, count=12)
    env = {"COUNTERSIGN_DATABASE_URL": db_url}
    args = ["audit", "sample", "--seed", "S", "--size", "5", "--stratify", "tier,bypass"]
    runner = CliRunner()
    first = runner.invoke(cli, [*args, "--since", "2026-10-01"], env=env)
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, [*args, "--since", "2026-10-01"], env=env)
    assert parse(again.stdout.splitlines())[1] == parse(first.stdout.splitlines())[1]
    assert len(parse(first.stdout.splitlines())[1]) == 5
    with pytest.raises(UsageError, match="use any of tier"):
        parse_stratify("tier,colour")
    bad = runner.invoke(cli, ["audit", "sample", "--seed", "S", "--stratify", "colour"], env=env)
    assert bad.exit_code == 1
