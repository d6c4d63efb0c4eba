"""`countersign audit rebuild-aggregates`: recomputes the scorecard aggregates from the chain,
reports the rows written, and writes the same rows when run again."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.cli.main import app
from app.store.aggregate_tables import AGENT_DAY
from app.store.db import make_engine, upgrade
from tests.store.audit.aggregate_history import Op, write


def test_rebuild_reports_rows_and_is_idempotent(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", sqlite_url)
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    write(engine, Op("evaluation", "docs-bot", "acme/web", 1, 60, "failure", ("pricing.x",)))
    write(engine, Op("merge", "docs-bot", "acme/web", 1, 90_000, latency=120))
    with engine.begin() as conn:  # as a bulk loader that skipped the aggregates would leave it
        conn.execute(sa.delete(AGENT_DAY))
    runner = CliRunner()
    text = runner.invoke(app, ["audit", "rebuild-aggregates"])
    assert text.exit_code == 0, text.output
    assert text.output.startswith("rebuilt the scorecard aggregates from 2 events: agent_day 3,")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(AGENT_DAY).order_by(*AGENT_DAY.primary_key)).all()
    again = runner.invoke(app, ["audit", "rebuild-aggregates", "--format", "json"])
    assert json.loads(again.output) == {
        "events": 2,
        "rows": {
            "agent_day": 3,
            "agent_day_latency": 1,
            "agent_day_waiver": 0,
            "agent_pr_state": 1,
        },
    }
    with engine.connect() as conn:
        assert conn.execute(sa.select(AGENT_DAY).order_by(*AGENT_DAY.primary_key)).all() == rows
    engine.dispose()
