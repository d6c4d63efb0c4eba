"""The simulator, driven through the App's real client code, answers what GitHub's descriptions say.

Every test in the suite is checked this way after it runs (tests/conftest.py); this module makes
sure the check covers every endpoint the client uses and every webhook the simulator sends,
whatever the other tests happen to do, and that a typo or an unknown event fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.github.client import GitHubApp, InstallationClient
from app.github.snapshot_fetch import fetch_snapshot
from app.sim import taps
from app.sim.api import create_app
from app.sim.simulator import Simulator
from tests.sim.helpers import APP_ID, FIXTURES, Env, read_tree
from tests.specs import descriptions
from tests.specs.traffic import TrafficChecker, Violation

CLIENT_OPERATIONS = {
    "apps/create-installation-access-token",
    "apps/list-installations",
    "apps/list-webhook-deliveries",
    "apps/redeliver-webhook-delivery",
    "pulls/get",
    "pulls/list",
    "pulls/list-files",
    "pulls/list-commits",
    "pulls/list-reviews",
    "pulls/request-reviewers",
    "checks/create",
    "checks/update",
    "checks/list-for-ref",
    "issues/add-labels",
    "issues/remove-label",
    "teams/list-members-in-org",
}
"""What `app.github.client` calls; the test below fails when one of them went unexercised."""


@pytest.fixture
def checker() -> Iterator[TrafficChecker]:
    """A checker of this test's own traffic (the session's sees it too)."""
    own = TrafficChecker(keep=True)
    remove = taps.add(own)
    try:
        yield own
    finally:
        remove()


def operations_seen(checker: TrafficChecker, before: int) -> set[str]:
    return {
        descriptions.rest().operation(x.method, x.path).operation_id
        for x in checker.seen_exchanges[before:]
        if x.path != "/graphql"
    }


def assert_conforms(violations: list[Violation]) -> None:
    assert not violations, "\n".join(str(v) for v in violations)


def test_every_simulator_route_is_a_vendored_github_endpoint() -> None:
    """A new simulator route must be an endpoint GitHub has, and vendored (else: add it)."""
    rest = descriptions.rest()
    with Simulator() as sim:
        served = create_app(sim).app.openapi()["paths"]  # type: ignore[attr-defined]
    checked = []
    for path, item in served.items():
        if not path.startswith("/api/v3/"):
            continue
        sample = path.removeprefix("/api/v3").replace("{path}", "dir/file.json")
        sample = sample.replace("{", "x").replace("}", "")
        for method in item:
            op = rest.operation(method.upper(), sample)  # SpecGap names the fix
            checked.append(op.operation_id)
    assert {"pulls/get", "checks/create", "apps/create-installation-access-token"} <= set(checked)


def test_client_code_paths_conform(env: Env, checker: TrafficChecker) -> None:
    """Token exchange, snapshot, checks, labels, reviewers, teams, installations, deliveries."""
    pr = env.open_pricing_pr("agent/specs-client")
    env.sim.review(pr, "alice", "APPROVED")
    env.sim.push(
        pr,
        {"infra/prod/db.tf": read_tree(FIXTURES / "shop-pr")["infra/prod/db.tf"]},
        message="Resize the database\n\nAgent-Run-Id: run_7f3a9c",
    )
    app = GitHubApp(APP_ID, env.key.private_pem, base_url=env.server.api_url)
    client: InstallationClient = app.installation(env.installation_id)
    snapshot = fetch_snapshot(client, "acme/shop", pr.number)
    assert {f.path for f in snapshot.files} == {"catalog/plans.json", "infra/prod/db.tf"}
    assert [p["number"] for p in client.open_pulls("acme/shop")] == [pr.number]
    run = client.create_check_run(
        "acme/shop",
        {"name": "countersign", "head_sha": pr.head_sha, "status": "in_progress",
         "external_id": f"acme/shop#{pr.number}",
         "output": {"title": "Evaluating", "summary": "Countersign is evaluating."}},
    )  # fmt: skip
    client.update_check_run(
        "acme/shop",
        run["id"],
        {
            "status": "completed",
            "conclusion": "action_required",
            "output": {
                "title": "Tier 2",
                "summary": "Needs finance.",
                "annotations": [
                    {"path": "catalog/plans.json", "start_line": 3, "end_line": 3,
                     "annotation_level": "warning", "message": "price up"}
                ],
            },
            "actions": [
                {"label": "Re-evaluate", "description": "Evaluate again", "identifier": "reeval"}
            ],
        },
    )  # fmt: skip
    assert [r["id"] for r in client.check_runs_for("acme/shop", pr.head_sha, "countersign")] == [
        run["id"]
    ]
    client.add_labels("acme/shop", pr.number, ["countersign:tier-2", "countersign:pricing"])
    client.remove_label("acme/shop", pr.number, "countersign:tier-2")
    client.remove_label("acme/shop", pr.number, "countersign:not-there")  # GitHub: 404
    client.request_reviewers("acme/shop", pr.number, ["bob"], ["finance"])
    assert client.team_members("acme/finance") == ("alice", "carol")
    # Served by the simulator though the App does not call them today: checked all the same.
    for path in ("/repos/acme/shop/contents/catalog", "/repos/acme/shop/contents/infra"):
        client.call("GET", path)
    app_client = app.app_client()
    assert [i["id"] for i in app_client.installations()] == [env.installation_id]
    deliveries = app_client.hook_deliveries()
    app_client.redeliver(deliveries[0]["id"])
    env.sim.wait_idle()

    assert_conforms(checker.drain())
    assert CLIENT_OPERATIONS <= operations_seen(checker, 0), CLIENT_OPERATIONS - operations_seen(
        checker, 0
    )
    assert any(x.path == "/graphql" for x in checker.seen_exchanges)


def test_every_webhook_the_simulator_sends_conforms(env: Env, checker: TrafficChecker) -> None:
    sim = env.sim
    pr = env.open_pricing_pr("agent/specs-hooks")
    sim.edit_pr(pr, body=pr.body + "\n\nEdited.", by="infra-bot[bot]")
    sim.push(pr, {"README.md": "# shop\nMore.\n"}, message="Docs")
    sim.add_labels(pr, ["countersign:tier-1"], via_api=False)
    sim.remove_label(pr, "countersign:tier-1", via_api=False)
    sim.request_reviewers(pr, ["bob"], ["finance"], via_api=False)
    review = sim.review(pr, "alice", "APPROVED", body="ok")
    sim.dismiss_review(review.id, by="carol", message="stale")
    run = sim.create_check_run(
        "acme/shop",
        {"name": "countersign", "head_sha": pr.head_sha, "status": "completed",
         "conclusion": "success", "output": {"title": "ok", "summary": "ok"},
         "actions": [{"label": "Re-evaluate", "description": "again", "identifier": "reeval"}]},
        via_api=False,
    )  # fmt: skip
    sim.rerequest_check(run.id, by="alice")
    sim.requested_action(run.id, "reeval", by="alice")
    sim.merge(pr, by="carol")
    other = env.open_pricing_pr("agent/specs-closed")
    sim.close_pr(other, by="carol")
    sim.add_org("globex")
    inst = sim.install("globex")
    sim.uninstall(inst.id)
    sim.wait_idle()

    assert_conforms(checker.drain())
    sent = {(x.event, x.action) for x in checker.seen_webhooks}
    assert {
        ("pull_request", "opened"),
        ("pull_request", "edited"),
        ("pull_request", "synchronize"),
        ("pull_request", "labeled"),
        ("pull_request", "unlabeled"),
        ("pull_request", "review_requested"),
        ("pull_request", "closed"),
        ("pull_request_review", "submitted"),
        ("pull_request_review", "dismissed"),
        ("check_run", "created"),
        ("check_run", "completed"),
        ("check_run", "rerequested"),
        ("check_run", "requested_action"),
        ("installation", "created"),
        ("installation", "deleted"),
    } <= sent


@pytest.mark.github_off_spec("calls a misspelled endpoint on purpose")
def test_a_misspelled_endpoint_the_client_tolerates_is_still_an_error(
    env: Env, checker: TrafficChecker
) -> None:
    app = GitHubApp(APP_ID, env.key.private_pem, base_url=env.server.api_url)
    client = app.installation(env.installation_id)
    assert client.call("DELETE", "/repos/acme/shop/issue/1/labels/x", ok_404=True) is None
    violations = [str(v) for v in checker.drain()]
    assert any(
        "has no DELETE /repos/acme/shop/issue/1/labels/x: a typo" in v for v in violations
    ), violations
