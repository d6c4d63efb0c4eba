"""Waivers end to end: the real service against the GitHub simulator, on SQLite and PostgreSQL.

A security engineer waives the price rule on an agent's promotion PR: the check shows who, why
and until when, the finding leaves the tier, and the `waiver` event is in the audit chain and in
the PR's evidence. Agents, the PR author, the run's operator, non-members and expired waivers are
refused with a reply that says why; a push that changes the waived price voids the waiver; an
expiry passes by the injected clock and the sweep turns the check back by itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.agentops.scorecard import Window
from app.demo.stack import LocalStack
from app.service.reconcile import sweep_open_prs
from app.sim.state import PullRequest
from app.store.audit.agent_events import agent_scorecards
from app.store.audit.evidence import build_packet, render_html
from app.store.audit.store import events_for_pr
from app.store.audit.verify import verify_chain
from tests.service._scenarios import latest_check, replies, wait_check, wait_reply
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/platform"
RULE = "pricing.large-change"
CATALOG = (
    '{\n  "currency": "USD",\n  "plans": [\n'
    '    {"plan_code": "starter-monthly", "monthly_usd": 9.0},\n'
    '    {"plan_code": "pro-monthly", "monthly_usd": 49.0}\n  ]\n}\n'
)
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": [
        "alice",
        "bob",
        "sue",
        "dave",
        "olga",
        "acme-codex",
        {"login": "pricing-bot[bot]", "type": "Bot"},
    ],
    "teams": {
        "finance": ["alice"],
        "platform": ["bob"],
        "security": ["sue", "olga", "acme-codex"],
    },
    "repos": {
        REPO: {
            "files": {
                "README.md": "# platform\n",
                ".github/CODEOWNERS": "* @acme/platform\n/catalog/ @acme/finance\n",
                ".github/countersign.yml": (
                    "enforce_for: all\n"
                    "paths:\n"
                    '  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
                    "approvers:\n"
                    '  pricing: ["@acme/finance"]\n'
                ),
                "catalog/plans.json": CATALOG,
            }
        }
    },
    "install": True,
}
WAIVE = f"/countersign waive {RULE} reason: Black Friday promo approved in FIN-88"


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped rules, with the price rule waivable by @acme/security."""
    target = tmp_path_factory.mktemp("rules") / "risk_rules"
    shutil.copytree(ROOT / "risk_rules", target)
    pricing = target / "pricing.yaml"
    line = '    message: "Price of {address} changes: {facts.moves_text}."\n'
    text = pricing.read_text()
    assert line in text
    pricing.write_text(text.replace(line, line + '    waivable_by: ["@acme/security"]\n', 1))
    return target


@pytest.fixture(scope="module")
def running(module_db_url: str, rules_dir: Path) -> Iterator[LocalStack]:
    with local_stack(module_db_url, rules_dir=rules_dir) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)  # a reset builds a new runtime, with the real clock


def agent_price_cut(stack: LocalStack, price: str = "29.4") -> PullRequest:
    pr = stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        "agent/pro-cut",
        {"catalog/plans.json": CATALOG.replace("49.0", price)},
        title="Cut Pro",
        body="Promotion.\n\nAgent-Run-Id: run_waive_1\nAgent-Run-Operator: @olga",
    )
    wait_check(stack, pr, "action_required", "Tier 2")
    return pr


def waiver_events(stack: LocalStack, pr: PullRequest, kind: str = "waiver") -> list[dict[str, Any]]:
    assert stack.runtime is not None
    return [e.data() for e in events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=(kind,))]


def test_a_member_waives_the_finding_the_check_shows_it_and_the_chain_records_it(
    stack: LocalStack,
) -> None:
    pr = agent_price_cut(stack)
    stack.sim.comment(pr, "sue", WAIVE + " expires: 3d")
    wait_reply(stack, pr, "sue", f"waived `{RULE}`")
    run = wait_check(stack, pr, "success", "waived by sue (@\u200bacme/security)")
    assert run.title == "Tier 0 · info"  # the only finding above info was waived
    assert "Black Friday promo approved in FIN-88" in (run.summary or "")
    [event] = waiver_events(stack, pr)
    assert event["by"] == "sue" and event["rule"] == RULE and event["head_sha"] == pr.head_sha
    assert event["repo"] == REPO and event["pr"] == pr.number
    assert event["objects"] == [["catalog/plans.json", "plan_code:pro-monthly"]]
    assert stack.runtime is not None
    engine = stack.runtime.engine
    assert verify_chain(engine).ok

    # Revoked by the same person: the finding counts again.
    stack.sim.comment(pr, "sue", f"/countersign unwaive {RULE}")
    wait_reply(stack, pr, "sue", "revoked the waiver")
    wait_check(stack, pr, "action_required", "Tier 2")
    assert len(waiver_events(stack, pr, "waiver_revoked")) == 1


