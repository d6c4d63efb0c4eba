"""The ApprovalGate: tiers, who counts, blocking reviews, and approvals carried by content."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import PathRule, RepoConfig, parse_repo_config
from app.core.models import Change, FieldChange, FileDiff
from app.core.report import Tier
from app.core.snapshot import Review, ReviewState
from app.gate.approvals import (
    UNCONFIGURED_BOARD,
    ApprovalGate,
    GateInput,
    GateOutcome,
    PriorEvaluation,
)
from app.gate.owners import CodeOwnersMap
from app.semdiff.dispatch import analyze_files
from app.semdiff.terraform import analyzer as terraform
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "owners"
OWNERS = CodeOwnersMap.parse((FIXTURES / "CODEOWNERS").read_text())
CONFIG = parse_repo_config((FIXTURES / "countersign.yml").read_bytes())
TEAMS: dict[str, tuple[str, ...]] = {
    k: tuple(v) for k, v in json.loads((FIXTURES / "teams.json").read_text()).items()
}
AUTHOR = "infra-bot[bot]"
AGENTS = frozenset({"infra-bot[bot]", "acme-pricing-agent"})
HEAD = "c0ffee2222222222222222222222222222222222"
OLD = "c0ffee1111111111111111111111111111111111"
POLICY = "pv-1"

DB = Change(
    file="infra/prod/db.tf",
    kind="terraform",
    address="aws_db_instance.billing",
    op="update",
    fields=(FieldChange(path="instance_class", before="db.t3.large", after="db.r6g.xlarge"),),
    facts={"resource_type": "aws_db_instance", "environment": "production"},
    line=2,
)
DB_RESIZED = DB.model_copy(
    update={
        "fields": (
            FieldChange(path="instance_class", before="db.t3.large", after="db.r6g.2xlarge"),
        )
    }
)
VPC = Change(
    file="infra/modules/network/vpc.tf",
    kind="terraform",
    address="aws_vpc.main",
    op="update",
    fields=(FieldChange(path="cidr_block", before="10.0.0.0/16", after="10.0.0.0/15"),),
    facts={"resource_type": "aws_vpc"},
    line=1,
)
PRICE = Change(
    file="catalog/plans.json",
    kind="pricing",
    address="plan_code:pro-monthly",
    op="update",
    fields=(FieldChange(path="monthly_usd", before=49, after=59),),
    facts={"price_before": 49, "price_after": 59, "price_delta_pct": 20.4},
    line=14,
)
RUNBOOK = Change(
    file="docs/runbooks/db-failover.md",
    kind="text",
    address="docs/runbooks/db-failover.md",
    op="update",
    facts={"lines_added": 4, "lines_removed": 1},
)
BACKFILL = Change(
    file="scripts/backfill.sql",
    kind="sql",
    address="scripts/backfill.sql",
    op="create",
    facts={"statements": 3},
)
RENAMED = Change(
    file="infra/prod/cache.tf",
    old_file="infra/staging/cache.tf",
    kind="terraform",
    address="aws_elasticache_cluster.sessions",
    op="rename",
    line=1,
)

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def review(
    login: str,
    state: ReviewState = "APPROVED",
    commit: str | None = HEAD,
    minute: int = 0,
    *,
    is_bot: bool = False,
) -> Review:
    return Review(
        login=login,
        state=state,
        commit_id=commit,
        submitted_at=T0 + timedelta(minutes=minute),
        is_bot=is_bot,
    )


def run_gate(
    tier: Tier,
    changes: Sequence[Change] = (DB,),
    reviews: Sequence[Review] = (),
    *,
    risky: Sequence[str] = (),
    config: RepoConfig = CONFIG,
    owners: CodeOwnersMap = OWNERS,
    author: str = AUTHOR,
    history: dict[str, PriorEvaluation] | None = None,
    policy_version: str = POLICY,
    rejected: Mapping[str, tuple[str, ...]] | None = None,
) -> GateOutcome:
    def may_approve(login: str) -> tuple[bool, tuple[str, ...]]:
        reasons = (rejected or {}).get(login)
        return (reasons is None), reasons or ()

    return ApprovalGate().evaluate(
        GateInput(
            tier=tier,
            changes=tuple(changes),
            risky_kinds=tuple(risky),
            owners=owners,
            config=config,
            reviews=tuple(reviews),
            author=author,
            agent_logins=AGENTS,
            may_approve=may_approve,
            team_members=TEAMS,
            head_sha=HEAD,
            policy_version=policy_version,
            history=history or {},
        )
    )


DB_OWNERS = "1 code owner of infra/prod/db.tf (@acme/platform or @acme/sre)"
PRICE_OWNERS = "1 code owner of catalog/plans.json (@acme/finance)"
PLAT_SRE = "@acme/platform or @acme/sre"
TWO = "2 distinct approvals"
T2_DB = [TWO, DB_OWNERS, "@acme/platform (terraform)"]
T3_DB = [*T2_DB, "@acme/security (change board)"]
CACHE_OWNERS = [
    "1 code owner of infra/prod/cache.tf (@acme/platform or @acme/sre)",
    "1 code owner of infra/staging/cache.tf (@acme/platform)",
]
RUNBOOK_OWNERS = "1 code owner of docs/runbooks/db-failover.md (@dana)"
BLOCKED = "blocked by policy"
P = pytest.param


@pytest.mark.parametrize(
    ("tier", "changes", "risky", "approvers", "required", "missing"),
    [
        P(0, [DB], [], [], [], [], id="tier0-nothing"),
        P(1, [DB], [], [], [DB_OWNERS], [PLAT_SRE], id="tier1-owner-missing"),
        P(1, [DB], [], ["sam"], [DB_OWNERS], [], id="tier1-team-member-owner"),
        P(1, [DB], [], ["nina"], [DB_OWNERS], [PLAT_SRE], id="tier1-non-owner"),
        P(1, [BACKFILL], [], ["nina"], ["1 approval"], [], id="tier1-unowned-any-reviewer"),
        P(1, [BACKFILL], [], [], ["1 approval"], ["1 approval"], id="tier1-unowned-missing"),
        P(1, [], [], [], ["1 approval"], ["1 approval"], id="tier1-no-changes"),
        P(
            1,
            [DB, PRICE],
            [],
            ["alice"],
            [PRICE_OWNERS, DB_OWNERS],
            ["@acme/finance"],
            id="tier1-each-owned-path",
        ),
        P(1, [RENAMED], [], ["sam"], CACHE_OWNERS, ["@acme/platform"], id="tier1-rename-old-path"),
        P(1, [RUNBOOK], [], ["dana"], [RUNBOOK_OWNERS], [], id="tier1-user-owner"),
        P(2, [DB], ["terraform"], ["sam", "nina"], T2_DB, ["@acme/platform"], id="tier2-domain"),
        P(2, [DB], ["terraform"], ["alice"], T2_DB, [TWO], id="tier2-one-approval"),
        P(2, [DB], ["terraform"], ["alice", "nina"], T2_DB, [], id="tier2-ok"),
        P(
            2,
            [PRICE],
            ["pricing"],
            ["fiona", "dana"],
            [TWO, PRICE_OWNERS, "@acme/finance (pricing)"],
            [],
            id="tier2-pricing",
        ),
        P(2, [BACKFILL], ["sql"], ["nina", "dana"], [TWO], [], id="tier2-kind-without-approvers"),
        P(3, [DB], ["terraform"], ["alice", "nina"], T3_DB, ["@acme/security"], id="tier3-board"),
        P(3, [DB], ["terraform"], ["alice", "sofia"], T3_DB, [], id="tier3-ok"),
        P("blocked", [DB], [], ["alice", "sofia"], [BLOCKED], [BLOCKED], id="blocked"),
        P(7, [DB], [], ["alice"], ["unknown tier 7"], ["unknown tier 7"], id="unknown-tier"),
    ],
)
def test_tier_requirements(
    tier: Tier,
    changes: list[Change],
    risky: list[str],
    approvers: list[str],
    required: list[str],
    missing: list[str],
) -> None:
    outcome = run_gate(tier, changes, [review(a) for a in approvers], risky=risky)
    status = outcome.status
    assert list(status.required) == required
    assert list(status.missing) == missing
    assert status.satisfied is (not missing)
    assert [a.login for a in status.approvals] == sorted(approvers, key=str.lower)


def test_tier3_without_a_change_board_fails_closed() -> None:
    config = RepoConfig(approvers={"terraform": ("@acme/platform",)})
    reviews = [review(a) for a in ("alice", "Bob", "sofia", "sam")]
    status = run_gate(3, [DB], reviews, risky=["terraform"], config=config).status
    assert status.required == (*T2_DB, UNCONFIGURED_BOARD)
    assert status.missing == (UNCONFIGURED_BOARD,)
    assert not status.satisfied


@pytest.mark.parametrize(
    ("reviewer", "ignored"),
    [
        pytest.param(review(AUTHOR), f"{AUTHOR}: PR author", id="self-approval"),
        pytest.param(review("INFRA-BOT[bot]"), "INFRA-BOT[bot]: PR author", id="author-any-case"),
        pytest.param(review("deploy-bot[bot]"), "deploy-bot[bot]: agents never count", id="bot"),
        pytest.param(
            review("acme-pricing-agent"), "acme-pricing-agent: agents never count", id="agent-login"
        ),
        pytest.param(
            review("svc-terraform", is_bot=True), "svc-terraform: agents never count", id="bot-flag"
        ),
        pytest.param(
            review("alice"),
            "alice: alice operated the agent run that produced this change",
            id="operator-rejected-by-policy",
        ),
    ],
)
def test_who_never_counts(reviewer: Review, ignored: str) -> None:
    rejected = {"alice": ("alice operated the agent run that produced this change",)}
    status = run_gate(1, [DB], [reviewer], rejected=rejected).status
    assert status.approvals == ()
    assert status.ignored == (ignored,)
    assert not status.satisfied


def test_author_is_ignored_for_a_human_pr_too() -> None:
    status = run_gate(1, [DB], [review("alice"), review("bob")], author="alice").status
    assert [a.login for a in status.approvals] == ["bob"]
    assert status.ignored == ("alice: PR author",)
    assert status.satisfied


def test_policy_rejection_without_reasons_still_explains() -> None:
    status = run_gate(1, [DB], [review("alice")], rejected={"alice": ()}).status
    assert status.ignored == ("alice: not allowed to approve by policy",)


def test_team_approval_recorded_with_its_team() -> None:
    status = run_gate(1, [DB], [review("bob")]).status
    assert status.satisfied
    (record,) = status.approvals
    assert record.login == "bob"
    assert record.teams == ("@acme/platform",)  # membership is case-insensitive ("Bob")
    assert record.commit == HEAD
    assert record.at == T0.isoformat()
    assert not record.carried


def test_review_requests_name_missing_owners_and_teams() -> None:
    outcome = run_gate(3, [DB, RUNBOOK, PRICE], risky=["terraform", "pricing"])
    assert outcome.to_request_users == ("dana",)
    assert outcome.to_request_teams == (
        "acme/finance",
        "acme/platform",
        "acme/security",
        "acme/sre",
    )
    assert outcome.status.missing == (
        "2 distinct approvals",
        "@acme/finance",
        "@dana",
        "@acme/platform or @acme/sre",
        "@acme/platform",
        "@acme/security",
    )


def test_review_requests_skip_satisfied_author_and_email() -> None:
    tariffs = Change(file="tariffs/eu-zones.csv", kind="pricing", address="zone:eu-1", op="update")
    outcome = run_gate(1, [RUNBOOK, tariffs], [review("frank")], author="dana")
    assert outcome.to_request_users == ()
    assert outcome.to_request_teams == ()
    assert outcome.status.missing == ("@dana",)
    outcome = run_gate(1, [RUNBOOK, tariffs], author="dana")
    assert outcome.to_request_teams == ("acme/finance",)


@pytest.mark.parametrize(
    ("reviews", "blocking", "satisfied"),
    [
        pytest.param(
            [review("nina", "CHANGES_REQUESTED")], ["nina requested changes"], False, id="blocks"
        ),
        pytest.param(
            [review("nina", "CHANGES_REQUESTED"), review("nina", "APPROVED", minute=5)],
            [],
            True,
            id="later-approval-unblocks",
        ),
        pytest.param(
            [review("nina", "CHANGES_REQUESTED"), review("nina", "DISMISSED", minute=5)],
            [],
            True,
            id="dismissed-clears",
        ),
        pytest.param(
            [
                review("nina", "CHANGES_REQUESTED"),
                review("nina", "COMMENTED", minute=5),
                review("nina", "PENDING", commit=None, minute=6),
            ],
            ["nina requested changes"],
            False,
            id="comment-does-not-clear",
        ),
        pytest.param(
            [review("nina", "APPROVED", minute=5), review("nina", "CHANGES_REQUESTED", minute=1)],
            [],
            True,
            id="time-order-not-list-order",
        ),
        pytest.param(
            [review("nina", "CHANGES_REQUESTED", commit=OLD)],
            ["nina requested changes"],
            False,
            id="stale-request-still-blocks",
        ),
        pytest.param([review(AUTHOR, "CHANGES_REQUESTED")], [], True, id="author-cannot-block"),
        pytest.param(
            [review("deploy-bot[bot]", "CHANGES_REQUESTED")], [], True, id="bot-cannot-block"
        ),
    ],
)
def test_changes_requested(reviews: list[Review], blocking: list[str], satisfied: bool) -> None:
    # alice satisfies tier 1 on her own; only blocking decides
    status = run_gate(1, [DB], [review("alice"), *reviews]).status
    assert list(status.blocking) == blocking
    assert status.satisfied is satisfied


def test_changes_requested_blocks_tier0_too() -> None:
    status = run_gate(0, [DB], [review("nina", "CHANGES_REQUESTED")]).status
    assert status.required == ()
    assert not status.satisfied


def test_approval_then_dismissal_no_longer_counts() -> None:
    status = run_gate(1, [DB], [review("alice"), review("alice", "DISMISSED", minute=3)]).status
    assert status.approvals == ()
    assert status.missing == ("@acme/platform or @acme/sre",)


def test_without_timestamps_list_order_decides() -> None:
    cr = Review(login="nina", state="CHANGES_REQUESTED", commit_id=HEAD)
    ok = Review(login="nina", state="APPROVED", commit_id=HEAD)
    assert run_gate(1, [BACKFILL], [cr, ok]).status.satisfied
    assert not run_gate(1, [BACKFILL], [ok, cr]).status.satisfied


# --- approvals bind to content -----------------------------------------------------------


def prior(
    changes: Sequence[Change], tier: Tier = 1, pv: str = POLICY
) -> dict[str, PriorEvaluation]:
    return {OLD: PriorEvaluation(changes=tuple(changes), tier=tier, policy_version=pv)}


MOVED = DB.model_copy(update={"line": 14})
REPRICED = PRICE.model_copy(
    update={"fields": (FieldChange(path="monthly_usd", before=49, after=69),)}
)
SCOPE = "changes in their scope since then"
STRICT = CONFIG.model_copy(update={"invalidate_on_push": "strict"})


@pytest.mark.parametrize(
    ("before", "after", "approver", "reason"),
    [
        P([DB], [MOVED], "alice", None, id="rebase-lines-moved"),
        P([DB], [DB, PRICE], "alice", None, id="out-of-scope-push"),
        P([DB, PRICE], [DB], "sam", None, id="out-of-scope-revert"),
        P([DB], [DB, VPC], "sam", None, id="other-team-file-for-sre"),
        P([DB], [DB, VPC], "alice", SCOPE, id="domain-kind-is-in-scope"),
        P([DB], [DB_RESIZED], "alice", SCOPE, id="in-scope-semantic-change"),
        P([DB], [DB_RESIZED], "Bob", SCOPE, id="in-scope-via-team"),
        P([DB], [DB, BACKFILL], "sam", SCOPE, id="unowned-file-is-everyones-scope"),
        P([DB, PRICE], [DB, REPRICED], "sofia", SCOPE, id="change-board-sees-everything"),
        P([DB, PRICE], [DB, REPRICED], "fiona", SCOPE, id="finance-sees-its-price-book"),
        P([DB, PRICE], [DB_RESIZED, PRICE], "fiona", None, id="finance-not-the-database"),
    ],
)
def test_carry_over_by_scope(
    before: list[Change], after: list[Change], approver: str, reason: str | None
) -> None:
    status = run_gate(1, after, [review(approver, commit=OLD)], history=prior(before)).status
    if reason is None:
        (record,) = status.approvals
        assert (record.login, record.commit, record.carried) == (approver, OLD, True)
        assert status.ignored == ()
    else:
        assert status.approvals == ()
        assert status.ignored == (f"{approver}: approved c0ffee1; {reason}",)


@pytest.mark.parametrize(
    ("tier_then", "policy_then", "config", "reason"),
    [
        P(2, POLICY, CONFIG, "approved c0ffee1 at tier 2; the tier is now 1", id="tier-changed"),
        P(1, "pv-0", CONFIG, "approved c0ffee1 under another policy version", id="policy-changed"),
        P(
            1,
            POLICY,
            STRICT,
            "approved c0ffee1, not the head (invalidate_on_push: strict)",
            id="strict",
        ),
    ],
)
def test_same_content_is_voided_by(
    tier_then: Tier, policy_then: str, config: RepoConfig, reason: str
) -> None:
    history = prior([DB], tier_then, policy_then)
    status = run_gate(1, [DB], [review("alice", commit=OLD)], config=config, history=history).status
    assert status.approvals == ()
    assert status.ignored == (f"alice: {reason}",)
    assert not status.satisfied
    # the same review at the head counts whatever happened before
    assert run_gate(1, [DB], [review("alice")], config=config, history=history).status.satisfied


def test_unknown_history_commit_does_not_carry() -> None:
    status = run_gate(1, [DB], [review("alice", commit=OLD)], history={}).status
    assert status.approvals == ()
    assert status.ignored == (
        "alice: approved c0ffee1, which was never evaluated (cannot tell what changed)",
    )
    assert not status.satisfied


def test_approval_without_commit_does_not_carry() -> None:
    status = run_gate(1, [DB], [review("alice", commit=None)], history=prior([DB])).status
    assert status.ignored == ("alice: approval is not tied to a commit",)


def test_carried_approval_satisfies_and_head_approval_is_not_carried() -> None:
    status = run_gate(
        2,
        [DB],
        [review("alice", commit=OLD), review("nina")],
        risky=["terraform"],
        history=prior([DB], tier=2),
    ).status
    assert status.satisfied
    assert [(a.login, a.carried) for a in status.approvals] == [("alice", True), ("nina", False)]


def test_rebase_with_real_terraform_keeps_approval_and_resize_voids_it() -> None:
    """Analyse real Terraform: a rebase that shifts lines keeps the approval; a resize voids it."""

    def analyse(base: str, head: str) -> tuple[Change, ...]:
        tf = FIXTURES / "infra"
        diff = FileDiff(
            path="infra/prod/db.tf",
            base=(tf / base).read_bytes(),
            head=(tf / head).read_bytes(),
        )
        return tuple(terraform.analyze(diff, PathRule()))

    first = analyse("db.base1.tf", "db.head1.tf")
    rebased = analyse("db.base2.tf", "db.head2.tf")
    resized = analyse("db.base2.tf", "db.head2-resized.tf")
    assert [c.line for c in first] != [c.line for c in rebased]  # the rebase moved the resource
    history = prior(first, tier=2)
    reviews = [review("bob", commit=OLD), review("nina")]
    kept = run_gate(2, rebased, reviews, risky=["terraform"], history=history).status
    assert kept.satisfied
    assert [a.login for a in kept.approvals if a.carried] == ["bob"]
    voided = run_gate(2, resized, reviews, risky=["terraform"], history=history).status
    assert not voided.satisfied
    assert voided.ignored == ("bob: approved c0ffee1; changes in their scope since then",)


def test_no_codeowners_means_everyone_sees_everything() -> None:
    none = CodeOwnersMap.parse(None)
    status = run_gate(
        1, [DB, PRICE], [review("nina", commit=OLD)], owners=none, history=prior([DB])
    ).status
    assert status.approvals == ()
    assert status.required == ("1 approval",)


# --- properties ----------------------------------------------------------------------------

HUMANS = ["alice", "Bob", "sam", "nina", "fiona", "frank", "sofia", "dana", "erin"]
CHANGES = [DB, DB_RESIZED, VPC, PRICE, RUNBOOK, BACKFILL, RENAMED]
TIERS: list[Tier] = [0, 1, 2, 3, "blocked"]

reviews_st = st.lists(
    st.builds(
        review,
        login=st.sampled_from([*HUMANS, AUTHOR, "deploy-bot[bot]"]),
        state=st.sampled_from(["APPROVED", "COMMENTED", "DISMISSED", "PENDING"]),
        commit=st.sampled_from([HEAD, OLD, "deadbeef" * 5, None]),
        minute=st.integers(0, 60),
    ),
    max_size=8,
)
changes_st = st.lists(st.sampled_from(range(len(CHANGES))), max_size=4, unique=True).map(
    lambda picks: [CHANGES[i] for i in picks]
)


@settings(max_examples=examples(300), deadline=None)
@given(
    tier=st.sampled_from(TIERS),
    changes=changes_st,
    before=changes_st,
    risky=st.lists(st.sampled_from(["terraform", "pricing", "sql", "text"]), max_size=3),
    reviews=reviews_st,
    extra=st.sampled_from(HUMANS),
    strict=st.booleans(),
    owners=st.sampled_from([OWNERS, CodeOwnersMap.parse(None)]),
)
def test_an_eligible_approval_never_unsatisfies(
    tier: Tier,
    changes: list[Change],
    before: list[Change],
    risky: list[str],
    reviews: list[Review],
    extra: str,
    strict: bool,
    owners: CodeOwnersMap,
) -> None:
    config = CONFIG.model_copy(update={"invalidate_on_push": "strict" if strict else "content"})
    kwargs: dict[str, Any] = {
        "risky": risky,
        "config": config,
        "owners": owners,
        "history": prior(before, tier),
    }
    status = run_gate(tier, changes, reviews, **kwargs).status
    more = run_gate(tier, changes, [*reviews, review(extra, minute=61)], **kwargs).status
    if status.satisfied:
        assert more.satisfied
    assert set(more.missing) <= set(status.missing)


@settings(max_examples=examples(100), deadline=None)
@given(reviews=reviews_st, data=st.data())
def test_output_does_not_depend_on_review_order_when_times_differ(
    reviews: list[Review], data: st.DataObject
) -> None:
    timed = [
        r.model_copy(update={"submitted_at": T0 + timedelta(seconds=i)})
        for i, r in enumerate(reviews)
    ]
    shuffled = data.draw(st.permutations(timed))
    history = prior([DB], 2)
    first = run_gate(2, [DB, PRICE], timed, risky=["pricing"], history=history)
    second = run_gate(2, [DB, PRICE], shuffled, risky=["pricing"], history=history)
    assert first == second


def test_module_scope_moves_keep_approvals_and_a_moved_change_names_both_files() -> None:
    """Approvals bind to changes per file; identity is module-wide (head-side file, old_file)."""
    tf = FIXTURES / "infra"
    base = (tf / "db.base1.tf").read_text()
    resized = (tf / "db.head1.tf").read_text()
    group = base[base.index('resource "aws_db_parameter_group"') :]

    def analyse(files: dict[str, tuple[str | None, str | None]]) -> tuple[Change, ...]:
        diffs = [
            FileDiff(
                path=path,
                status="added" if b is None else "removed" if h is None else "modified",
                base=None if b is None else b.encode(),
                head=None if h is None else h.encode(),
            )
            for path, (b, h) in files.items()
        ]
        return tuple(analyze_files(diffs, CONFIG))

    first = analyse({"infra/prod/db.tf": (base, resized)})
    # The next push also moves the untouched parameter group to its own file: no change.
    moved = analyse(
        {
            "infra/prod/db.tf": (base, resized.replace(group, "")),
            "infra/prod/parameters.tf": (None, group),
        }
    )
    assert moved == first
    reviews = [review("sam", commit=OLD)]
    kept = run_gate(1, moved, reviews, risky=["terraform"], history=prior(first)).status
    assert kept.satisfied
    assert [(a.login, a.carried) for a in kept.approvals] == [("sam", True)]
    # The resized database itself moves to another file of the module: its change is reported
    # on the head-side file with the base file as `old_file` (scopes see both paths), and since
    # the change now names another file the earlier approval does not carry (fail closed).
    relocated = analyse(
        {
            "infra/prod/db.tf": (base, group),
            "infra/prod/network-db.tf": (None, resized.replace(group, "")),
        }
    )
    (change,) = relocated
    assert (change.file, change.old_file) == ("infra/prod/network-db.tf", "infra/prod/db.tf")
    voided = run_gate(1, relocated, reviews, risky=["terraform"], history=prior(first)).status
    assert not voided.satisfied
    assert voided.ignored == ("sam: approved c0ffee1; changes in their scope since then",)


def test_voided_approval_itemises_what_changed_in_the_approvers_scope() -> None:
    """alice (platform) approved OLD; the push resized the database and added a VPC change."""
    status = run_gate(
        1, [DB_RESIZED, VPC, PRICE], [review("alice", commit=OLD)], history=prior([DB, PRICE])
    ).status
    (voided,) = status.voided
    assert (voided.login, voided.commit) == ("alice", OLD)
    assert voided.reason == f"approved c0ffee1; {SCOPE}"
    changed = {(c.file, c.address): (c.before, c.after) for c in voided.changes}
    assert changed == {
        (DB.file, DB.address): (DB.op, DB_RESIZED.op),
        (VPC.file, VPC.address): (None, VPC.op),
    }  # the price book is finance's scope, not alice's: not listed


def test_carried_and_current_approvals_are_not_voided() -> None:
    status = run_gate(1, [MOVED], [review("alice", commit=OLD)], history=prior([DB])).status
    assert status.voided == ()
    strict = run_gate(
        1, [DB], [review("alice", commit=OLD)], history=prior([DB]), config=STRICT
    ).status
    (voided,) = strict.voided
    assert voided.changes == ()  # nothing changed: the strict setting voided it, and says so
    assert "invalidate_on_push: strict" in voided.reason
