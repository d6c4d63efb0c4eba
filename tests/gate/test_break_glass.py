"""Break-glass, the pure verdict: who may break glass, for which head, with which reason.

The facts are what the service reads from GitHub (label events, comments, team members) and from
its own record (when it first saw the head); the verdict is app/gate/break_glass.py's alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config.repo import BreakGlassConfig
from app.core.models import FileDiff
from app.core.snapshot import Conversation, LabelEvent, PrComment, PullRequestSnapshot
from app.gate.break_glass import REASON_LIMIT, decide, is_command, parse_reason
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.gate.render.markdown import check_title, conclusion_for, gate_conclusion, render_markdown

ROOT = Path(__file__).resolve().parents[2]
GATE = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")
HEAD = "9f2c1e0d8b7a69584736251403f2e1d0c9b8a796"
SEEN = datetime(2026, 12, 2, 9, 30, 0, 400_000, tzinfo=UTC)
LABEL = "countersign/break-glass"
CONFIG = BreakGlassConfig(team="@acme/sre")
CATALOG = b'{"plans": [{"plan_code": "pro-monthly", "monthly_usd": 49.0}]}\n'
REPO_CONFIG = (
    'paths:\n  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
    'approvers:\n  pricing: ["@acme/finance"]\n'
    'break_glass: {team: "@acme/sre"}\n'
)


def at(seconds: float) -> datetime:
    """GitHub's clock, `seconds` after Countersign first saw the head (whole seconds)."""
    return (SEEN + timedelta(seconds=seconds)).replace(microsecond=0)


def labeled(actor: str, seconds: float = 5, *, bot: bool = False, label: str = LABEL) -> LabelEvent:
    return LabelEvent(event="labeled", label=label, actor=actor, actor_is_bot=bot, at=at(seconds))


def said(author: str, body: str, seconds: float = 10, *, bot: bool = False) -> PrComment:
    return PrComment(
        id=int(seconds * 1000) + len(author),
        author=author,
        author_is_bot=bot,
        at=at(seconds),
        body=body,
        url=f"https://github.com/acme/shop/pull/7#issuecomment-{int(seconds)}",
    )


def snap(
    *events: LabelEvent,
    comments: tuple[PrComment, ...] = (),
    labels: tuple[str, ...] = (LABEL,),
    members: tuple[str, ...] | None = ("sam", "acme-codex", "sre-bot[bot]"),
    seen: datetime | None = SEEN,
    error: str | None = None,
    author: str = "pricing-bot[bot]",
    files: tuple[FileDiff, ...] = (),
    config: str | None = None,
) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repo="acme/shop",
        number=7,
        author=author,
        author_is_bot=author.endswith("[bot]"),
        body="Cut Pro for the promotion.\n\nAgent-Run-Id: run_glass_1",
        head_sha=HEAD,
        labels=labels,
        files=files,
        config_text=config.encode() if config else None,
        team_members={} if members is None else {"acme/sre": members},
        conversation=Conversation(
            label_events=events, comments=comments, head_first_seen=seen, error=error
        ),
    )


AGENTS = frozenset({"pricing-bot[bot]", "acme-codex"})
REASON = "/break-glass INC-4711: checkout returns 500 since the 09:12 deploy, revert now"


def test_a_team_member_with_a_reason_breaks_glass_for_this_head() -> None:
    glass = decide(
        CONFIG, snap(labeled("sam"), comments=(said("sam", REASON),)), agent_logins=AGENTS
    )
    assert glass is not None and glass.active
    assert glass.by == "sam" and glass.team == "@acme/sre" and glass.head_sha == HEAD
    assert glass.reason == "INC-4711: checkout returns 500 since the 09:12 deploy, revert now"
    assert glass.at == "2026-12-02T09:30:10Z"  # the later of label and reason
    assert glass.comment_url and glass.comment_url.endswith("#issuecomment-10")


def test_no_label_means_nothing_to_say() -> None:
    assert decide(CONFIG, snap(labels=("countersign:tier-2",)), agent_logins=AGENTS) is None


