"""Evidence packets: built from evaluation + merge events, SoD verdicts, inert HTML."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from app.cli.audit import audit_app
from app.core.errors import UsageError
from app.store.audit.evidence import build_packet, parse_change, render_html
from app.store.audit.records import EvaluationRecord, MergeRecord
from app.store.audit.store import append

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"
HEAD = "9a8b7c6d5e4f30211f0e0d0c0b0a090807060504"
OLD_HEAD = "1111111111111111111111111111111111111111"

cli = typer.Typer()
cli.add_typer(audit_app, name="audit")


def merge_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "merge_pricing.json").read_text())
    data["plans"] = {"infra/pricing-cdn": "ab" * 32}
    return {**data, **overrides}


def report(title_file: str = "catalog/plans/eu.json", run_url: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "changes": [
            {
                "file": title_file,
                "kind": "pricing",
                "address": "plan_code:pro-monthly",
                "op": "update",
                "line": 23,
                "fields": [{"path": "monthly_usd", "before": 49, "after": 59}],
            }
        ],
        "findings": [],
        "risk": {"level": "high", "score": 68},
        "tier": 2,
        "policy": {"decision": "allow", "reasons": ["pricing-bot-may-propose"], "errors": []},
        "agent": {
            "id": "pricing-bot",
            "run_id": "run_pricing_2026-11-21_0042",
            "author": "pricing-bot[bot]",
            "is_agent": True,
            "run_url": run_url or "https://agents.acme.dev/runs/run_pricing_2026-11-21_0042",
            "run_cost_usd": "1.84",
            "operator": "li-wei",
        },
        "policy_version": "sha256:1b9e0c4d",
    }


def evaluation(head: str, **kwargs: Any) -> EvaluationRecord:
    return EvaluationRecord(
        report=report(**kwargs),
        head_sha=head,
        policy_version="sha256:1b9e0c4d",
        conclusion="success",
    )


def record_change(engine: sa.Engine, merge: dict[str, Any], **report_kwargs: Any) -> None:
    at = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    key = {"repo": merge["repo"], "pr_number": merge["pr"]}
    append(
        engine,
        "evaluation",
        evaluation(OLD_HEAD, title_file="old.json"),
        head_sha=OLD_HEAD,
        **key,
        occurred_at=at,
    )
    append(
        engine,
        "evaluation",
        evaluation(HEAD, **report_kwargs),
        head_sha=HEAD,
        **key,
        occurred_at=at,
    )
    for login, kind in (("maria-finance", "User"), ("tom-ops", "User")):
        append(
            engine,
            "approval",
            {"review_id": len(login), "action": "submitted", "state": "approved", "login": login,
             "user_type": kind, "commit": HEAD, "at": "2026-11-21T15:40:02Z"},
            head_sha=HEAD, **key,
        )  # fmt: skip
    append(engine, "merge", MergeRecord.model_validate(merge))


def test_packet_holds_the_change_and_judges_segregation(db_engine: sa.Engine) -> None:
    record_change(db_engine, merge_data())
    packet = build_packet(db_engine, "acme/catalog", 412)
    assert packet.title.startswith("Raise Pro plan")
    assert packet.url == "https://github.com/acme/catalog/pull/412"
    assert (packet.agent_id, packet.run_id) == ("pricing-bot", "run_pricing_2026-11-21_0042")
    assert packet.run_url == "https://agents.acme.dev/runs/run_pricing_2026-11-21_0042"
    assert (packet.operator, packet.run_cost_usd) == ("li-wei", "1.84")
    assert packet.head_sha == HEAD
    assert packet.merge_commit_sha == "0d1e2f30415263748596a7b8c9d0e1f203142536"
    assert packet.base_sha is None
    assert "the base SHA is not recorded for this merge" in packet.problems
    assert [c.file for c in packet.changes] == ["catalog/plans/eu.json"]  # the merged head's
    assert [f["rule"] for f in packet.findings] == [
        "pricing.price-increase",
        "pricing.currency-unchanged",
    ]
    assert (packet.tier, packet.policy_decision) == (2, "allow")
    assert packet.policy_version == "sha256:1b9e0c4d"
    maria, tom = packet.approvals
    assert (maria.independent, maria.why_not) == (False, "the merger")
    assert maria.before_merge is True and maria.at_merged_head
    assert tom.independent and tom.teams == ["@acme/catalog-owners"]
    assert packet.segregation_of_duties.verdict == "pass"
    assert packet.segregation_of_duties.independent_approvers == ["tom-ops"]
    assert (packet.check_conclusion, packet.bypass) == ("success", False)
    assert packet.plans == {"infra/pricing-cdn": "ab" * 32}
    with db_engine.connect() as conn:
        seq, digest = conn.execute(
            sa.text("SELECT seq, hash FROM audit_event WHERE kind = 'merge'")
        ).one()
    assert (packet.chain_seq, packet.chain_hash) == (seq, digest)
    assert packet.evaluation_seq == 2


@pytest.mark.parametrize(
    ("approvals", "merged_by", "violation", "why"),
    [
        ([("maria-finance", "2026-11-21T15:40:02Z")], "maria-finance", "no approval", "the merger"),
        ([("li-wei", "2026-11-21T15:40:02Z")], "maria-finance", "no approval", "the operator"),
        ([("pricing-bot[bot]", "2026-11-21T15:40:02Z")], "maria-finance", "no approval", "agent"),
        ([("tom-ops", "2026-11-21T17:00:00Z")], "maria-finance", "no approval", "after the merge"),
        ([("tom-ops", "2026-11-21T15:40:02Z")], "pricing-bot[bot]", "merged their own", ""),
        ([("tom-ops", "2026-11-21T15:40:02Z")], None, "merger is not recorded", ""),
    ],
)
def test_segregation_failures(
    db_engine: sa.Engine,
    approvals: list[tuple[str, str]],
    merged_by: str | None,
    violation: str,
    why: str,
) -> None:
    merge = merge_data(
        merged_by=merged_by,
        approvals=[
            {"login": login, "teams": [], "time": at, "commit": HEAD} for login, at in approvals
        ],
    )
    record_change(db_engine, merge)
    packet = build_packet(db_engine, "acme/catalog", 412)
    assert packet.segregation_of_duties.verdict == "fail"
    assert any(violation in v for v in packet.segregation_of_duties.violations)
    assert why in packet.approvals[0].why_not


def test_html_renders_attacker_text_inert(db_engine: sa.Engine) -> None:
    title = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    record_change(
        db_engine,
        merge_data(title=title),
        title_file='"><script>fetch("//evil")</script>.json',
        run_url="javascript:alert(document.cookie)",
    )
    page = render_html(build_packet(db_engine, "acme/catalog", 412))
    assert "<script" not in page.lower()
    assert "<img" not in page
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;script&gt;fetch" in page
    assert 'href="javascript:' not in page
    assert "javascript:alert(document.cookie)" in page  # shown as text, not a link
    assert "Segregation of duties" in page and ">PASS<" in page


def test_cli_writes_json_and_html(db_url: str, db_engine: sa.Engine, tmp_path: Path) -> None:
    record_change(db_engine, merge_data(bypass=True, check_conclusion="action_required"))
    env = {"COUNTERSIGN_DATABASE_URL": db_url}
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "evidence", "acme/catalog#412"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["bypass"] is True and data["segregation_of_duties"]["verdict"] == "pass"
    page = tmp_path / "412.html"
    result = runner.invoke(
        cli, ["audit", "evidence", "acme/catalog#412", "--format", "html", "-o", str(page)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "BYPASS MERGE" in page.read_text()
    result = runner.invoke(cli, ["audit", "evidence", "acme/catalog#7"], env=env)
    assert result.exit_code == 1
    assert "no merge of acme/catalog#7" in str(result.exception)


def test_change_names_are_parsed_strictly() -> None:
    assert parse_change("acme/catalog#412") == ("acme/catalog", 412)
    for bad in ("acme/catalog", "acme#1", "acme/catalog#x", "../x/y#1 ;"):
        with pytest.raises(UsageError, match="OWNER/REPO#N"):
            parse_change(bad)
