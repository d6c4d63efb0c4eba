"""Merge queues: decide the group head from the decisions of the PRs in it.

GitHub builds a group commit on `gh-readonly-queue/<base>/pr-<N>-<head sha>` and waits for the
required checks on it. Approvals bind to content, so the group's verdict is exact: each PR is
re-evaluated now (reviews may have been dismissed, config or policy may have changed) and the
group passes only when that evaluation is `success` *for the head that was queued*. Each PR
named by the group ref is decided; PRs ahead of it in the queue have their own groups and checks
(GitHub rebuilds the later groups when an earlier one fails). Fail closed: a ref that names no PR
fails the group check. In observe mode (the PR's check is `neutral`) the group check is `neutral`
too, saying what enforcing would decide: observing blocks nothing, the queue included.
"""

from __future__ import annotations

from app.github import checks
from app.github.client import CallLog, InstallationClient
from app.github.webhooks import MergeGroupRef, queued_pull
from app.runtime.logging import log
from app.service.evaluator import PullRequestEvaluator
from app.store.audit import store
from app.store.audit.records import MergeGroupPull, MergeGroupRecord

MERGE_GROUP_EXTERNAL_PREFIX = "merge-group:"
"""`external_id` of a group check: the prefix, then the group's read-only ref (for Re-run)."""


def decide_merge_group(
    evaluator: PullRequestEvaluator, installation_id: int, repo: str, group: MergeGroupRef
) -> MergeGroupRecord:
    """Evaluate the group's PRs, post `countersign` on the group head, record `merge_group`."""
    pulls, reason = _evaluate_queued(evaluator, installation_id, repo, group)
    ok = bool(pulls) and all(
        p.conclusion == "success" and p.head_sha == p.queued_head_sha for p in pulls
    )
    observed = bool(pulls) and all(
        p.conclusion == "neutral" and p.head_sha == p.queued_head_sha for p in pulls
    )
    conclusion = "success" if ok else "neutral" if observed else "failure"
    verdict = "approved" if ok else "observed" if observed else "not approved"
    client = evaluator.client(installation_id, CallLog())
    body = {
        "status": "completed",
        "conclusion": conclusion,
        "details_url": evaluator.details_url(repo, pulls[0].number if pulls else 0),
        "output": {
            "title": f"Merge group {verdict}: {reason}"[:200],
            "summary": (
                "Countersign decides a merge group from the PRs in it, each re-evaluated at the "
                f"head that was queued.\n\n- {reason}\n"
            ),
        },
    }
    # Record before publishing: a green group check never exists without its audit record.
    run_id = _group_check_run(client, repo, group, reason)
    record = MergeGroupRecord(
        head_sha=group.head_sha,
        head_ref=group.head_ref,
        base_sha=group.base_sha,
        base_ref=group.base_ref,
        pulls=pulls,
        conclusion=conclusion,
        reason=reason,
        check_run_id=run_id,
    )
    store.append(
        evaluator.rt.engine,
        "merge_group",
        record,
        repo=repo,
        pr_number=pulls[0].number if pulls else None,
        head_sha=group.head_sha,
    )
    client.update_check_run(repo, run_id, body)
    log.info("merge_group.decided", repo=repo, conclusion=conclusion, reason=reason)
    return record


def _evaluate_queued(
    evaluator: PullRequestEvaluator, installation_id: int, repo: str, group: MergeGroupRef
) -> tuple[list[MergeGroupPull], str]:
    """Re-evaluate the PR the group ref names, now, and say why the group passes or not."""
    queued = queued_pull(group.head_ref)
    if queued is None:
        return [], f"the merge group ref {group.head_ref!r} names no pull request"
    number, queued_sha = queued
    outcome = evaluator.evaluate_pr(installation_id, repo, number)
    pull = MergeGroupPull(
        number=number,
        queued_head_sha=queued_sha,
        head_sha=outcome.head_sha if outcome else None,
        conclusion=outcome.conclusion if outcome else "closed",
    )
    if outcome is None:
        reason = f"#{number} is no longer open"
    elif outcome.head_sha != queued_sha:
        reason = (
            f"#{number} changed since it was queued ({queued_sha[:7]} → {outcome.head_sha[:7]})"
        )
    elif outcome.conclusion == "neutral":
        reason = (
            f"#{number} is observed (mode: observe) at {queued_sha[:7]}: enforced, it would "
            f"be `{outcome.would_conclude}`"
        )
    elif outcome.conclusion != "success":
        reason = f"#{number} is `{outcome.conclusion}` at {queued_sha[:7]}: its approvals or policy no longer hold"
    else:
        reason = f"#{number} is approved at {queued_sha[:7]}"
    return [pull], reason


def _group_check_run(
    client: InstallationClient, repo: str, group: MergeGroupRef, reason: str
) -> int:
    """The `countersign` check run on the group head: GitHub's existing one, or a new one in
    progress whose `external_id` names the group ref (so "Re-run" can decide it again)."""
    runs = client.check_runs_for(repo, group.head_sha, checks.CHECK_NAME)
    if runs:
        return int(runs[0]["id"])
    created = client.create_check_run(
        repo,
        {
            "name": checks.CHECK_NAME,
            "head_sha": group.head_sha,
            "status": "in_progress",
            "external_id": MERGE_GROUP_EXTERNAL_PREFIX + group.head_ref,
            "output": {"title": "Evaluating the merge group…", "summary": reason},
        },
    )
    return int(created["id"])
