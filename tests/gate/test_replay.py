"""Replay: stored evaluations (real reports of the pipeline) judged again with proposed files."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.agentops.history import AgentHistory
from app.agentops.scorecard import Scorecard
from app.config.repo import parse_repo_config
from app.core.models import FileDiff
from app.core.report import ApprovalRecord, Report, WaiverStatus
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.gate.replay import Proposal, Stored, rejudge
from app.gate.replay_report import run_replay, summarize, to_json, to_markdown, to_table
from tests.service._agent_tokens import policies_with_tokens

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
BASE = b'{"plans": [{"sku": "pro", "price": 49.0}]}\n'
CONFIG = b'paths:\n  "catalog/**.json": {kind: pricing, key: sku, price_fields: [price]}\n'
MEDIUM = 'severity: medium\n    message: "Price of {address} changes: {facts.moves_text}."'
RAMP = (
    "graduation:\n  - {rules: ['pricing.large-change'], from_tier: 2, to_tier: 1,\n"
    "     gates: {min_merged: MIN, window_days: 30}}"
)


def rules_with(tmp: Path, old: str, new: str) -> Path:
    target = tmp / "rules"
    shutil.copytree(ROOT / "risk_rules", target)
    text = (target / "pricing.yaml").read_text()
    assert text.count(old) == 1
    (target / "pricing.yaml").write_text(text.replace(old, new))
    return target


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Gatekeeper:
    policies = policies_with_tokens(
        tmp_path_factory.mktemp("p") / "policies", {"pricing-bot": RAMP.replace("MIN", "5")}
    )
    return Gatekeeper.load(ROOT / "risk_rules", policies)


def snapshot(price: str) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repo="acme/shop",
        number=3,
        author="pricing-bot[bot]",
        author_is_bot=True,
        body="Cut.\n\nAgent-Run-Id: run_replay",
        head_sha="c" * 40,
        files=(
            FileDiff(
                path="catalog/plans.json", base=BASE, head=BASE.replace(b"49.0", price.encode())
            ),
        ),
        config_text=CONFIG,
    )


def history(merged: int) -> AgentHistory:
    card = Scorecard(agent_id="pricing-bot", since=NOW - timedelta(days=30), until=NOW,
                     merged=merged, run_id_coverage_pct=100.0)  # fmt: skip
    return AgentHistory(agent_id="pricing-bot", now=NOW, records={30: card})


def stored(
    report: Report, *, merged: bool = True, approvers: tuple[str, ...] = ("alice",)
) -> Stored:
    return Stored(
        seq=7,
        at=NOW,
        repo="acme/shop",
        pr=3,
        head_sha="c" * 40,
        url="https://github.example/acme/shop/pull/3",
        report=report.model_dump(mode="json"),
        merged=merged,
        approvals=tuple(ApprovalRecord(login=a) for a in approvers) if merged else None,
    )


def test_the_same_files_change_nothing(shipped: Gatekeeper) -> None:
    report = evaluate_snapshot(snapshot("47.0"), shipped).report
    again = rejudge(stored(report), Proposal(gate=shipped))
    assert again.not_replayable is None
    assert (again.before, again.after) == (1, 1)
    assert not again.changed and again.approvals_short == ()


def test_a_tightened_pricing_rule_names_the_merge_that_needed_another_approval(
    shipped: Gatekeeper, tmp_path: Path
) -> None:
    report = evaluate_snapshot(snapshot("47.0"), shipped).report
    assert report.tier == 1 and [f.rule for f in report.findings] == ["pricing.change"]
    tight = Gatekeeper.load(
        rules_with(tmp_path, MEDIUM, MEDIUM.replace("medium", "high")), shipped.policy.directory
    )
    again = rejudge(stored(report), Proposal(gate=tight))
    assert (again.before, again.after) == (1, 2)
    assert [(b.severity, a.severity) for b, a in again.retiered] == [("medium", "high")]
    assert again.approvals_short == ("2 distinct approvals",)
    # Two approvals at merge would still have sufficed; an unmerged head is not an approval gap.
    enough = rejudge(stored(report, approvers=("alice", "bob")), Proposal(gate=tight))
    assert enough.after == 2 and enough.approvals_short == ()
    open_pr = rejudge(stored(report, merged=False), Proposal(gate=tight))
    assert open_pr.after == 2 and open_pr.approvals_short == ()
    # A bypass merge never had the approvals: nothing "no longer" suffices, and it says so.
    bypass = rejudge(replace(stored(report), bypassed=True), Proposal(gate=tight))
    assert bypass.after == 2 and bypass.approvals_short == ()
    assert bypass.partial == ("merged as a bypass or by break-glass: approvals not compared",)

    summary = summarize([again, enough, open_pr])
    assert (summary.judged, summary.tier_up, summary.approvals_short) == (3, 3, 1)
    assert [(m.rule, m.retiered) for m in summary.rules] == [("pricing.change", 3)]
    text = to_markdown(summary, title="Replay over the last 30 days")
    assert "merges whose approvals would no longer suffice: 1" in text
    assert "(https://github.example/acme/shop/pull/3)" in text
    assert "merged without 2 distinct approvals" in to_table(summary)
    assert to_json(summary)["prs"][0]["approvals_short"] == ["2 distinct approvals"]


def test_a_finding_waived_when_recorded_stays_waived(shipped: Gatekeeper) -> None:
    report = evaluate_snapshot(snapshot("47.0"), shipped).report
    (finding,) = report.findings
    waiver = WaiverStatus(
        rule=finding.rule, address=finding.address, by="sec", reason="known", at="2026-12-01",
        expires_at="2026-12-08", head_sha="c" * 40, findings=(finding,),
    )  # fmt: skip
    waived = report.model_copy(update={"findings": (), "tier": 0, "waivers": (waiver,)})
    again = rejudge(stored(waived), Proposal(gate=shipped))
    assert again.added == () and (again.before, again.after) == (0, 0)
    assert again.partial == ("1 finding(s) left out as waived when recorded",)
    # An expired waiver no longer hides it: the replay shows the finding coming back.
    expired = waiver.model_copy(update={"state": "expired"})
    back = rejudge(
        stored(waived.model_copy(update={"waivers": (expired,)})), Proposal(gate=shipped)
    )
    assert [f.rule for f in back.added] == [finding.rule]


def test_a_removed_rule_and_a_new_one_count_per_rule(shipped: Gatekeeper, tmp_path: Path) -> None:
    report = evaluate_snapshot(snapshot("47.0"), shipped).report
    renamed = Gatekeeper.load(
        rules_with(tmp_path, "- id: pricing.change\n", "- id: pricing.small-change\n"),
        shipped.policy.directory,
    )
    again = rejudge(stored(report), Proposal(gate=renamed))
    assert [f.rule for f in again.added] == ["pricing.small-change"]
    assert [f.rule for f in again.removed] == ["pricing.change"]
    assert again.before == again.after == 1 and again.changed


def test_graduation_lost_under_a_stricter_ramp(shipped: Gatekeeper, tmp_path: Path) -> None:
    report = evaluate_snapshot(snapshot("29.4"), shipped, agent_history=history(5)).report
    assert report.tier == 1 and report.graduation is not None and report.graduation.graduated
    stricter = policies_with_tokens(
        tmp_path / "policies", {"pricing-bot": RAMP.replace("MIN", "6")}
    )
    gate = Gatekeeper.load(ROOT / "risk_rules", stricter)
    again = rejudge(stored(report), Proposal(gate=gate))
    assert again.graduation == "lost" and (again.before, again.after) == (1, 2)
    assert again.approvals_short == ("2 distinct approvals",)
    assert summarize([again]).graduations_lost == 1
    # The same ramp keeps it (the figures recorded with the evaluation are the audited record).
    assert rejudge(stored(report), Proposal(gate=shipped)).graduation is None


def test_a_ramp_over_a_window_never_read_is_not_guessed(
    shipped: Gatekeeper, tmp_path: Path
) -> None:
    report = evaluate_snapshot(snapshot("29.4"), shipped, agent_history=history(5)).report
    other = RAMP.replace("MIN", "5").replace("window_days: 30", "window_days: 60")
    gate = Gatekeeper.load(
        ROOT / "risk_rules", policies_with_tokens(tmp_path / "policies", {"pricing-bot": other})
    )
    again = rejudge(stored(report), Proposal(gate=gate))
    assert again.graduation == "lost" and again.after == 2
    assert "trust ramp: no audited figures recorded for a 60-day window (not graduated)" in (
        again.partial
    )


def test_cedar_denial_is_newly_blocked(shipped: Gatekeeper, tmp_path: Path) -> None:
    report = evaluate_snapshot(snapshot("47.0"), shipped).report
    policies = tmp_path / "policies"
    shutil.copytree(shipped.policy.directory, policies)
    registry = (policies / "agents.yaml").read_text()
    start = registry.index("  - id: pricing-bot\n")
    block = registry[start:]
    kinds_line = next(line for line in block.splitlines() if line.strip().startswith("kinds:"))
    registry = registry[:start] + block.replace(kinds_line, "    kinds: [terraform]", 1)
    (policies / "agents.yaml").write_text(registry)
    again = rejudge(stored(report), Proposal(gate=Gatekeeper.load(ROOT / "risk_rules", policies)))
    assert again.newly_blocked and again.approvals_short == ("blocked by policy",)
    assert summarize([again]).newly_blocked == 1


def test_an_unreadable_report_is_not_replayable(shipped: Gatekeeper) -> None:
    bad = Stored(seq=1, at=NOW, repo="a/b", pr=1, head_sha="d" * 40, url="u",
                 report={"tier": 1, "findings": [{"rule": 3}]})  # fmt: skip
    gone = Stored(seq=2, at=NOW, repo="a/b", pr=2, head_sha="e" * 40, url="u", report={},
                  unavailable="merged head has no stored evaluation")  # fmt: skip
    results, cut = run_replay([bad, gone], Proposal(gate=shipped))
    assert not cut
    assert results[0].not_replayable is not None
    assert results[0].not_replayable.startswith("report not readable (findings.0.")
    summary = summarize(results)
    assert summary.judged == 0
    assert summary.not_replayable["merged head has no stored evaluation"] == 1


def test_the_time_bound_cuts_and_says_so(shipped: Gatekeeper) -> None:
    report = evaluate_snapshot(snapshot("47.0"), shipped).report
    calls = iter([False, True])
    results, cut = run_replay(
        [stored(report), stored(report)], Proposal(gate=shipped), stop=lambda: next(calls)
    )
    assert cut and len(results) == 1


def test_a_repo_config_recomputes_approvers(shipped: Gatekeeper, tmp_path: Path) -> None:
    report = evaluate_snapshot(snapshot("47.0"), shipped).report
    tight = Gatekeeper.load(
        rules_with(tmp_path, MEDIUM, MEDIUM.replace("medium", "high")), shipped.policy.directory
    )
    config = parse_repo_config(CONFIG + b"approvers:\n  pricing: ['@acme/pricing']\n")
    two = (ApprovalRecord(login="alice"), ApprovalRecord(login="bob", teams=("@acme/pricing",)))
    item = stored(report, approvers=())
    item = Stored(**{**item.__dict__, "approvals": two})
    assert rejudge(item, Proposal(gate=tight, config=config)).approvals_short == ()
    without_team = Stored(**{**item.__dict__, "approvals": (two[0], ApprovalRecord(login="bob"))})
    short = rejudge(without_team, Proposal(gate=tight, config=config)).approvals_short
    assert short == ("@acme/pricing",)
    # Without a repo config the approvers are unknown for a risky kind: said, not guessed.
    unknown = rejudge(without_team, Proposal(gate=tight))
    assert "approvers for pricing not recorded (pass --repo-config)" in unknown.partial
