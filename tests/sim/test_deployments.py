"""Deployments in the simulator: environments with a custom protection rule, the
`deployment_protection_rule` webhook, and the callback with GitHub's refusals.

Every payload and exchange here is checked against the vendored descriptions after the test
(tests/specs): the webhook against `@octokit/webhooks-schemas`, the callback against
`@octokit/openapi` (`actions/review-custom-gates-for-run`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from githubkit.exception import RequestFailed

from tests.sim.helpers import Env

REPO = "acme/shop"


def _answer(env: Env, run_id: int, body: dict[str, Any]) -> int:
    path = f"/repos/{REPO}/actions/runs/{run_id}/deployment_protection_rule"
    try:
        return env.client().request("POST", path, json=body).status_code
    except RequestFailed as failed:
        return failed.response.status_code


def _env(env: Env, name: str, *, app_rule: bool = True) -> None:
    if (REPO, name) not in env.sim.deployments.environments:
        env.sim.deployments.add_environment(REPO, name, app_rule=app_rule)


def test_a_deployment_to_a_protected_environment_asks_the_app_and_waits(env: Env) -> None:
    _env(env, "production")
    before = env.received_so_far()
    deployment = env.sim.deployments.deploy(REPO, "production", by="bob")
    assert deployment.state == "waiting"
    [hook] = env.receiver.received[before:]
    assert hook.headers["X-GitHub-Event"] == "deployment_protection_rule"
    payload = json.loads(hook.body)
    assert payload["action"] == "requested" and payload["environment"] == "production"
    assert payload["deployment"]["sha"] == env.sim.world.repo(REPO).branches["main"]  # type: ignore[union-attr]
    assert payload["deployment_callback_url"].endswith(
        f"/repos/{REPO}/actions/runs/{deployment.run_id}/deployment_protection_rule"
    )
    assert payload["installation"]["id"] == env.installation_id


def test_the_answer_is_taken_once_and_a_second_is_refused(env: Env) -> None:
    _env(env, "production")
    deployment = env.sim.deployments.deploy(REPO, "production", by="bob")
    run = deployment.run_id
    assert _answer(env, run, {"environment_name": "production", "state": "bogus"}) == 422
    assert _answer(env, run, {"state": "approved"}) == 422  # environment_name is required
    body = {"environment_name": "production", "state": "approved", "comment": "ok"}
    assert _answer(env, run, body) == 204
    assert deployment.state == "approved" and deployment.comment == "ok"
    assert _answer(env, run, {**body, "state": "rejected"}) == 422
    assert deployment.state == "approved"


def test_an_answer_after_the_run_was_cancelled_is_refused(env: Env) -> None:
    _env(env, "production")
    deployment = env.sim.deployments.deploy(REPO, "production", by="bob")
    env.sim.deployments.cancel_run(deployment.run_id)
    body = {"environment_name": "production", "state": "approved", "comment": "late"}
    assert _answer(env, deployment.run_id, body) == 422
    assert deployment.state == "waiting"
    assert _answer(env, 999_999, body) == 404


def test_an_environment_without_the_app_s_rule_sends_nothing_and_refuses_its_answer(
    env: Env,
) -> None:
    _env(env, "preview", app_rule=False)
    before = env.received_so_far()
    deployment = env.sim.deployments.deploy(REPO, "preview", by="bob")
    assert deployment.state == "approved"  # no rule: GitHub does not wait
    assert env.receiver.received[before:] == []
    body = {"environment_name": "preview", "state": "rejected", "comment": "no"}
    assert _answer(env, deployment.run_id, body) == 422


def test_the_callback_needs_deployments_write(env: Env) -> None:
    _env(env, "production")
    deployment = env.sim.deployments.deploy(REPO, "production", by="bob")
    granted = dict(env.sim.world.installations[env.installation_id].permissions)
    assert granted["deployments"] == "write"
    env.sim.set_permissions(
        env.installation_id, {k: v for k, v in granted.items() if k != "deployments"}
    )
    try:
        body = {"environment_name": "production", "state": "approved", "comment": "ok"}
        assert _answer(env, deployment.run_id, body) == 403
    finally:
        env.sim.set_permissions(env.installation_id, granted)
    assert deployment.state == "waiting"


def test_a_direct_push_moves_the_branch_without_a_pull_request(env: Env) -> None:
    repo = env.sim.world.repo(REPO)
    assert repo is not None
    tip = repo.branches["main"]
    pulls = len(env.sim.world.pulls)
    sha = env.sim.deployments.push_branch(
        REPO, {"NOTES.md": "hotfix\n"}, by="bob", message="Hotfix"
    )
    assert repo.branches["main"] == sha and repo.commits[sha].parents == [tip]
    assert len(env.sim.world.pulls) == pulls


@pytest.mark.parametrize("comment", ["", "x" * 1025])
def test_a_comment_only_answer_needs_text_within_github_s_length(env: Env, comment: str) -> None:
    _env(env, "production")
    deployment = env.sim.deployments.deploy(REPO, "production", by="bob")
    assert (
        _answer(env, deployment.run_id, {"environment_name": "production", "comment": comment})
        == 422
    )


def test_a_rerun_keeps_the_run_and_asks_again_for_a_new_deployment(env: Env) -> None:
    _env(env, "production")
    first = env.sim.deployments.deploy(REPO, "production", by="bob")
    body = {"environment_name": "production", "state": "rejected", "comment": "not yet"}
    assert _answer(env, first.run_id, body) == 204
    before = env.received_so_far()
    again = env.sim.deployments.rerun(first.run_id, by="bob")
    assert (again.run_id, again.sha, again.state) == (first.run_id, first.sha, "waiting")
    assert again.id != first.id
    [hook] = env.receiver.received[before:]
    assert json.loads(hook.body)["deployment"]["id"] == again.id
    assert _answer(env, first.run_id, {**body, "state": "approved"}) == 204
    assert (first.state, again.state) == ("rejected", "approved")


def test_rebase_and_merge_replays_each_commit_and_keeps_them_associated(env: Env) -> None:
    """GitHub's "Rebase and merge": one new commit per PR commit on the base branch, the last
    one the PR's merge commit; `GET /commits/{sha}/pulls` names the PR for each of them."""
    sim = env.sim
    repo = sim.world.repo(REPO)
    assert repo is not None
    tip = repo.branches["main"]
    pr = sim.open_pr(REPO, "alice", "feature/rebased", {"a.txt": "1\n"}, title="Three steps")
    sim.push(pr, {"b.txt": "2\n"}, message="second")
    sim.push(pr, {"a.txt": "3\n"}, message="third")
    sha = sim.merge(pr, by="carol", admin=True, method="rebase")
    merged = sim.pr(pr)
    assert merged.merge_commit_sha == sha == repo.branches["main"]
    assert len(merged.rebased_shas) == 3 and merged.rebased_shas[-1] == sha
    assert not set(merged.rebased_shas) & set(merged.commit_shas)  # new commits, not the PR's
    first, second, third = merged.rebased_shas
    assert repo.commits[first].parents == [tip]
    assert (repo.commits[second].parents, repo.commits[third].parents) == ([first], [second])
    assert [repo.commits[c].message for c in merged.rebased_shas][1:] == ["second", "third"]
    assert repo.read(second, "b.txt") == b"2\n" and repo.read(second, "a.txt") == b"1\n"
    assert repo.read(third, "a.txt") == b"3\n"
    gh = env.client()
    for commit in merged.rebased_shas:
        listed = gh.request("GET", f"/repos/{REPO}/commits/{commit}/pulls").json()
        assert [(p["number"], p["merge_commit_sha"]) for p in listed] == [(merged.number, sha)]
