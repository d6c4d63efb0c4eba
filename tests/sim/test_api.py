# githubkit declares list results inside classes that also have a method named `list`, so mypy
# sees `list?[Model]` (not iterable): silence only those two codes here.
# mypy: disable-error-code="attr-defined,index"
"""REST behaviour beyond shapes: auth, pagination, GitHub's limits, branch protection, the log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from githubkit.exception import RequestFailed

from app.sim.state import SimError
from tests.sim.helpers import APP_ID, AppKey, Env


def _annotations(count: int) -> list[dict[str, Any]]:
    return [
        {
            "path": "infra/prod/db.tf",
            "start_line": n + 1,
            "end_line": n + 1,
            "annotation_level": "warning",
            "message": f"terraform.change finding {n}",
        }
        for n in range(count)
    ]


def _status(call: Callable[[], object]) -> int:
    with pytest.raises(RequestFailed) as failed:
        call()
    return failed.value.response.status_code


def _jwt(key: AppKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": str(APP_ID), "iat": now - 60, "exp": now + 540, **claims}
    return jwt.encode(body, key.private_pem, algorithm="RS256")


# --- auth -------------------------------------------------------------------------------------
def test_installation_routes_need_a_valid_token(env: Env) -> None:
    url = f"{env.server.api_url}/repos/acme/shop"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "token ghs_forged"}).status_code == 401
    gh = env.client()
    assert gh.rest.repos.get("acme", "shop").status_code == 200
    env.sim.tokens.expire_all()
    # githubkit still holds the (now expired) token: GitHub would answer 401 too.
    assert _status(lambda: gh.rest.repos.get("acme", "shop")) == 401
    assert env.client().rest.repos.get("acme", "shop").status_code == 200


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "999"}, "Issuer"),
        ({"exp": int(time.time()) + 3600}, "too far"),
        ({"exp": int(time.time()) - 10, "iat": int(time.time()) - 600}, "past"),
    ],
)
def test_app_routes_reject_bad_jwts(env: Env, claims: dict[str, Any], why: str) -> None:
    response = httpx.get(
        f"{env.server.api_url}/app", headers={"Authorization": f"Bearer {_jwt(env.key, **claims)}"}
    )
    assert response.status_code == 401
    assert why in response.json()["message"]


def test_app_routes_reject_a_jwt_signed_by_another_key(env: Env) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    token = _jwt(AppKey(pem, ""))
    response = httpx.post(
        f"{env.server.api_url}/app/installations/{env.installation_id}/access_tokens",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    ok = httpx.get(
        f"{env.server.api_url}/app", headers={"Authorization": f"Bearer {_jwt(env.key)}"}
    )
    assert ok.status_code == 200


def test_repo_outside_the_installation_is_hidden(env: Env) -> None:
    env.sim.create_repo("globex/secret", {"README.md": "no\n"})
    gh = env.client()
    assert _status(lambda: gh.rest.repos.get("globex", "secret")) == 404


# --- pagination and limits ---------------------------------------------------------------
def test_files_are_paginated_with_link_and_capped_at_3000(env: Env) -> None:
    files = {f"data/part-{n:04d}.csv": f"id,value\n{n},1\n" for n in range(3005)}
    pr = env.sim.open_pr("acme/shop", "infra-bot[bot]", "agent/huge", files, title="Bulk import")
    gh = env.client()
    first = gh.rest.pulls.list_files("acme", "shop", pr.number, per_page=100, page=1)
    link = first.headers["link"]
    assert 'rel="next"' in link
    assert "page=2" in link
    assert "per_page=100" in link
    assert 'rel="last"' in link
    assert "page=30>" in link
    seen = [f.filename for f in first.parsed_data]
    page = 2
    while True:
        response = gh.rest.pulls.list_files("acme", "shop", pr.number, per_page=100, page=page)
        seen += [f.filename for f in response.parsed_data]
        if 'rel="next"' not in response.headers.get("link", ""):
            break
        page += 1
    assert (page, len(seen), len(set(seen))) == (30, 3000, 3000)
    assert gh.rest.pulls.get("acme", "shop", pr.number).parsed_data.changed_files == 3005


def test_open_pulls_filter_by_base_branch(env: Env) -> None:
    pr = env.sim.open_pr("acme/shop", "infra-bot[bot]", "agent/base", {"a.txt": "a\n"}, title="A")
    gh = env.client()
    on_main = gh.rest.pulls.list("acme", "shop", state="open", base=pr.base_ref).parsed_data
    assert pr.number in [p.number for p in on_main]
    assert gh.rest.pulls.list("acme", "shop", state="open", base="no-such").parsed_data == []


def test_default_page_size_is_30(env: Env) -> None:
    gh = env.client()
    members = gh.rest.teams.list_members_in_org("acme", "finance", per_page=1)
    assert len(members.parsed_data) == 1
    assert 'rel="next"' in members.headers["link"]
    second = gh.rest.teams.list_members_in_org("acme", "finance", per_page=1, page=2)
    assert 'rel="prev"' in second.headers["link"]
    assert 'rel="next"' not in second.headers["link"]


def test_check_run_limits_and_annotation_accumulation(env: Env) -> None:
    pr = env.open_pricing_pr("agent/annotations")
    gh = env.client()
    url = "/repos/acme/shop/check-runs"
    run = gh.request(
        "POST", url, json={"name": "countersign", "head_sha": pr.head_sha, "status": "in_progress"}
    ).json()
    patch = f"{url}/{run['id']}"
    output = {"title": "Tier 3", "summary": "see annotations"}
    too_many = {"output": {**output, "annotations": _annotations(51)}}
    assert _status(lambda: gh.request("PATCH", patch, json=too_many)) == 422
    huge = {"output": {"title": "Tier 3", "summary": "x" * 65536}}
    assert _status(lambda: gh.request("PATCH", patch, json=huge)) == 422
    completed = {"status": "completed"}
    assert _status(lambda: gh.request("PATCH", patch, json=completed)) == 422
    for batch in (_annotations(50), _annotations(20)):
        gh.request("PATCH", patch, json={"output": {**output, "annotations": batch}})
    final = gh.rest.checks.get("acme", "shop", run["id"]).parsed_data
    assert final.output.annotations_count == 70
    assert final.status == "in_progress"
    ok = gh.request("PATCH", patch, json={"output": {**output, "summary": "y" * 65535}})
    assert ok.status_code == 200


def test_check_run_states_only_github_may_set_are_refused(env: Env) -> None:
    """`waiting`/`requested`/`pending` are GitHub Actions' statuses, `stale` GitHub's conclusion."""
    pr = env.open_pricing_pr("agent/reserved-states")
    gh = env.client()
    url = "/repos/acme/shop/check-runs"
    base = {"name": "countersign", "head_sha": pr.head_sha}
    for status in ("waiting", "requested", "pending"):
        assert _status(lambda s=status: gh.request("POST", url, json={**base, "status": s})) == 422
    stale = {**base, "status": "completed", "conclusion": "stale"}
    assert _status(lambda: gh.request("POST", url, json=stale)) == 422
    run = gh.request("POST", url, json={**base, "status": "queued"}).json()
    patch = f"{url}/{run['id']}"
    assert _status(lambda: gh.request("PATCH", patch, json={"status": "pending"})) == 422
    assert _status(lambda: gh.request("PATCH", patch, json={"conclusion": "stale"})) == 422
    assert gh.request("PATCH", patch, json={"status": "in_progress"}).status_code == 200


def test_merge_is_refused_until_countersign_succeeds(env: Env) -> None:
    sim = env.sim
    pr = env.open_pricing_pr("agent/protected")
    with env.merging_client() as gh:
        _merge_once_checks_pass(sim, pr, lambda: gh.rest.pulls.merge("acme", "shop", pr.number))


def _merge_once_checks_pass(sim: Any, pr: Any, merge: Any) -> None:
    assert _status(merge) == 405  # no check at all
    run = sim.create_check_run(
        "acme/shop",
        {"name": "countersign", "head_sha": pr.head_sha, "status": "in_progress"},
        via_api=False,
    )
    assert _status(merge) == 405
    sim.update_check_run(
        "acme/shop",
        run.id,
        {"conclusion": "action_required", "output": {"title": "Tier 2", "summary": "wait"}},
        via_api=False,
    )
    assert _status(merge) == 405
    with pytest.raises(SimError, match="is failing"):
        sim.merge(pr, by="bob")
    assert sim.pr(pr).state == "open"
    sim.update_check_run("acme/shop", run.id, {"conclusion": "success"}, via_api=False)
    assert merge().status_code == 200


def test_admin_merge_bypasses_and_is_recorded(env: Env) -> None:
    sim = env.sim
    pr = env.open_pricing_pr("agent/bypass")
    env.clear_received()
    sha = sim.merge(pr, by="carol", admin=True)
    merged = sim.pr(pr)
    assert (merged.merged, merged.merged_by, merged.merge_bypassed) == (True, "carol", True)
    assert merged.merge_commit_sha == sha
    assert sim.log[-1] == (
        f"merge acme/shop#{pr.number} by carol (admin bypass: "
        'Required status check "countersign" is expected.)'
    )
    closed, pushed = env.receiver.received  # the base branch moved: GitHub sends `push` too
    assert closed.headers["X-GitHub-Event"] == "pull_request"
    assert pushed.headers["X-GitHub-Event"] == "push"
    moved = json.loads(pushed.body)
    assert (moved["ref"], moved["after"], moved["head_commit"]["id"]) == (
        "refs/heads/main",
        sha,
        sha,
    )
    payload = closed.body.decode()
    assert '"action": "closed"' in payload
    assert '"merged": true' in payload
    repo = sim.world.repo("acme/shop")
    assert repo is not None
    assert repo.read(sha, "catalog/plans.json") is not None
    assert b"35.0" in (repo.read(sha, "catalog/plans.json") or b"")


def test_merge_with_a_stale_sha_conflicts(env: Env) -> None:
    pr = env.open_pricing_pr("agent/stale-sha")
    with env.merging_client() as gh:
        merge = gh.rest.pulls.merge
        assert _status(lambda: merge("acme", "shop", pr.number, sha="0" * 40)) == 409


def test_reviewer_requests_follow_github_rules(env: Env) -> None:
    pr = env.open_pricing_pr("agent/reviewers")
    gh = env.client()
    assert (
        _status(
            lambda: gh.rest.pulls.request_reviewers(
                "acme", "shop", pr.number, reviewers=["infra-bot[bot]"]
            )
        )
        == 422
    )
    assert (
        _status(
            lambda: gh.rest.pulls.request_reviewers(
                "acme", "shop", pr.number, team_reviewers=["nope"]
            )
        )
        == 422
    )
    assert _status(lambda: gh.rest.issues.remove_label("acme", "shop", pr.number, "absent")) == 404


# --- request log --------------------------------------------------------------------------
def test_request_log_records_each_call_in_order(
    env: Env, fresh_requests: Callable[[], list[str]]
) -> None:
    gh = env.client()
    gh.rest.pulls.get("acme", "shop", 1)
    _status(lambda: gh.rest.repos.get_content("acme", "shop", "missing.txt"))
    gh.graphql('query { repository(owner: "acme", name: "shop") { name } }')
    assert fresh_requests() == [
        f"POST /app/installations/{env.installation_id}/access_tokens > 201",
        "GET /repos/acme/shop/pulls/1 > 200",
        "GET /repos/acme/shop/contents/missing.txt > 404",
        "POST /graphql > 200",
    ]


@pytest.mark.github_off_spec("asks for a route the simulator does not serve, on purpose")
def test_unknown_route_answers_404_naming_itself(env: Env) -> None:
    gh = env.client()
    with pytest.raises(RequestFailed) as failed:
        gh.request("GET", "/repos/acme/shop/deployments")
    assert failed.value.response.status_code == 404
    assert "GET /api/v3/repos/acme/shop/deployments" in failed.value.response.json()["message"]
