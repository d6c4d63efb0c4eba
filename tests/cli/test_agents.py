"""`countersign agents report` over a store holding merges shaped as the service writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.store.audit.records import MergeRecord
from app.store.audit.store import append
from app.store.db import make_engine, upgrade

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "audit" / "merge_pricing.json"
MERGED = datetime(2026, 11, 21, 16, 2, 11, tzinfo=UTC)


@pytest.fixture
def runner(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", sqlite_url)
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    data = json.loads(FIXTURE.read_text())
    first = datetime(2026, 11, 21, 15, 10, tzinfo=UTC)
    append(engine, "merge", MergeRecord.model_validate(
        {**data, "run_cost_usd": "0.21", "head_first_evaluated_at": first.isoformat()}
    ), occurred_at=MERGED)  # fmt: skip
    revert = {
        **data,
        "pr": 415,
        "agent_id": None,
        "author": "maria-finance",
        "merge_commit_sha": "77" * 20,
        "reverts": {"commits": ["0d1e2f3"], "pulls": []},
    }
    append(engine, "merge", MergeRecord.model_validate(revert),
           occurred_at=MERGED + timedelta(days=1))  # fmt: skip
    engine.dispose()
    return CliRunner()


def test_json_report_gives_every_figure(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["agents", "report", "--since", "2026-11-01", "--until", "2026-12-01", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["since"] == "2026-11-01T00:00:00+00:00"
    agent, pricing = data["scorecards"]
    assert (agent["agent_id"], agent["rule_class"], pricing["rule_class"]) == (
        "pricing-bot", None, "pricing",
    )  # fmt: skip
    assert agent["merged"] == 1 and agent["reverted"] == 1 and agent["reverted_pct"] == 100.0
    assert agent["reverted_prs"] == ["acme/catalog#412"]
    # Last counted approval 15:55:47 − first evaluation of the head 15:10:00, read back from the
    # latency histogram (within its 2.2 %: app/agentops/aggregates.py).
    assert agent["approval_latency_p50_seconds"] == pytest.approx(45 * 60 + 47, rel=0.022)
    assert agent["cost_per_merge_usd"] == 0.21 and agent["run_id_coverage_pct"] == 100.0
    assert agent["analyze_calls"] == 0 and pricing["analyze_calls"] is None


def test_table_report_and_bad_windows(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["agents", "report", "--since", "2026-11-01", "--until", "2026-12-01"]
    )
    assert result.exit_code == 0, result.output
    assert "pricing-bot" in result.output and "1 (100%)" in result.output and "45m" in result.output
    empty = runner.invoke(
        app, ["agents", "report", "--since", "2026-01-01", "--until", "2026-02-01"]
    )
    assert "No agent activity" in empty.output
    backwards = runner.invoke(
        app, ["agents", "report", "--since", "2026-12-01", "--until", "2026-11-01"]
    )
    assert backwards.exit_code != 0
    assert "is not before --until" in str(backwards.exception or "") + backwards.output
