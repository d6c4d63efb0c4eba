"""Where the simulator used to be kinder than GitHub: check-run values only GitHub (Actions) may
set, permissions from app.yml answered with GitHub's 403, token down-scoping, and compare."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from githubkit.exception import RequestFailed

from app.sim.permissions import manifest_permissions, required
from tests.sim.helpers import Env

REPO = "acme/shop"


def _answer(env: Env, path: str, body: Any, method: str = "POST") -> tuple[int, dict[str, Any]]:
    gh = env.client()
    try:
        response = gh.request(method, path, json=body)
    except RequestFailed as failed:
        return failed.response.status_code, failed.response.json()
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"status": "waiting"},
        {"status": "requested"},
        {"status": "pending"},
        {"status": "completed", "conclusion": "stale"},
        {"conclusion": "stale"},
        {"status": "completed"},
        {"status": "done"},
    ],
    ids=["waiting", "requested", "pending", "stale", "stale-alone", "no-conclusion", "unknown"],
)
def test_check_run_values_github_refuses_are_422(env: Env, body: dict[str, Any]) -> None:
    pr = env.open_pricing_pr(f"agent/refused-{len(env.sim.world.pulls)}")
    path = f"/repos/{REPO}/check-runs"
    status, error = _answer(env, path, {"name": "countersign", "head_sha": pr.head_sha, **body})
    assert status == 422 and error["message"].startswith("Invalid request.")
    gh = env.client()
    created = gh.request("POST", path, json={"name": "countersign", "head_sha": pr.head_sha}).json()
    assert created["status"] == "queued" and created["app"]["id"] == env.sim.world.app.id  # type: ignore[union-attr]
    status, _ = _answer(env, f"{path}/{created['id']}", body, method="PATCH")
    assert status == 422
    assert env.sim.world.check_runs[created["id"]].status == "queued"


def test_the_app_gets_the_permissions_app_yml_asks_for(env: Env) -> None:
    manifest = manifest_permissions()
    assert env.sim.world.app is not None and env.sim.world.app.permissions == manifest
    app = env.app_client()
    token = app.rest.apps.create_installation_access_token(env.installation_id)
    assert token.parsed_data.permissions.model_dump(exclude_unset=True) == manifest
    assert "issues" in manifest  # labels live behind the issues API


def test_a_missing_permission_is_a_403_like_githubs(env: Env) -> None:
    pr = env.open_pricing_pr("agent/no-labels")
    granted = dict(env.sim.world.installations[env.installation_id].permissions)
    env.sim.set_permissions(
        env.installation_id, {k: v for k, v in granted.items() if k != "issues"}
    )
    try:
        status, error = _answer(env, f"/repos/{REPO}/issues/{pr.number}/labels", {"labels": ["x"]})
    finally:
        env.sim.set_permissions(env.installation_id, granted)
    assert status == 403
    assert error["message"] == "Resource not accessible by integration"
    assert error["documentation_url"].startswith("https://docs.github.com/")
    assert env.sim.pr(pr).labels == []


def test_a_token_can_be_narrowed_never_widened(env: Env) -> None:
    app = env.app_client()
    path = f"/app/installations/{env.installation_id}/access_tokens"
    narrowed = app.request("POST", path, json={"permissions": {"contents": "read"}}).json()
    assert narrowed["permissions"] == {"contents": "read"}
    with pytest.raises(RequestFailed) as refused:
        app.request("POST", path, json={"permissions": {"contents": "write"}})
    assert refused.value.response.status_code == 422
    url = f"{env.server.api_url}/repos/{REPO}/pulls"
    headers = {"Authorization": f"token {narrowed['token']}"}
    assert httpx.get(url, headers=headers).status_code == 403  # no pull_requests on this token


@pytest.mark.parametrize(
    ("method", "path", "need"),
    [
        ("GET", "/repos/a/b/pulls/1/commits", ("pull_requests", "read")),
        ("POST", "/repos/a/b/pulls/1/requested_reviewers", ("pull_requests", "write")),
        ("GET", "/repos/a/b/git/blobs/abc", ("contents", "read")),
        ("GET", "/repos/a/b/compare/abc...def", ("contents", "read")),
        ("PATCH", "/repos/a/b/check-runs/9", ("checks", "write")),
        ("GET", "/repos/a/b/commits/abc/check-runs", ("checks", "read")),
        ("DELETE", "/repos/a/b/issues/3/labels/tier-1", ("issues", "write")),
        ("GET", "/orgs/acme/teams/platform/members", ("members", "read")),
        ("GET", "/installation/repositories", None),
    ],
)
def test_each_endpoint_names_the_permission_it_needs(
    method: str, path: str, need: tuple[str, str] | None
) -> None:
    assert required(method, path) == need


def test_compare_pages_through_every_commit(env: Env) -> None:
    pr = env.open_pricing_pr("agent/compare")
    for i in range(4):
        env.sim.push(pr, {"notes.md": f"{i}\n"}, message=f"note {i}")
    gh = env.client()
    path = f"/repos/{REPO}/compare/{pr.base_sha}...{pr.head_sha}"
    first = gh.request("GET", path, params={"per_page": 2})
    body = first.json()
    assert (body["status"], body["ahead_by"], body["total_commits"]) == ("ahead", 5, 5)
    assert [c["sha"] for c in body["commits"]] == env.sim.pr(pr).commit_shas[:2]
    assert {f["filename"] for f in body["files"]} == {"catalog/plans.json", "notes.md"}
    assert 'rel="next"' in first.headers["link"]
    last = gh.request("GET", path, params={"per_page": 2, "page": 3}).json()
    assert [c["sha"] for c in last["commits"]] == env.sim.pr(pr).commit_shas[4:]
    assert "files" not in last
