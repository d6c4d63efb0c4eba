"""Which posted Terraform plans count for a PR: provenance judged against the base branch.

Anyone whose job can ask GitHub for an OIDC token of this repository at this head (any workflow,
including one the PR adds or edits) can post a plan. A plan decides how a change is judged, so
it counts only when it was made by a workflow the **base branch's** `.github/countersign.yml`
names (`terraform.plan_workflows`), run at the base branch or at this PR's merge ref (or its
merge-queue branch), for an event in `ALLOWED_EVENTS`. A run at the PR's own refs uses the
workflow file as the PR has it, so when the PR edits a named workflow only a run of the base
branch's copy counts. With no workflow named, no OIDC-posted plan counts (fail closed); plans
posted with an operator's upload token, and plans read from a file by `countersign analyze`,
carry no workflow and always count.

Ignored plans never reach the risk engine; the check lists each with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config.repo import CONFIG_PATH, RepoConfig
from app.core.snapshot import PlanProvenance, PullRequestSnapshot, TerraformPlan

ALLOWED_EVENTS = frozenset({"pull_request", "pull_request_target", "merge_group"})
"""Events whose runs are tied to a PR. `push` and `workflow_dispatch` runs are refused: they run
whatever workflow the pushed branch or the caller picks."""


@dataclass(frozen=True)
class PlanTrust:
    trusted: tuple[TerraformPlan, ...]
    ignored: tuple[str, ...]
    """One line per ignored plan: directory, digest, source and why."""


def split_workflow_ref(value: str) -> tuple[str, str, str] | None:
    """`owner/repo/.github/workflows/plan.yml@refs/heads/main` → (`owner/repo`, path, ref)."""
    where, sep, ref = value.partition("@")
    parts = where.split("/", 2)
    if not sep or not ref or len(parts) != 3 or not all(parts):
        return None
    return f"{parts[0]}/{parts[1]}", parts[2], ref


def judge_plans(snapshot: PullRequestSnapshot, config: RepoConfig) -> PlanTrust:
    """The plans that count for this PR, and a reason for each that does not."""
    trusted: list[TerraformPlan] = []
    ignored: list[str] = []
    for plan in snapshot.plans:
        why = None if plan.provenance is None else _refusal(plan.provenance, snapshot, config)
        if why is None:
            trusted.append(plan)
        else:
            source = plan.provenance.label if plan.provenance else "?"
            ignored.append(f"{plan.dir or '.'}: plan {plan.sha256[:12]} from {source}: {why}")
    return PlanTrust(tuple(trusted), tuple(ignored))


def _refusal(
    provenance: PlanProvenance, snapshot: PullRequestSnapshot, config: RepoConfig
) -> str | None:
    """Why this plan does not count (None: it counts)."""
    if provenance.via == "upload-token":
        return None
    named = config.terraform.plan_workflows
    if not named:
        return (
            f"no workflow may post plans: name it in terraform.plan_workflows of {CONFIG_PATH} "
            f"on {snapshot.base_ref}"
        )
    if provenance.event_name not in ALLOWED_EVENTS:
        return f"event {provenance.event_name!r} is not one of {sorted(ALLOWED_EVENTS)}"
    changed = {p for f in snapshot.files for p in (f.path, f.old_path) if p}
    base_ref = f"refs/heads/{snapshot.base_ref}"
    pr_refs = (f"refs/pull/{snapshot.number}/merge",)
    queue = f"refs/heads/gh-readonly-queue/{snapshot.base_ref}/pr-{snapshot.number}-"
    reasons: list[str] = []
    for value in dict.fromkeys((provenance.job_workflow_ref, provenance.workflow_ref)):
        parsed = split_workflow_ref(value) if value else None
        if parsed is None:
            continue
        repo, path, ref = parsed
        if repo.lower() != snapshot.repo.lower() or path not in named:
            reasons.append(f"{path} of {repo} is not named in terraform.plan_workflows")
        elif ref == base_ref:
            return None
        elif not (snapshot.number and (ref in pr_refs or ref.startswith(queue))):
            reasons.append(f"{path} ran at {ref}, not at {base_ref} or this PR's merge ref")
        elif path in changed:
            reasons.append(f"this PR edits {path}: only a run of the base branch's copy counts")
        else:
            return None
    return "; ".join(reasons) or "the token names no workflow (job_workflow_ref, workflow_ref)"
