"""`countersign deployments export`: the chain's deployment decisions as JSONL, filtered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app as cli
from app.store.audit.deployments import KIND, DeploymentDecisionRecord
from app.store.audit.store import append
from app.store.db import make_engine, upgrade


def decision(environment: str, state: str, run: int) -> DeploymentDecisionRecord:
    return DeploymentDecisionRecord(
        environment=environment,
        sha=f"{run:040x}",
        ref="main",
        deployment_id=100 + run,
        workflow_run_id=run,
        default_branch="main",
        since_sha=None,
        state=state,
        reasons=[f"{state} for a reason"],
        comment=f"Countersign {state}",
    )


def test_export_writes_each_decision_with_its_chain_position(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        for repo, env, state, run in [
            ("acme/a", "production", "approved", 1),
            ("acme/a", "staging", "rejected", 2),
            ("acme/b", "Production", "rejected", 3),
        ]:
            append(engine, KIND, decision(env, state, run), repo=repo, run_id=str(run))
    finally:
        engine.dispose()
    out = tmp_path / "deployments.jsonl"
    result = CliRunner().invoke(
        cli, ["deployments", "export", "--environment", "production", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["repo"], x["workflow_run_id"], x["state"]) for x in lines] == [
        ("acme/a", 1, "approved"),
        ("acme/b", 3, "rejected"),
    ]
    assert lines[0]["seq"] < lines[1]["seq"] and len(lines[0]["hash"]) == 64
    result = CliRunner().invoke(cli, ["deployments", "export", "--repo", "acme/a"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["environment"] for x in result.stdout.splitlines()] == [
        "production",
        "staging",
    ]
