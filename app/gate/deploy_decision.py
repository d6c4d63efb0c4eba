"""The deployment decision: may this commit go to this environment? Data in, data out.

GitHub asks before a job deploys (a custom deployment protection rule). The service hands in
what it read — the deployed SHA, whether it is on the default branch, the first-parent commits
since the environment's last approved deployment, and the audit store's merge records for them —
and gets back approved or rejected with every reason. The rules, in order of the comment:

- the deployed SHA is on the default branch;
- each first-parent commit since the last approved deployment is a recorded merge, or one of
  the commits a recorded merge's "Rebase and merge" wrote just before its merge commit (a
  commit that is neither reached the branch without a pull request: a direct push, named and
  rejected unless the environment allows it);
- each merge was allowed by the gate (`merge`), or is a bypass / break-glass merge whose
  post-review is done (`bypass_reviewed`);
- an agent's merge carries its run ID (unless the environment says otherwise);
- with `require_plan`, the apply plans posted for the deployed commit make the same semantic
  changes as the plans the PRs were approved with (`app.gate.apply_binding`).

Nothing here reads GitHub or the database, so the benchmark times exactly this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from app.config.deploy import EnvironmentRule

MAX_COMMENT = 1000
"""GitHub shows the answer's comment on the run; we keep it under 1,000 characters."""
MAX_NAMED = 5
"""How many offending commits a reason names before it says "and N more"."""

MergeState = Literal["allowed", "reviewed", "needs_post_review", "missing_run_id"]


@dataclass(frozen=True)
class RecordedMerge:
    """A merge record of the audit store (`merge` or `bypass_merge`), as the decision needs it."""

    merge_commit_sha: str
    pr: int
    seq: int
    bypass: bool
    post_reviewed: bool = False
    agent_id: str | None = None
    run_id: str | None = None
    head_sha: str = ""
    plans: Mapping[str, str] = field(default_factory=dict)
    """Directory → digest of the plan the PR was judged (approved) with."""


@dataclass(frozen=True)
class DeploymentFacts:
    """What the service read for one deployment request."""

    environment: str
    sha: str
    workflow_run_id: int
    default_branch: str
    on_default_branch: bool
    since_sha: str | None
    """The deployed SHA of the environment's last approved deployment (None: the first one)."""
    commits: tuple[str, ...]
    """First-parent commits in (since_sha, sha], newest first (see `first_parent_chain`)."""
    merges: Mapping[str, RecordedMerge]
    """Recorded merges by merge commit SHA (at least those of `commits`)."""
    plan_differences: tuple[str, ...] | None = None
    """With `require_plan`: how the apply plans differ from the approved ones (empty: equal);
    None when they were not compared."""
    rebased: Mapping[str, str] = field(default_factory=dict)
    """Commit → the merge commit SHA of the PR GitHub associates it with ("Rebase and merge"
    writes one commit per PR commit; only the last is the PR's merge commit)."""


@dataclass(frozen=True)
class CoveredMerge:
    """One merge the deployment carries, and what the decision made of it."""

    sha: str
    pr: int
    seq: int
    state: MergeState


@dataclass(frozen=True)
class DeploymentDecision:
    approved: bool
    reasons: tuple[str, ...]
    merges: tuple[CoveredMerge, ...] = ()
    direct_pushes: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    """The reasons that rejected (empty when approved)."""
    since_sha: str | None = None
    """Where the covered range starts: the environment's last approved deployment."""
    rebased: tuple[str, ...] = ()
    """Commits written by a covered merge's "Rebase and merge" before its merge commit."""

    @property
    def state(self) -> Literal["approved", "rejected"]:
        return "approved" if self.approved else "rejected"

    def comment(self) -> str:
        """The answer's comment: the verdict and why, cut to GitHub's length."""
        head = "Countersign approved" if self.approved else "Countersign rejected"
        text = f"{head}: " + "; ".join(self.problems or self.reasons)
        return text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 1] + "…"


def first_parent_chain(
    sha: str, parents: Mapping[str, tuple[str, ...]], stop: str | None
) -> tuple[str, ...]:
    """`sha` and its first parents, newest first, while they are in `parents` (the commits a
    compare listed) and not `stop`. With `stop` None, only `sha` itself."""
    if stop is None:
        return (sha,)
    chain: list[str] = []
    current: str | None = sha
    while current is not None and current != stop and current in parents:
        chain.append(current)
        first = parents[current]
        current = first[0] if first else None
    return tuple(chain)


