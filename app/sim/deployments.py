"""Environments, workflow runs and deployments with a custom deployment protection rule.

GitHub's flow, as an App with a custom rule sees it: a workflow job names an environment whose
protection rules include the App; GitHub creates a deployment (waiting) for the run and sends the
App `deployment_protection_rule` (`requested`) with a `deployment_callback_url`. The App answers
`POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule` with
`{environment_name, state: approved|rejected, comment}` (204). The unkind parts are kept: an
answer for a run that was cancelled or already finished is refused (422), a second answer for the
same environment is refused (422), and an App without a rule on the environment is refused.

Direct pushes (a commit on a branch without a pull request) are here too: `push_branch`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from app.sim import shapes
from app.sim.base import as_changes
from app.sim.push_events import push_event
from app.sim.state import SimError, World, iso
from app.sim.webhooks import Outgoing, _envelope

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

RunStatus = Literal["waiting", "in_progress", "completed", "cancelled"]
DeploymentState = Literal["waiting", "approved", "rejected"]


@dataclass
class Environment:
    id: int
    repo: str
    name: str
    rule_app_ids: tuple[int, ...]
    """Apps whose custom deployment protection rule is enabled on this environment."""
    production: bool = True


@dataclass
class WorkflowRun:
    id: int
    repo: str
    head_sha: str
    head_branch: str
    event: str
    status: RunStatus = "waiting"


@dataclass
class Deployment:
    id: int
    repo: str
    environment: str
    sha: str
    ref: str
    run_id: int
    creator: str
    created_at: datetime
    state: DeploymentState = "waiting"
    comment: str = ""
    answered_by: int | None = None
    """The App id that answered (approved or rejected)."""


class Deployments:
    """Environments, runs and deployments of one simulator (all repositories)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.environments: dict[tuple[str, str], Environment] = {}
        self.runs: dict[int, WorkflowRun] = {}
        self.deployments: dict[int, Deployment] = {}

    def add_environment(self, repo: str, name: str, *, app_rule: bool = True) -> Environment:
        """An environment, with the App's custom protection rule enabled unless `app_rule` is off."""
        sim = self.sim
        with sim._op():
            r = sim._repo(repo)
            app_ids = (sim.world.app.id,) if app_rule and sim.world.app else ()
            env = Environment(sim.world.new_id(), r.full_name, name, app_ids)
            self.environments[(r.full_name, name.casefold())] = env
            return env

    def deploy(
        self, repo: str, environment: str, *, by: str, ref: str | None = None, event: str = "push"
    ) -> Deployment:
        """A workflow run (of `ref`, the default branch by default) deploys to `environment`:
        a waiting deployment, and `deployment_protection_rule` to each App with a rule on it."""
        sim = self.sim
        with sim._op():
            r = sim._repo(repo)
            env = self.environments.get((r.full_name, environment.casefold()))
            if env is None:
                raise SimError(404, f"no environment {environment!r} in {r.full_name}")
            branch = ref or r.default_branch
            sha = r.resolve(branch)
            if sha is None:
                raise SimError(422, f"no ref {branch!r} in {r.full_name}")
            run = WorkflowRun(sim.world.new_id(), r.full_name, sha, branch, event)
            self.runs[run.id] = run
            deployment = Deployment(
                sim.world.new_id(),
                r.full_name,
                env.name,
                sha,
                branch,
                run.id,
                sim._ensure_user(by).login,
                sim.now(),
            )
            self.deployments[deployment.id] = deployment
            sim.log.append(f"deploy {r.full_name} {sha[:7]} to {env.name} (run {run.id})")
            if not env.rule_app_ids:
                deployment.state = "approved"
                run.status = "in_progress"
            elif sim.world.app is not None and sim.world.app.id in env.rule_app_ids:
                sim._emit(protection_rule_event(sim.world, deployment, run, event, by))
            return deployment

    def rerun(self, run_id: int, *, by: str) -> Deployment:
        """Re-run a finished run's deployment job: the same run ID and commit, a new deployment
        that waits (and a new `deployment_protection_rule` event), as GitHub's "Re-run jobs"."""
        sim = self.sim
        with sim._op():
            run = self._run(run_id)
            if run.status in {"waiting", "in_progress"}:
                raise SimError(403, f"The workflow run {run_id} is still running")
            [last, *_] = sorted(self.of_run(run_id), key=lambda d: -d.id)
            deployment = Deployment(
                sim.world.new_id(),
                run.repo,
                last.environment,
                run.head_sha,
                run.head_branch,
                run.id,
                sim._ensure_user(by).login,
                sim.now(),
            )
            self.deployments[deployment.id] = deployment
            run.status = "waiting"
            sim.log.append(f"rerun {run.id}: deployment {deployment.id} to {last.environment}")
            sim._emit(protection_rule_event(sim.world, deployment, run, run.event, by))
            return deployment

    def cancel_run(self, run_id: int) -> WorkflowRun:
        """Someone cancelled the run: its waiting deployments will never start."""
        with self.sim._op():
            run = self._run(run_id)
            run.status = "cancelled"
            return run

    def answer(self, repo: str, run_id: int, body: Any, app_id: int) -> Deployment:
        """The App's answer (the callback endpoint): validated and refused like GitHub."""
        with self.sim._op(via_api=True):
            run = self._run(run_id)
            if run.repo.casefold() != repo.casefold():
                raise SimError(404, "Not Found")
            name, state, comment = _valid_answer(body)
            if run.status != "waiting":
                raise SimError(
                    422, f"The workflow run {run_id} is {run.status}: it waits for no review"
                )
            env = self.environments.get((run.repo, name.casefold()))
            if env is None or app_id not in env.rule_app_ids:
                raise SimError(
                    422, f"No pending deployment protection rule of this app for {name!r}"
                )
            deployment = max(
                (
                    d
                    for d in self.deployments.values()
                    if d.run_id == run_id and d.environment.casefold() == name.casefold()
                ),
                key=lambda d: d.id,
            )  # the run's newest deployment to the environment (a re-run makes another)
            if deployment.state != "waiting":
                raise SimError(
                    422,
                    f"The deployment to {deployment.environment} was already {deployment.state}",
                )
            if state is None:  # a comment only: recorded, still waiting
                deployment.comment = comment
                return deployment
            deployment.state, deployment.comment, deployment.answered_by = state, comment, app_id
            run.status = "in_progress" if state == "approved" else "completed"
            self.sim.log.append(f"deployment {deployment.id} {state}: {comment[:80]}")
            return deployment

    def push_branch(
        self,
        repo: str,
        files: Mapping[str, bytes | str | None],
        *,
        by: str,
        message: str,
        branch: str | None = None,
    ) -> str:
        """A commit pushed straight to `branch` (the default branch): no pull request."""
        sim = self.sim
        with sim._op():
            r = sim._repo(repo)
            name = branch or r.default_branch
            tip = r.branches[name]
            sha = sim._commit(r, [tip], as_changes(files), message, by)
            r.branches[name] = sha
            sim.log.append(f"push {r.full_name}:{name} {sha[:7]} by {by} (no pull request)")
            sim._emit(push_event(sim.world, r, name, tip, sha, by))
            return sha

    def of_run(self, run_id: int) -> list[Deployment]:
        return [d for d in self.deployments.values() if d.run_id == run_id]

    def _run(self, run_id: int) -> WorkflowRun:
        run = self.runs.get(run_id)
        if run is None:
            raise SimError(404, "Not Found")
        return run


