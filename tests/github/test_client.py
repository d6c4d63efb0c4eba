"""The client against a simulator that behaves like GitHub: every page of every list (page and
cursor `Link`s), PRs past GitHub's 250-commit list, GraphQL rate limits as HTTP 200, our own check
run only, and permissions the installation does not grant."""

from __future__ import annotations

import time

import pytest

from app.core.errors import GitHubError, GitHubPermissionDenied, GitHubUnavailable
from app.github.snapshot_fetch import fetch_snapshot
from app.sim.faults import Fault
from app.sim.integrations import foreign_check_run
from tests.github.conftest import APP_ID, Hub

REPO = "acme/platform"


def open_prs(hub: Hub, count: int) -> None:
    for i in range(count):
        hub.sim.open_pr(REPO, "alice", f"docs/{i}", {f"docs/{i}.md": f"page {i}\n"}, title=f"#{i}")


def test_open_prs_installations_and_repositories_are_read_past_the_first_page(hub: Hub) -> None:
    open_prs(hub, 205)
    for i in range(104):
        hub.sim.create_repo(f"acme/service-{i:03d}", {"README.md": f"# {i}\n"})
    for i in range(101):
        hub.sim.install(f"customer-{i:03d}")
    client = hub.client()
    hub.sim.requests.clear()
    assert len(client.open_pulls(REPO)) == 205
    assert len(client.installation_repositories()) == 105
    assert len(hub.app().app_client().installations()) == 102
    pages = [r for r in hub.sim.requests if "access_tokens" not in r]
    assert (
        pages
        == ["GET /repos/acme/platform/pulls > 200"] * 3
        + ["GET /installation/repositories > 200"] * 2
        + ["GET /app/installations > 200"] * 2
    )


def test_hook_deliveries_follow_the_cursor(hub: Hub) -> None:
    open_prs(hub, 130)  # each `opened` webhook is a (failed: no URL) delivery
    hub.sim.wait_idle()
    deliveries = hub.app().app_client().hook_deliveries()
    ids = [d["id"] for d in deliveries]
    assert len(ids) == len(hub.sim.deliveries) >= 131
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


def push_commits(hub: Hub, number: int, count: int) -> None:
    pr = hub.sim.pr(f"{REPO}#{number}")
    for i in range(count):
        trailer = "\n\nAgent-Run-Id: run_hidden" if i == count - 1 else ""
        hub.sim.push(pr, {"docs/log.md": f"entry {i}\n"}, message=f"Step {i}{trailer}")


def test_a_pr_with_more_than_250_commits_is_read_whole_through_compare(hub: Hub) -> None:
    pr = hub.sim.open_pr(REPO, "alice", "long", {"docs/log.md": "start\n"}, title="Long")
    push_commits(hub, pr.number, 279)
    hub.sim.requests.clear()
    snapshot = fetch_snapshot(hub.client(), REPO, pr.number)
    assert len(snapshot.commits) == 280
    assert [c.sha for c in snapshot.commits] == hub.sim.pr(pr).commit_shas  # oldest first
    assert "Agent-Run-Id: run_hidden" in snapshot.commits[-1].message  # past the 250th
    assert snapshot.problems == ()
    compare = [r for r in hub.sim.requests if "/compare/" in r]
    assert len(compare) == 3  # 100 per page


def test_the_simulator_lists_at_most_250_commits_of_a_pr(hub: Hub) -> None:
    pr = hub.sim.open_pr(REPO, "alice", "long", {"docs/log.md": "start\n"}, title="Long")
    push_commits(hub, pr.number, 259)
    assert len(hub.client().pull_commits(REPO, pr.number)) == 250
    assert hub.client().pull(REPO, pr.number)["commits"] == 260


def test_commits_past_250_are_never_dropped_silently_when_compare_fails(hub: Hub) -> None:
    pr = hub.sim.open_pr(REPO, "alice", "long", {"docs/log.md": "start\n"}, title="Long")
    push_commits(hub, pr.number, 259)
    # The compare endpoint loses its last page: the snapshot must not pretend it has every commit.
    hub.sim.faults.inject(
        "GET", "/repos/acme/platform/compare/*", Fault.error(404, "Not Found"), times=None
    )
    with pytest.raises(GitHubError, match="404"):
        fetch_snapshot(hub.client(), REPO, pr.number)


def test_graphql_rate_limit_waits_until_the_reset(hub: Hub) -> None:
    hub.sim.faults.inject("POST", "/graphql", Fault.graphql_rate_limit(reset_in=1800), times=1)
    client = hub.client()
    with pytest.raises(GitHubUnavailable, match="rate limit") as raised:
        client.blobs(REPO, [(hub.sim.world.repos[REPO].branches["main"], "README.md")])
    (fired,) = hub.sim.faults.fired
    assert fired.status == 200 and fired.kind == "graphql_rate_limit"
    reset = int(fired.headers["X-RateLimit-Reset"])
    assert raised.value.retry_after is not None
    # The wait ends at the reset GitHub announced (to the second), not after a fixed backoff.
    assert abs(time.time() + raised.value.retry_after - reset) < 2.0
    assert raised.value.retry_after > 1700


def test_only_our_own_check_run_is_found(hub: Hub) -> None:
    pr = hub.sim.open_pr(REPO, "alice", "docs", {"README.md": "# platform\nmore\n"}, title="Docs")
    client = hub.client()
    ours = client.create_check_run(REPO, {"name": "countersign", "head_sha": pr.head_sha})
    # An Actions job called `countersign` finishes later on the same head (a newer run).
    actions = foreign_check_run(hub.sim, REPO, pr.head_sha, "countersign", conclusion="success")
    assert actions.id > ours["id"]
    found = client.check_runs_for(REPO, pr.head_sha, "countersign")
    assert [r["id"] for r in found] == [ours["id"]]
    assert found[0]["app"]["id"] == APP_ID
    with pytest.raises(GitHubPermissionDenied):  # and another App's run cannot be written
        client.update_check_run(REPO, actions.id, {"conclusion": "failure"})


def test_a_permission_the_installation_lacks_is_refused_like_github(hub: Hub) -> None:
    pr = hub.sim.open_pr(REPO, "alice", "docs", {"README.md": "# platform\nmore\n"}, title="Docs")
    granted = dict(hub.sim.world.installations[hub.installation_id].permissions)
    assert granted == {
        "checks": "write",
        "pull_requests": "write",
        "issues": "write",
        "contents": "read",
        "metadata": "read",
        "members": "read",
        "merge_queues": "read",
        "deployments": "write",
        "actions": "read",
    }  # app.yml's default_permissions
    hub.sim.set_permissions(
        hub.installation_id, {k: v for k, v in granted.items() if k != "checks"}
    )
    client = hub.client()
    with pytest.raises(GitHubPermissionDenied, match="Resource not accessible by integration"):
        client.create_check_run(REPO, {"name": "countersign", "head_sha": pr.head_sha})
    hub.sim.set_permissions(
        hub.installation_id, {k: v for k, v in granted.items() if k != "contents"}
    )
    with pytest.raises(GitHubPermissionDenied, match="Resource not accessible by integration"):
        fetch_snapshot(hub.client(), REPO, pr.number)