def test_a_merge_under_a_waiver_carries_it_in_the_evidence(stack: LocalStack) -> None:
    pr = agent_price_cut(stack)
    stack.sim.comment(pr, "sue", WAIVE)
    wait_check(stack, pr, "success", "waived by sue")
    stack.sim.merge(pr, by="bob")
    assert stack.runtime is not None
    engine = stack.runtime.engine
    stack.sim.wait_for(
        lambda: bool(events_for_pr(engine, REPO, pr.number, kinds=("merge", "bypass_merge"))),
        30,
        "the merge record",
    )
    [merge] = events_for_pr(engine, REPO, pr.number, kinds=("merge", "bypass_merge"))
    assert merge.kind == "merge"  # the check was green: not a bypass
    [recorded] = merge.data()["waivers"]  # in the merge record, so in every export
    assert (recorded["rule"], recorded["by"]) == (RULE, "sue")
    packet = build_packet(engine, REPO, pr.number)
    [waiver] = packet.waivers
    assert (waiver.rule, waiver.by, waiver.team, waiver.findings) == (
        RULE,
        "sue",
        "@acme/security",
        1,
    )
    assert waiver.reason == "Black Friday promo approved in FIN-88"
    page = render_html(packet)  # the console's evidence page and `audit evidence --format html`
    assert f"<th>Waiver</th><td><code>{RULE}</code> by sue (@acme/security)" in page
    now = datetime.now(UTC)
    cards = agent_scorecards(engine, Window(now - timedelta(days=1), now + timedelta(minutes=1)))
    by_class = {(c.agent_id, c.rule_class): c for c in cards}
    assert by_class[("pricing-bot", None)].waivers_by_rule == {RULE: 1}
    assert by_class[("pricing-bot", "pricing")].waivers == 1


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("pricing-bot[bot]", "is a bot"),
        ("acme-codex", "acme-codex is a registered agent: agents can never waive"),
        ("olga", "olga is the operator of the agent run"),
        ("dave", "dave is not a member of @acme/security"),
    ],
)
def test_agents_the_operator_and_non_members_are_refused(
    stack: LocalStack, who: str, why: str
) -> None:
    pr = agent_price_cut(stack)
    stack.sim.comment(pr, who, WAIVE)
    wait_reply(stack, pr, who, why)
    stack.wait_processed()
    assert waiver_events(stack, pr) == []
    run = stack.sim.latest_check(pr)
    assert run is not None and "Tier 2" in (run.title or "")


def test_the_author_cannot_waive_on_their_own_pr(stack: LocalStack) -> None:
    """sue is on the security team, but this is sue's own change (`enforce_for: all`)."""
    pr = stack.sim.open_pr(
        REPO,
        "sue",
        "sue/pro-cut",
        {"catalog/plans.json": CATALOG.replace("49.0", "29.4")},
        title="Cut Pro",
    )
    wait_check(stack, pr, "action_required", "Tier 2")
    stack.sim.comment(pr, "sue", WAIVE)
    wait_reply(stack, pr, "sue", "sue is the PR author: the author can never waive")
    assert waiver_events(stack, pr) == []


def test_an_expired_waiver_is_refused_and_one_that_expires_ends_by_the_sweep(
    stack: LocalStack,
) -> None:
    pr = agent_price_cut(stack)
    stack.sim.comment(pr, "sue", WAIVE + " expires: 2020-01-01")
    wait_reply(stack, pr, "sue", "has already expired")
    assert waiver_events(stack, pr) == []

    stack.sim.comment(pr, "sue", WAIVE + " expires: 1d")
    wait_check(stack, pr, "success", "waived by sue")
    runtime = stack.runtime
    assert runtime is not None
    assert sweep_open_prs(runtime) == []  # nothing has ended yet
    later = datetime.now(UTC) + timedelta(days=2)
    runtime.clock = lambda: later
    assert sweep_open_prs(runtime) == [f"{REPO}#{pr.number}"]
    run = wait_check(stack, pr, "action_required", "**expired**")
    assert "Tier 2" in (run.title or "")
    stack.wait_processed()
    assert sweep_open_prs(runtime) == []  # once per evaluation


def test_a_push_that_changes_the_waived_price_voids_the_waiver(stack: LocalStack) -> None:
    pr = agent_price_cut(stack)
    stack.sim.comment(pr, "sue", WAIVE)
    wait_check(stack, pr, "success", "waived by sue")
    # A push elsewhere keeps it.
    stack.sim.push(
        pr, {"README.md": "# platform\n\nPromo.\n"}, message="Docs\n\nAgent-Run-Id: run_waive_1"
    )
    wait_check(stack, pr, "success", "waived by sue")
    # A push that moves the waived price again voids it.
    stack.sim.push(
        pr,
        {"catalog/plans.json": CATALOG.replace("49.0", "35.0")},
        message="Deeper cut\n\nAgent-Run-Id: run_waive_1",
    )
    run = wait_check(stack, pr, "action_required", "**voided**")
    assert "Tier 2" in (run.title or "") and "a push changed" in (run.summary or "")


def test_unreadable_team_membership_means_no_waiver(stack: LocalStack) -> None:
    """Without `members: read` GitHub refuses the team's members: sue is refused, not trusted."""
    pr = agent_price_cut(stack)
    [inst] = stack.sim.world.installations.values()
    stack.sim.set_permissions(
        inst.id, {k: v for k, v in inst.permissions.items() if k != "members"}
    )
    stack.sim.comment(pr, "sue", WAIVE)
    wait_reply(stack, pr, "sue", "sue is not a member of @acme/security")
    stack.wait_processed()
    assert waiver_events(stack, pr) == []
    assert "Tier 2" in (latest_check(stack, pr).title or "")


def test_an_edited_command_and_one_on_a_closed_pr_do_nothing(stack: LocalStack) -> None:
    """A command acts once, when it is made, on an open PR: an edit that turns a comment into
    one, or a command on a closed PR, is neither answered nor recorded."""
    pr = agent_price_cut(stack)
    comment = stack.sim.comment(pr, "sue", "Looks like a promo to me.")
    stack.sim.edit_comment(comment.id, WAIVE, by="sue")
    stack.wait_processed()
    assert waiver_events(stack, pr) == [] and replies(stack, pr, "sue") == []
    assert "Tier 2" in (latest_check(stack, pr).title or "")

    stack.sim.close_pr(pr, by="bob")
    stack.sim.comment(pr, "sue", WAIVE)
    stack.wait_processed()
    assert waiver_events(stack, pr) == [] and replies(stack, pr, "sue") == []