@pytest.mark.parametrize(
    ("events", "comments", "members", "why"),
    [
        (
            (labeled("dave"),),
            (said("dave", REASON),),
            ("sam",),
            "dave is not a member of @acme/sre",
        ),
        (
            (labeled("sre-bot[bot]", bot=True),),
            (said("sre-bot[bot]", REASON, bot=True),),
            ("sre-bot[bot]",),
            "sre-bot[bot] is a bot",
        ),
        (
            (labeled("acme-codex"),),
            (said("acme-codex", REASON),),
            ("acme-codex",),
            "acme-codex is a registered agent",
        ),
        ((labeled("sam"),), (), ("sam",), "gave no reason"),
        ((labeled("sam"),), (said("sam", "/break-glass"),), ("sam",), "gave no reason"),
        ((labeled("sam"),), (said("olga", REASON),), ("sam", "olga"), "gave no reason"),
        ((labeled("sam"),), (said("sam", "please /break-glass now"),), ("sam",), "gave no reason"),
        ((labeled("sam"),), (said("sam", REASON),), None, "members of @acme/sre could not be read"),
        ((), (said("sam", REASON),), ("sam",), "who added it is unknown"),
        (
            (labeled("sam", -3),),
            (said("sam", REASON),),
            ("sam",),
            "added the label before Countersign saw the head 9f2c1e0",
        ),
        ((labeled("sam"),), (said("sam", REASON, -60),), ("sam",), "gave no reason"),
        # The label as it is now counts: a member's label removed and re-added by someone else.
        (
            (
                labeled("sam"),
                LabelEvent(event="unlabeled", label=LABEL, actor="sam", at=at(6)),
                labeled("dave", 7),
            ),
            (said("sam", REASON),),
            ("sam",),
            "dave is not a member",
        ),
    ],
)
def test_refusals_name_the_reason(
    events: tuple[LabelEvent, ...],
    comments: tuple[PrComment, ...],
    members: tuple[str, ...] | None,
    why: str,
) -> None:
    glass = decide(CONFIG, snap(*events, comments=comments, members=members), agent_logins=AGENTS)
    assert glass is not None and not glass.active
    assert why in glass.refused[0], glass.refused


def test_the_author_can_never_break_glass() -> None:
    s = snap(labeled("sam"), comments=(said("sam", REASON),), author="sam")
    glass = decide(CONFIG, s, agent_logins=AGENTS)
    assert glass is not None and not glass.active
    assert "sam is the PR author" in glass.refused[0]


def test_disabled_without_a_team_and_unreadable_facts_fail_closed() -> None:
    s = snap(labeled("sam"), comments=(said("sam", REASON),))
    off = decide(BreakGlassConfig(), s, agent_logins=AGENTS)
    assert off is not None and not off.active and "not enabled" in off.refused[0]
    broken = snap(error="403 Resource not accessible by integration")
    glass = decide(CONFIG, broken, agent_logins=AGENTS)
    assert glass is not None and not glass.active
    assert "cannot be established: 403" in glass.refused[0]
    never_seen = snap(labeled("sam"), comments=(said("sam", REASON),), seen=None)
    glass = decide(CONFIG, never_seen, agent_logins=AGENTS)
    assert glass is not None and not glass.active


def test_a_relabel_github_names_no_actor_for_is_refused() -> None:
    """sam labelled, then the label was removed and put back by an actor GitHub does not name
    (`actor: null`): sam's older event must not decide."""
    unknown = LabelEvent(event="unlabeled", label=LABEL, actor="", at=at(6))
    again = LabelEvent(event="labeled", label=LABEL, actor="", at=at(7))
    s = snap(labeled("sam"), unknown, again, comments=(said("sam", REASON),))
    glass = decide(CONFIG, s, agent_logins=AGENTS)
    assert glass is not None and not glass.active
    assert "names no actor" in glass.refused[0]


def test_a_label_in_the_same_second_as_the_head_was_first_seen_is_refused() -> None:
    """GitHub writes whole seconds; a label stamped in the second the head was first seen may
    have been given for the previous head (a push in that second): fail closed."""
    glass = decide(
        CONFIG,
        snap(labeled("sam", -0.3), comments=(said("sam", REASON, 2),)),
        agent_logins=AGENTS,
    )
    assert glass is not None and not glass.active
    assert "before Countersign saw the head" in glass.refused[0]
    next_second = decide(
        CONFIG, snap(labeled("sam", 0.6), comments=(said("sam", REASON, 0.6),)), agent_logins=AGENTS
    )
    assert next_second is not None and next_second.active