def decide_deployment(facts: DeploymentFacts, rule: EnvironmentRule) -> DeploymentDecision:
    """Approve only when every rule holds; otherwise reject naming each problem."""
    short = facts.sha[:7]
    if not facts.on_default_branch:
        problem = f"{short} is not on the default branch {facts.default_branch}"
        return DeploymentDecision(False, (problem,), problems=(problem,), since_sha=facts.since_sha)
    rebased = rebased_into_covered_merges(facts.commits, facts.rebased, facts.merges)
    commits = tuple(c for c in facts.commits if c not in rebased)
    covered, pushes = _classify(commits, facts.merges, rule)
    problems = [*_push_problems(pushes, rule), *_merge_problems(covered)]
    if rule.require_plan and facts.plan_differences is None:
        problems.append(f"require_plan is set for {facts.environment}: no apply plan was compared")
    elif rule.require_plan and facts.plan_differences:
        problems.append(
            "the apply plan is not the approved plan: " + "; ".join(facts.plan_differences)
        )
    since = f"since {facts.since_sha[:7]}" if facts.since_sha else "(first approved deployment)"
    if problems:
        return DeploymentDecision(
            False, tuple(problems), covered, pushes, tuple(problems), facts.since_sha, rebased
        )
    summary = f"{short} on {facts.default_branch}: {len(covered)} merge(s) {since}"
    if covered:
        summary += ", each allowed by the gate or reviewed after a bypass"
    elif not facts.commits:
        summary += "; it rolls back to a commit an approved deployment already covered"
    notes = [summary]
    if rebased:
        notes.append(f"{len(rebased)} commit(s) written by a rebase merge: {_names(rebased)}")
    if pushes:
        notes.append(f"direct pushes allowed here: {_names(pushes)}")
    return DeploymentDecision(
        True, tuple(notes), covered, pushes, since_sha=facts.since_sha, rebased=rebased
    )


def rebased_into_covered_merges(
    commits: tuple[str, ...], rebased: Mapping[str, str], merges: Mapping[str, RecordedMerge]
) -> tuple[str, ...]:
    """The commits (oldest first) that a recorded merge's "Rebase and merge" wrote: each is
    associated with a merge commit that is itself a recorded merge in this range, and sits in
    the unbroken run of that merge's commits just before it. A commit deployed without its
    merge commit (the PR only partly on the branch) or one separated from it by another commit
    is not covered: it stays a direct push."""
    covered: list[str] = []
    for index, sha in enumerate(commits):  # newest first
        if sha not in merges:
            continue
        for older in commits[index + 1 :]:
            if older in merges or rebased.get(older) != sha:
                break
            covered.append(older)
    return tuple(reversed(covered))


def _classify(
    commits: Iterable[str], merges: Mapping[str, RecordedMerge], rule: EnvironmentRule
) -> tuple[tuple[CoveredMerge, ...], tuple[str, ...]]:
    covered: list[CoveredMerge] = []
    pushes: list[str] = []
    for sha in reversed(tuple(commits)):  # oldest first, as they landed
        merge = merges.get(sha)
        if merge is None:
            pushes.append(sha)
            continue
        state: MergeState = "allowed"
        if merge.bypass:
            state = "reviewed" if merge.post_reviewed else "needs_post_review"
        if state != "needs_post_review" and rule.require_run_id and merge.agent_id:
            state = state if merge.run_id else "missing_run_id"
        covered.append(CoveredMerge(sha, merge.pr, merge.seq, state))
    return tuple(covered), tuple(pushes)


def _push_problems(pushes: tuple[str, ...], rule: EnvironmentRule) -> list[str]:
    if not pushes or rule.allow_direct_pushes:
        return []
    return [f"direct push without a pull request: {_names(pushes)}"]


def _merge_problems(covered: tuple[CoveredMerge, ...]) -> list[str]:
    problems = []
    pending = [c for c in covered if c.state == "needs_post_review"]
    if pending:
        prs = ", ".join(f"#{c.pr}" for c in pending[:MAX_NAMED])
        more = f" and {len(pending) - MAX_NAMED} more" if len(pending) > MAX_NAMED else ""
        problems.append(f"bypass merge(s) {prs}{more} still need post-review")
    unlinked = [c for c in covered if c.state == "missing_run_id"]
    if unlinked:
        prs = ", ".join(f"#{c.pr}" for c in unlinked[:MAX_NAMED])
        more = f" and {len(unlinked) - MAX_NAMED} more" if len(unlinked) > MAX_NAMED else ""
        problems.append(f"agent merge(s) {prs}{more} carry no run ID")
    return problems


def _names(shas: tuple[str, ...]) -> str:
    named = ", ".join(s[:7] for s in shas[:MAX_NAMED])
    return named + (f" and {len(shas) - MAX_NAMED} more" if len(shas) > MAX_NAMED else "")
