"""The ApprovalGate: reviews against the tier's requirements (docs/adr/0003-tiers-and-approvals.md). Pure.

Who counts is decided in one place so every rule fails closed: only a reviewer's latest decisive
review counts (GitHub's semantics), the PR author and agents never count, Cedar (`may_approve`) may
reject anyone, and an approval given at an earlier commit counts only while the content in that
approver's scope, the tier and the policy version are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.config.repo import RepoConfig
from app.core.models import Change
from app.core.moments import aware_utc
from app.core.report import ApprovalRecord, ApprovalStatus, ScopeChange, Tier, VoidedApproval
from app.core.snapshot import Review
from app.gate.approval_scope import ApproverScope, Directory, scope_changes, scope_digest, team_key
from app.gate.owners import CodeOwnersMap
from app.gate.plan_approvals import ReplacedPlans

MayApprove = Callable[[str], tuple[bool, Sequence[str]]]
"""Cedar's `approve` decision for a login: (allowed, reasons). The lead wires it to the policy."""

CHANGE_BOARD = "change_board"
BLOCKED_LABEL = "blocked by policy"
UNCONFIGURED_BOARD = "change board (configure approvers.change_board)"
MAX_PATHS_IN_LABEL = 3


def anyone_may_approve(login: str) -> tuple[bool, tuple[str, ...]]:
    """The default eligibility when no policy is wired: everyone (the other rules still apply)."""
    return True, ()


@dataclass(frozen=True)
class PriorEvaluation:
    """What an earlier head was evaluated as; the service stores these, the gate only reads them."""

    changes: tuple[Change, ...]
    tier: Tier | None
    policy_version: str


@dataclass(frozen=True)
class GateInput:
    """Everything the gate needs, captured before it runs."""

    tier: Tier
    changes: tuple[Change, ...] = ()
    risky_kinds: tuple[str, ...] = ()
    """Kinds with a finding of tier ≥ 2: their domain team (config.approvers[kind]) must approve."""
    owners: CodeOwnersMap = field(default_factory=CodeOwnersMap)
    config: RepoConfig = field(default_factory=RepoConfig)
    reviews: tuple[Review, ...] = ()
    author: str = ""
    agent_logins: frozenset[str] = frozenset()
    may_approve: MayApprove = anyone_may_approve
    team_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    head_sha: str = ""
    policy_version: str = ""
    history: Mapping[str, PriorEvaluation] = field(default_factory=dict)
    replaced_plans: ReplacedPlans | None = None
    """Stale plans and their replacements: approvals at the head given before the new plan."""


@dataclass(frozen=True)
class GateOutcome:
    """The status for the report, plus whom to ask: logins and `org/team` slugs (no `@`)."""

    status: ApprovalStatus
    to_request_users: tuple[str, ...] = ()
    to_request_teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class Requirement:
    """One line of the checklist. `handles` can satisfy it; `count` distinct approvals do."""

    label: str
    missing: str
    handles: tuple[str, ...] = ()
    count: int = 0
    never: bool = False

    def met(self, approvers: Sequence[str], directory: Directory) -> bool:
        if self.never:
            return False
        if self.handles:
            return any(directory.any_match(login, self.handles) for login in approvers)
        return len(approvers) >= self.count


def latest_reviews(reviews: Sequence[Review]) -> dict[str, Review]:
    """Each user's latest APPROVED or CHANGES_REQUESTED review; DISMISSED clears it.

    COMMENTED and PENDING never override an earlier state (GitHub's semantics).

    Keyed by lower-cased login. Reviews are taken in time order when every one has a time (GitHub
    lists them in order anyway), else in the order given.
    """
    ordered = list(reviews)
    if all(r.submitted_at is not None for r in ordered):
        ordered.sort(key=lambda r: _utc(r.submitted_at))
    latest: dict[str, Review] = {}
    for review in ordered:
        key = review.login.lower()
        if review.state in ("APPROVED", "CHANGES_REQUESTED"):
            latest[key] = review
        elif review.state == "DISMISSED":
            latest.pop(key, None)
    return latest


def _utc(moment: datetime | None) -> float:
    if moment is None:  # callers sort only when every review has a time
        return 0.0
    return aware_utc(moment).timestamp()


def _short(sha: str) -> str:
    return sha[:7]


def _tier_name(tier: Tier | None) -> Literal[0, 1, 2, 3, "blocked"] | None:
    if isinstance(tier, bool):
        return None
    if tier == "blocked":
        return "blocked"
    if tier in (0, 1, 2, 3):
        return tier  # type: ignore[return-value]
    return None


