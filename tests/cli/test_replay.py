"""`countersign replay` over a real store (SQLite and PostgreSQL): latest per PR, merged heads,
the window, the count bound, and the formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.report import Report
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.store.audit.records import EvaluationRecord, MergeRecord
from app.store.audit.store import append
from app.store.db import make_engine
from tests.gate.test_replay import MEDIUM, ROOT, rules_with, snapshot


@pytest.fixture
def runner(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", db_url)
    monkeypatch.setenv("COUNTERSIGN_GITHUB_WEB_URL", "https://github.example")
    return CliRunner()


def evaluated(engine: object, report: Report, pr: int, head: str) -> None:
    payload = EvaluationRecord(
        report=report.model_dump(mode="json"),
        head_sha=head,
        policy_version=report.policy_version or "",
        conclusion="success",
    )
    append(engine, "evaluation", payload, repo="acme/shop", pr_number=pr, head_sha=head)  # type: ignore[arg-type]


def merged(
    engine: object, pr: int, head: str, approvers: tuple[str, ...], *, bypass: bool = False
) -> None:
    record = MergeRecord(
        repo="acme/shop",
        pr=pr,
        title="Price cut",
        url=f"https://github.example/acme/shop/pull/{pr}",
        head_sha=head,
        merged_at=datetime(2026, 12, 1, tzinfo=UTC),
        tier=1,
        risk_level="medium",
        risk_score=20,
        approvals=[{"login": a} for a in approvers],  # type: ignore[misc]
        policy_version="v",
        bypass=bypass,
    )
    append(engine, "merge", record, repo="acme/shop", pr_number=pr, head_sha=head)  # type: ignore[arg-type]


@pytest.fixture
def store(runner: CliRunner, db_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    gate = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")
    small = evaluate_snapshot(snapshot("47.0"), gate).report
    engine = make_engine(db_url)
    evaluated(engine, small, 3, "a" * 40)  # merged with one approval
    merged(engine, 3, "a" * 40, ("alice",))
    evaluated(engine, small, 4, "b" * 40)  # merged with two
    merged(engine, 4, "b" * 40, ("alice", "bob"))
    evaluated(engine, small, 5, "c" * 40)  # open: an older head, then the latest
    evaluated(engine, small, 5, "d" * 40)
    merged(engine, 6, "e" * 40, ("alice",))  # merged, never evaluated
    evaluated(engine, small, 7, "f" * 40)  # merged by an admin bypass, without approvals
    merged(engine, 7, "f" * 40, (), bypass=True)
    engine.dispose()


@pytest.mark.usefixtures("store")
def test_a_tightened_rule_names_the_merge_that_needed_another_approval(
    runner: CliRunner, tmp_path: Path
) -> None:
    tight = rules_with(tmp_path, MEDIUM, MEDIUM.replace("medium", "high"))
    result = runner.invoke(app, ["replay", "--rules", str(tight), "--merged", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["judged"], out["tier_up"], out["merges_approvals_short"]) == (3, 3, 1)
    assert out["not_replayable"] == {"merged head has no stored evaluation": 1}
    assert out["partial"] == {
        "merged as a bypass or by break-glass: approvals not compared": 1,
        "approvers for pricing not recorded (pass --repo-config)": 2,  # the repo config's
    }
    short = [p for p in out["prs"] if p["approvals_short"]]
    assert [(p["pr"], p["url"]) for p in short] == [(3, "https://github.example/acme/shop/pull/3")]
    assert out["rules"] == [{"rule": "pricing.change", "added": 0, "removed": 0, "retiered": 3}]

    # Latest per PR: PR 5 once (its latest head), PRs 3 and 4 with their merges.
    result = runner.invoke(app, ["replay", "--rules", str(tight), "--format", "json"])
    latest = json.loads(result.stdout)
    assert latest["judged"] == 4 and latest["merges_approvals_short"] == 1
    assert {p["pr"]: p["merged"] for p in latest["prs"]} == {3: True, 4: True, 5: False, 7: True}
    assert sorted((p["pr"], p["head_sha"][0]) for p in latest["prs"]) == [
        (3, "a"),
        (4, "b"),
        (5, "d"),
        (7, "f"),
    ]

    table = runner.invoke(app, ["replay", "--rules", str(tight), "--merged", "--repo", "acme/shop"])
    assert "acme/shop#3 (merged) aaaaaaa: tier 1 → 2" in table.stdout
    assert "merged without 2 distinct approvals" in table.stdout
    markdown = runner.invoke(app, ["replay", "--rules", str(tight), "--format", "markdown"])
    assert markdown.stdout.startswith("### Replay\n")


@pytest.mark.usefixtures("store")
def test_window_repo_and_limit(runner: CliRunner) -> None:
    def judged(*args: str) -> dict[str, object]:
        result = runner.invoke(app, ["replay", "--format", "json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    assert judged()["changed"] == 0  # the shipped files judge as they did
    assert judged("--repo", "acme/other")["judged"] == 0
    assert judged("--until", "2000-01-01")["judged"] == 0
    cut = judged("--limit", "1")
    assert cut["judged"] == 1
    assert cut["cut"] == ["only the newest 1 evaluations were read (--limit)"]


def test_a_broken_proposed_rule_names_its_file(runner: CliRunner, tmp_path: Path) -> None:
    broken = rules_with(tmp_path, MEDIUM, "severity: huge")
    result = runner.invoke(app, ["replay", "--rules", str(broken)])
    assert result.exit_code != 0
    assert str(result.exception).startswith(f"{broken / 'pricing.yaml'}:")
    agents = tmp_path / "agents.yaml"
    agents.write_text("agents: [{id: x, kinds: [nonsense]}]\n")
    result = runner.invoke(app, ["replay", "--agents", str(agents)])
    assert result.exit_code != 0
    assert str(result.exception).startswith(f"{agents}:")
