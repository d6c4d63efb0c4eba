"""Fault injection: each kind fails the way GitHub fails, for exactly the requests it matches."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from githubkit.exception import (
    PrimaryRateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
    SecondaryRateLimitExceeded,
)

from app.sim.faults import Fault, Faults, glob_to_regex
from tests.sim.helpers import Env

PR_PATH = "/repos/acme/shop/pulls/*"


@pytest.fixture(autouse=True)
def _no_leftover_faults(env: Env) -> None:
    env.sim.faults.clear()


@pytest.fixture(scope="module")
def number(env: Env) -> int:
    return int(env.open_pricing_pr("agent/faults").number)


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [
        ("/repos/*/*/pulls/*", "/repos/acme/shop/pulls/1", True),
        ("/repos/*/*/pulls/*", "/repos/acme/shop/pulls/1/files", False),
        ("/repos/**", "/repos/acme/shop/pulls/1/files", True),
        ("/repos/acme/shop/pulls/?", "/repos/acme/shop/pulls/7", True),
        ("/repos/acme/shop/pulls/?", "/repos/acme/shop/pulls/17", False),
        ("/graphql", "/graphql", True),
    ],
)
def test_globs_are_segment_aware(glob: str, path: str, hit: bool) -> None:
    assert bool(glob_to_regex(glob).match(path)) is hit


def test_rules_match_method_and_count_down() -> None:
    faults = Faults()
    faults.inject("GET", "/repos/**", Fault.error(502), times=2)
    assert faults.take("POST", "/repos/a/b/check-runs") is None
    assert faults.take("GET", "/repos/a/b") == Fault.error(502)
    assert faults.take("GET", "/repos/a/b") == Fault.error(502)
    assert faults.take("GET", "/repos/a/b") is None
    forever = faults.inject("*", "/graphql", Fault.delay(0.1), times=None)
    for _ in range(3):
        assert faults.take("POST", "/graphql") == Fault.delay(0.1)
    assert forever.hits == 3
    with pytest.raises(ValueError, match="at least 1"):
        faults.inject("GET", "/x", Fault.reset(), times=0)


def _get(env: Env, number: int) -> Callable[[], object]:
    gh = env.client()
    gh.rest.repos.get("acme", "shop")  # fetch the token before faults apply
    return lambda: gh.rest.pulls.get("acme", "shop", number)


def test_status_faults_hit_the_next_n_requests_then_stop(
    env: Env, number: int, fresh_requests: Callable[[], list[str]]
) -> None:
    call = _get(env, number)
    env.sim.faults.inject("GET", PR_PATH, Fault.error(502, "Bad Gateway"), times=2)
    for _ in range(2):
        with pytest.raises(RequestFailed) as failed:
            call()
        assert failed.value.response.status_code == 502
        assert failed.value.response.json()["message"] == "Bad Gateway"
    call()
    assert fresh_requests()[-3:] == [
        f"GET /repos/acme/shop/pulls/{number} > 502",
        f"GET /repos/acme/shop/pulls/{number} > 502",
        f"GET /repos/acme/shop/pulls/{number} > 200",
    ]


def test_secondary_rate_limit_has_retry_after(env: Env, number: int) -> None:
    call = _get(env, number)
    env.sim.faults.inject("GET", PR_PATH, Fault.secondary_rate_limit(retry_after=42))
    with pytest.raises(SecondaryRateLimitExceeded) as limited:
        call()
    assert limited.value.response.status_code == 403
    assert limited.value.response.headers["retry-after"] == "42"
    assert limited.value.retry_after.total_seconds() == 42


@pytest.mark.parametrize("status", [403, 429])
def test_primary_rate_limit_has_remaining_zero_and_reset(
    env: Env, number: int, status: int
) -> None:
    call = _get(env, number)
    env.sim.faults.inject("GET", PR_PATH, Fault.primary_rate_limit(status=status, reset_in=120))
    with pytest.raises(PrimaryRateLimitExceeded) as limited:
        call()
    headers = limited.value.response.headers
    assert limited.value.response.status_code == status
    assert headers["x-ratelimit-remaining"] == "0"
    assert 60 < limited.value.retry_after.total_seconds() <= 120


def test_delay_makes_a_short_timeout_client_time_out(env: Env, number: int) -> None:
    env.sim.faults.inject("GET", PR_PATH, Fault.delay(1.0))
    url = f"{env.server.api_url}/repos/acme/shop/pulls/{number}"
    token = env.sim.tokens.issue(env.installation_id, env.sim.now()).token
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, headers={"Authorization": f"token {token}"}, timeout=0.2)
    assert httpx.get(url, headers={"Authorization": f"token {token}"}).status_code == 200


def test_githubkit_reports_a_delay_as_a_timeout(env: Env, number: int) -> None:
    gh = env.client(timeout=0.5)
    gh.rest.repos.get("acme", "shop")
    env.sim.faults.inject("GET", PR_PATH, Fault.delay(1.5))
    with pytest.raises(RequestTimeout):
        gh.rest.pulls.get("acme", "shop", number)


def test_reset_drops_the_connection(
    env: Env, number: int, fresh_requests: Callable[[], list[str]]
) -> None:
    call = _get(env, number)
    env.sim.faults.inject("GET", PR_PATH, Fault.reset())
    with pytest.raises(RequestError) as dropped:
        call()
    assert isinstance(dropped.value.exc, httpx.RemoteProtocolError)
    # The reset is logged before the connection drops, but it need not be the newest entry: CI
    # once logged a second `GET … > 200` after it (a transport-level resend of the dropped
    # request), so assert that the reset was served, not that nothing followed it.
    assert f"GET /repos/acme/shop/pulls/{number} > reset" in fresh_requests()
    call()


def test_faults_through_the_control_api(env: Env, number: int) -> None:
    control = f"{env.server.base_url}/_sim/faults"
    added = httpx.post(
        control, json={"method": "GET", "path": PR_PATH, "kind": "status", "status": 500}
    )
    assert added.status_code == 200
    call = _get(env, number)
    with pytest.raises(RequestFailed):
        call()
    httpx.post(control, json={"path": "/repos/**", "kind": "reset", "times": None})
    assert len(env.sim.faults.active) == 1
    assert httpx.delete(control).status_code == 200
    call()
    bad = httpx.post(control, json={"path": "/x", "kind": "meteor"})
    assert bad.status_code == 422