def test_a_renamed_label_is_the_one_that_counts() -> None:
    config = BreakGlassConfig(team="@acme/sre", label="emergency")
    s = snap(
        labeled("sam", label="emergency"), comments=(said("sam", REASON),), labels=("emergency",)
    )
    glass = decide(config, s, agent_logins=AGENTS)
    assert glass is not None and glass.active and glass.label == "emergency"


def test_reasons() -> None:
    assert parse_reason("/break-glass  db   down\nsee INC-1") == "db down see INC-1"
    assert parse_reason("/break-glass") is None
    assert parse_reason("/break-glassy now") is None
    assert parse_reason("/break-glass rotate https://ops:hunter2@vault.acme.com now") == (
        "rotate https://ops:<redacted>@vault.acme.com now"
    )
    assert is_command("  /break-glass") and not is_command("LGTM")


@given(st.text(max_size=2000))
def test_any_comment_parses_without_error_and_reasons_stay_short(body: str) -> None:
    reason = parse_reason(body)
    assert reason is None or 0 < len(reason) <= REASON_LIMIT
    assert (reason is not None) <= is_command(body)


# --- in the pipeline and on the check --------------------------------------------------------


def price_cut(
    *events: LabelEvent, comments: tuple[PrComment, ...] = (), config: str = REPO_CONFIG
) -> PullRequestSnapshot:
    change = FileDiff(
        path="catalog/plans.json", base=CATALOG, head=CATALOG.replace(b"49.0", b"29.4")
    )
    return snap(*events, comments=comments, files=(change,), config=config)


def test_break_glass_turns_a_waiting_check_green_and_says_who_and_why() -> None:
    waiting = evaluate_snapshot(price_cut(), GATE)
    assert waiting.conclusion == "action_required"
    report = evaluate_snapshot(
        price_cut(labeled("sam"), comments=(said("sam", REASON),)), GATE
    ).report
    assert report.tier == 2 and not report.approvals.satisfied
    assert conclusion_for(report) == "success"
    title = check_title(report, "success")
    assert title.startswith("Break-glass by sam · Tier 2 · INC-4711: checkout returns 500")
    summary = render_markdown(report)
    assert "**Break-glass** by sam (@\u200bacme/sre)" in summary
    assert f"for head `{HEAD[:7]}` only" in summary


def test_break_glass_never_lifts_a_failure() -> None:
    """A missing run ID (a problem) stays a failure, whoever broke glass."""
    s = price_cut(labeled("sam"), comments=(said("sam", REASON),)).model_copy(
        update={"body": "no trailer"}
    )
    evaluation = evaluate_snapshot(s, GATE)
    assert evaluation.report.break_glass is not None and evaluation.report.break_glass.active
    assert evaluation.conclusion == "failure"


def test_a_refused_label_is_reported_and_changes_nothing() -> None:
    report = evaluate_snapshot(
        price_cut(labeled("dave"), comments=(said("dave", REASON),)), GATE
    ).report
    assert conclusion_for(report) == "action_required"
    summary = render_markdown(report)
    assert "present but not honoured" in summary
    assert "dave is not a member of @\u200bacme/sre" in summary


def test_observe_mode_is_neutral_and_says_what_enforcing_would_do() -> None:
    evaluation = evaluate_snapshot(price_cut(config=REPO_CONFIG + "mode: observe\n"), GATE)
    report = evaluation.report
    assert report.mode == "observe" and evaluation.observed
    assert evaluation.conclusion == "neutral"
    assert evaluation.would_conclude == gate_conclusion(report) == "action_required"
    title = check_title(report, "neutral")
    assert title.startswith("Observe mode · would wait for approvals · Tier 2 · high")
    assert title.endswith("0 of 2 approvals (needs 2 distinct approvals, @acme/finance)")
    assert "Enforced, it would conclude `action_required`" in render_markdown(report)


def test_an_invalid_mode_fails_closed_never_observes() -> None:
    evaluation = evaluate_snapshot(price_cut(config=REPO_CONFIG + "mode: observing\n"), GATE)
    assert evaluation.report.mode == "enforce"
    assert evaluation.conclusion == "failure"
    assert "mode: Input should be 'enforce' or 'observe'" in evaluation.report.problems[0]
