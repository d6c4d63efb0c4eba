"""Deployments: answer a custom deployment protection rule from the audit store.

Named steps: read the facts (the default branch's config, where the deployed SHA sits, the first-
parent commits since the environment's last approved deployment, their merge records) → decide
(`app.gate.deploy_decision`, pure) → record `deployment_decision` → answer through the callback.
Fail closed and never leave a deployment hanging: any error while reading or deciding becomes a
rejection that says why, and a decision that cannot be recorded is answered `rejected`, never
`approved`. An event that comes again for a deployment answers what was recorded for it (a re-run of
the job is a new deployment of the same run, decided anew).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.config.repo import CONFIG_PATH, parse_repo_config
from app.core.errors import GitHubError, GitHubUnavailable
from app.gate.deploy_decision import (
    DeploymentDecision,
    DeploymentFacts,
    decide_deployment,
    first_parent_chain,
)
from app.github.client import CallLog, InstallationClient
from app.github.deployments import (
    ProtectionRuleRequest,
    answer_protection_rule,
    merged_pulls_with,
)
from app.runtime.logging import log
from app.service.deploy_plans import apply_differences
from app.service.evaluator import PullRequestEvaluator
from app.store.audit import store
from app.store.audit.deployments import (
    KIND,
    CoveredMergeRecord,
    DeploymentDecisionRecord,
    decision_for_deployment,
    last_approved_sha,
    recorded_merges,
)

MAX_ASKED = 20
"""Unrecorded commits asked about (`GET /commits/{sha}/pulls`); the others stay direct pushes."""
RECORD_WAIT_SECONDS = 5.0
ON_BRANCH = frozenset({"identical", "behind"})
"""Compare statuses of `default...sha` that mean sha is on the default branch."""


@dataclass(frozen=True)
class DeployTarget:
    """Which deployment GitHub asks about."""

    installation_id: int
    repo: str
    default_branch: str
    run_id: int
    request: ProtectionRuleRequest


def answer_deployment(
    evaluator: PullRequestEvaluator, target: DeployTarget
) -> DeploymentDecisionRecord:
    """Decide (or reuse the run's recorded decision), record it, answer GitHub."""
    engine = evaluator.rt.engine
    env = target.request.environment
    client = evaluator.client(target.installation_id, CallLog())
    record = decision_for_deployment(
        engine, target.repo, target.run_id, target.request.deployment.id
    )
    if record is None:
        record = _record(target, _decide(evaluator, client, target))
        try:
            store.append(
                engine,
                KIND,
                record,
                repo=target.repo,
                head_sha=record.sha,
                run_id=str(target.run_id),
            )
        except Exception as error:  # an unrecorded decision is never an approval
            log.error("deployment.not_recorded", repo=target.repo, error=str(error)[:300])
            reason = f"Countersign rejected: the decision could not be recorded ({error})"
            _answer(client, target, "rejected", reason[:1000])
            return record.model_copy(update={"state": "rejected", "error": str(error)})
    _answer(
        client, target, "approved" if record.state == "approved" else "rejected", record.comment
    )
    log.info("deployment.decided", repo=target.repo, environment=env, state=record.state)
    return record


def _decide(
    evaluator: PullRequestEvaluator, client: InstallationClient, target: DeployTarget
) -> DeploymentDecision | Exception:
    """The decision, or the error that prevented it (which rejects)."""
    try:
        return _decide_or_raise(evaluator, client, target)
    except MergeNotRecordedYet:
        raise  # the inbox retries; after the last try `give_up` rejects
    except Exception as error:
        log.warning("deployment.undecided", repo=target.repo, error=str(error)[:300])
        return error


def _decide_or_raise(
    evaluator: PullRequestEvaluator, client: InstallationClient, target: DeployTarget
) -> DeploymentDecision:
    repo, env, sha = target.repo, target.request.environment, target.request.deployment.sha
    where = client.json(
        "GET", f"/repos/{repo}/compare/{target.default_branch}...{sha}", params={"per_page": 1}
    )
    tip = str(where["base_commit"]["sha"])
    config_blob = client.blobs(repo, [(tip, CONFIG_PATH)]).get((tip, CONFIG_PATH))
    config = parse_repo_config(config_blob.data if config_blob and config_blob.exists else None)
    rule = config.deploy.rule_for(env)
    if rule is None:
        problem = (
            f"{CONFIG_PATH} on {target.default_branch} names no environment {env!r}: add "
            f"`deploy: {{environments: {{{env}: {{}}}}}}` to guard it"
        )
        return DeploymentDecision(False, (problem,), problems=(problem,))
    engine = evaluator.rt.engine
    since = last_approved_sha(engine, repo, env)
    commits: tuple[str, ...] = (sha,)
    if since is not None:
        listed, total = client.compare_commits(repo, since, sha)
        if len(listed) < total:  # a cut listing would end the walk early: fail closed
            raise GitHubError(
                f"GitHub listed {len(listed)} of the {total} commits since {since[:7]}: too "
                "many to check; deploy a commit closer to the last approved deployment"
            )
        parents = {
            str(c["sha"]): tuple(str(p["sha"]) for p in c.get("parents") or []) for c in listed
        }
        commits = first_parent_chain(sha, parents, since)
    merges = recorded_merges(engine, repo, commits)
    rebased = _ask_about_unrecorded(client, repo, [c for c in commits if c not in merges])
    differences = None
    if rule.require_plan:
        covered = tuple(merges[c] for c in commits if c in merges)
        differences = apply_differences(engine, repo, target.default_branch, sha, config, covered)
    facts = DeploymentFacts(
        environment=env,
        sha=sha,
        workflow_run_id=target.run_id,
        default_branch=target.default_branch,
        on_default_branch=str(where.get("status")) in ON_BRANCH,
        since_sha=since,
        commits=commits,
        merges=merges,
        plan_differences=differences,
        rebased=rebased,
    )
    return decide_deployment(facts, rule)


class MergeNotRecordedYet(GitHubUnavailable):
    """A commit of the range is a PR's merge that Countersign has not recorded yet (the deploy
    started before the merge's webhook was handled): retried, never mistaken for a direct push."""


def _ask_about_unrecorded(
    client: InstallationClient, repo: str, unrecorded: list[str]
) -> dict[str, str]:
    """Ask GitHub which merged PR each of the first unrecorded commits belongs to. Raise
    MergeNotRecordedYet when one is a PR's merge commit; otherwise return commit → the merge
    commit of the PR it belongs to (a rebase merge's commits; the decision checks that merge is
    recorded and in range). Commits past MAX_ASKED stay direct pushes (fail closed)."""
    rebased: dict[str, str] = {}
    for sha in unrecorded[:MAX_ASKED]:
        pulls = merged_pulls_with(client, repo, sha)
        number = next((n for n, merge in pulls if merge == sha), None)
        if number is not None:
            raise MergeNotRecordedYet(
                f"the merge of #{number} ({sha[:7]}) is not recorded yet",
                retry_after=RECORD_WAIT_SECONDS,
            )
        if len({merge for _, merge in pulls}) == 1:  # one PR's commit, not several
            rebased[sha] = pulls[0][1]
    return rebased


def _record(
    target: DeployTarget, outcome: DeploymentDecision | Exception
) -> DeploymentDecisionRecord:
    request = target.request
    if isinstance(outcome, Exception):
        reason = f"Countersign could not decide, so it rejects: {outcome}"
        outcome_reasons, comment, error = [reason], reason[:1000], str(outcome)
        merges: list[CoveredMergeRecord] = []
        pushes: list[str] = []
        rebased: list[str] = []
        state, since = "rejected", None
    else:
        outcome_reasons = list(outcome.problems or outcome.reasons)
        comment, error, state = outcome.comment(), None, outcome.state
        merges = [
            CoveredMergeRecord(sha=m.sha, pr=m.pr, seq=m.seq, state=m.state) for m in outcome.merges
        ]
        pushes, since = list(outcome.direct_pushes), outcome.since_sha
        rebased = list(outcome.rebased)
    return DeploymentDecisionRecord(
        environment=request.environment,
        sha=request.deployment.sha,
        ref=request.deployment.ref,
        deployment_id=request.deployment.id,
        workflow_run_id=target.run_id,
        default_branch=target.default_branch,
        since_sha=since,
        state=state,
        reasons=outcome_reasons,
        merges=merges,
        direct_pushes=pushes,
        rebased=rebased,
        comment=comment,
        error=error,
    )


def _answer(client: InstallationClient, target: DeployTarget, state: str, comment: str) -> None:
    """Post the answer. GitHub refusing it (the run was cancelled, or it was answered before) is
    final and only logged; GitHub unavailable raises, so the delivery is retried."""
    try:
        answer_protection_rule(
            client,
            target.repo,
            target.run_id,
            target.request.environment,
            "approved" if state == "approved" else "rejected",
            comment,
        )
    except GitHubUnavailable:
        raise
    except GitHubError as error:
        log.warning("deployment.answer_refused", repo=target.repo, error=str(error)[:300])


def reject_given_up(
    evaluator: PullRequestEvaluator, installation_id: int, data: Any, reason: str
) -> None:
    """After the last retry: answer `rejected` with the reason, so no deployment hangs."""
    request = ProtectionRuleRequest.of(data)
    repo = str((data.get("repository") or {}).get("full_name") or "")
    run_id = request.run_id(repo) if request is not None else None
    if request is None or run_id is None:
        return
    target = DeployTarget(installation_id, repo, "", run_id, request)
    comment = f"Countersign rejected: it could not decide ({reason}); re-run the job"
    _answer(evaluator.client(installation_id, CallLog()), target, "rejected", comment[:1000])