def _valid_answer(body: Any) -> tuple[str, DeploymentState | None, str]:
    """(environment_name, state or None for a comment only, comment), or 422 like GitHub."""
    if not isinstance(body, dict) or not isinstance(body.get("environment_name"), str):
        raise SimError(422, 'Invalid request.\n\n"environment_name" wasn\'t supplied.')
    state, comment = body.get("state"), body.get("comment", "")
    if state is not None and state not in {"approved", "rejected"}:
        raise SimError(422, f"Invalid request.\n\nstate {state!r} is not approved or rejected.")
    if not isinstance(comment, str) or (state is None and not comment):
        raise SimError(422, "Invalid request.\n\nA comment or a state is required.")
    if len(comment) > 1024:
        raise SimError(422, "Invalid request.\n\ncomment is too long (maximum is 1024 characters)")
    return body["environment_name"], state, comment


def protection_rule_event(
    world: World, deployment: Deployment, run: WorkflowRun, event: str, sender: str
) -> Outgoing:
    """`deployment_protection_rule` (`requested`) as GitHub sends it to a rule's App."""
    repo = world.repos[deployment.repo.lower()]
    inst = world.installation_for(deployment.repo)
    api = f"{world.api_url}/repos/{repo.full_name}"
    payload: dict[str, Any] = {
        "action": "requested",
        "environment": deployment.environment,
        "event": event,
        "deployment_callback_url": f"{api}/actions/runs/{run.id}/deployment_protection_rule",
        "deployment": {
            "url": f"{api}/deployments/{deployment.id}",
            "id": deployment.id,
            "node_id": shapes.node_id("DE", deployment.id),
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": "deploy",
            "payload": {},
            "original_environment": deployment.environment,
            "environment": deployment.environment,
            "transient_environment": False,
            "production_environment": True,
            "description": None,
            "creator": shapes.user(world, deployment.creator),
            "created_at": iso(deployment.created_at),
            "updated_at": iso(deployment.created_at),
            "statuses_url": f"{api}/deployments/{deployment.id}/statuses",
            "repository_url": api,
            "performed_via_github_app": None,
        },
        "pull_requests": [],
        **_envelope(world, repo, sender, inst),
    }
    return Outgoing(
        "deployment_protection_rule", "requested", payload, inst.id if inst else None, repo.id
    )