class ApprovalGate:
    """Reviews + tier → ApprovalStatus. Stateless; one instance can serve every evaluation."""

    def evaluate(self, gate: GateInput) -> GateOutcome:
        directory = Directory(gate.team_members)
        requirements = self.requirements(gate)
        counted: list[ApprovalRecord] = []
        blocking: list[str] = []
        ignored: list[str] = []
        voided: list[VoidedApproval] = []
        for _login, review in sorted(latest_reviews(gate.reviews).items()):
            reason = self._never_counts(gate, review)
            if reason is not None:
                ignored.append(f"{review.login}: {reason}")
                continue
            if review.state == "CHANGES_REQUESTED":
                blocking.append(f"{review.login} requested changes")
                continue
            stale = self._stale(gate, review, directory) or self._old_plan(gate, review, directory)
            if stale is not None:
                ignored.append(f"{review.login}: {stale}")
                if review.commit_id is not None:  # a push or a new plan voided it
                    voided.append(self._voided(gate, review, review.commit_id, stale, directory))
                continue
            counted.append(
                ApprovalRecord(
                    login=review.login,
                    teams=directory.teams_of(review.login),
                    at=review.submitted_at.isoformat() if review.submitted_at else None,
                    commit=review.commit_id,
                    carried=review.commit_id != gate.head_sha,
                )
            )
        approvers = [record.login for record in counted]
        unmet = [r for r in requirements if not r.met(approvers, directory)]
        users, teams = self._to_request(gate, unmet)
        status = ApprovalStatus(
            required=tuple(r.label for r in requirements),
            satisfied=not unmet and not blocking,
            missing=tuple(dict.fromkeys(r.missing for r in unmet)),
            approvals=tuple(counted),
            blocking=tuple(blocking),
            ignored=tuple(ignored),
            voided=tuple(voided),
        )
        return GateOutcome(status=status, to_request_users=users, to_request_teams=teams)

    # --- requirements ---------------------------------------------------------------------------
    def requirements(self, gate: GateInput) -> list[Requirement]:
        """The checklist for the tier, in a fixed order: count, owners, domains, change board."""
        tier = _tier_name(gate.tier)
        if tier is None:
            label = f"unknown tier {gate.tier!r}"
            return [Requirement(label=label, missing=label, never=True)]
        if tier == "blocked":
            return [Requirement(label=BLOCKED_LABEL, missing=BLOCKED_LABEL, never=True)]
        if tier == 0:
            return []
        owner_reqs = self._owner_requirements(gate)
        if tier == 1:
            if owner_reqs:
                return owner_reqs
            return [Requirement(label="1 approval", missing="1 approval", count=1)]
        reqs = [Requirement(label="2 distinct approvals", missing="2 distinct approvals", count=2)]
        reqs += owner_reqs
        for kind in sorted(set(gate.risky_kinds)):
            handles = tuple(gate.config.approvers.get(kind, ()))
            if handles and kind != CHANGE_BOARD:
                who = " or ".join(handles)
                reqs.append(Requirement(label=f"{who} ({kind})", missing=who, handles=handles))
        if tier == 3:
            board = tuple(gate.config.approvers.get(CHANGE_BOARD, ()))
            if board:
                who = " or ".join(board)
                reqs.append(Requirement(label=f"{who} (change board)", missing=who, handles=board))
            else:
                reqs.append(
                    Requirement(label=UNCONFIGURED_BOARD, missing=UNCONFIGURED_BOARD, never=True)
                )
        return reqs

    def _owner_requirements(self, gate: GateInput) -> list[Requirement]:
        """One requirement per distinct owner set: each owned changed path needs one of its owners.

        GitHub's "require review from code owners" rule; old paths of renames count too.
        """
        paths = sorted(
            {c.file for c in gate.changes} | {c.old_file for c in gate.changes if c.old_file}
        )
        groups: dict[tuple[str, ...], list[str]] = {}
        for path in paths:
            owners = gate.owners.owners_for(path)
            if owners:
                groups.setdefault(owners, []).append(path)
        reqs = []
        for owners, owned in sorted(groups.items(), key=lambda item: item[1][0]):
            shown = ", ".join(owned[:MAX_PATHS_IN_LABEL])
            if len(owned) > MAX_PATHS_IN_LABEL:
                shown += f" and {len(owned) - MAX_PATHS_IN_LABEL} more"
            who = " or ".join(owners)
            reqs.append(
                Requirement(label=f"1 code owner of {shown} ({who})", missing=who, handles=owners)
            )
        return reqs

    # --- who counts -------------------------------------------------------------------------------
    def _never_counts(self, gate: GateInput, review: Review) -> str | None:
        login = review.login.lower()
        if gate.author and login == gate.author.lower():
            return "PR author"
        agents = {a.lower() for a in gate.agent_logins}
        if review.is_bot or login.endswith("[bot]") or login in agents:
            return "agents never count"
        allowed, reasons = gate.may_approve(review.login)
        if not allowed:
            return "; ".join(reasons) or "not allowed to approve by policy"
        return None

    def _stale(self, gate: GateInput, review: Review, directory: Directory) -> str | None:
        """Why an approval does not count at the current head, or None when it does."""
        commit = review.commit_id
        if commit is not None and commit == gate.head_sha:
            return None
        if commit is None:
            return "approval is not tied to a commit"
        if gate.config.invalidate_on_push == "strict":
            return f"approved {_short(commit)}, not the head (invalidate_on_push: strict)"
        prior = gate.history.get(commit)
        if prior is None:
            return (
                f"approved {_short(commit)}, which was never evaluated (cannot tell what changed)"
            )
        if prior.tier != gate.tier:
            return f"approved {_short(commit)} at tier {prior.tier}; the tier is now {gate.tier}"
        if prior.policy_version != gate.policy_version:
            return f"approved {_short(commit)} under another policy version"
        scope = self.scope_of(gate, review.login, directory)
        if scope_digest(prior.changes, scope) != scope_digest(gate.changes, scope):
            return f"approved {_short(commit)}; changes in their scope since then"
        return None

    def _old_plan(self, gate: GateInput, review: Review, directory: Directory) -> str | None:
        """Why an approval at the head no longer counts: it was given against a plan that a base
        move made stale, and the new plan differs in the approver's scope (None: it counts)."""
        replaced = gate.replaced_plans
        if replaced is None or review.commit_id != gate.head_sha:
            return None
        if not replaced.saw_old_plan(review.submitted_at):
            return None
        if not replaced.differs(self.scope_of(gate, review.login, directory)):
            return None
        old = ", ".join(d[:12] for d in replaced.old_digests[:3])
        return f"approved stale plan {old}; the new plan differs in their scope"

    def _voided(
        self, gate: GateInput, review: Review, commit: str, reason: str, directory: Directory
    ) -> VoidedApproval:
        """The voided approval as data: what changed in the approver's scope since their commit
        (empty when that commit was never evaluated, or only the tier/policy/strictness changed)."""
        prior = gate.history.get(commit)
        changes: tuple[ScopeChange, ...] = ()
        scope = self.scope_of(gate, review.login, directory)
        if commit == gate.head_sha and gate.replaced_plans is not None:
            changes = gate.replaced_plans.differences(scope)  # the plan changed, not the head
        elif prior is not None:
            changes = scope_changes(prior.changes, gate.changes, scope)
        return VoidedApproval(login=review.login, commit=commit, reason=reason, changes=changes)

    def scope_of(self, gate: GateInput, login: str, directory: Directory) -> ApproverScope:
        approvers = gate.config.approvers
        kinds = frozenset(
            kind
            for kind, handles in approvers.items()
            if kind != CHANGE_BOARD and directory.any_match(login, handles)
        )
        board = directory.any_match(login, approvers.get(CHANGE_BOARD, ()))
        return ApproverScope(
            login=login,
            owners=gate.owners,
            directory=directory,
            domain_kinds=kinds,
            everything=board,
        )

    def _to_request(
        self, gate: GateInput, unmet: Sequence[Requirement]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Users and teams to ask for review: the handles of unmet requirements, never the author
        or an agent, never an email (GitHub cannot request one)."""
        skip = {gate.author.lower(), *(a.lower() for a in gate.agent_logins)}
        users: set[str] = set()
        teams: set[str] = set()
        for req in unmet:
            for handle in req.handles:
                if not handle.startswith("@"):
                    continue
                if "/" in handle:
                    teams.add(team_key(handle))
                elif handle[1:].lower() not in skip and not handle.endswith("[bot]"):
                    users.add(handle[1:])
        return tuple(sorted(users, key=str.lower)), tuple(sorted(teams))
