"""Webhooks: GitHub's headers and signatures, payload shapes, recorded deliveries, redelivery."""

from __future__ import annotations

import json
import uuid

import pytest
from githubkit import webhooks as gk_webhooks

from app.sim.auth import AuthFailure
from app.sim.simulator import Simulator
from tests.sim.helpers import APP_ID, SECRET, AppKey, Env, Receiver, seed


def test_every_delivery_is_signed_like_github(env: Env) -> None:
    env.clear_received()
    env.open_pricing_pr("agent/signed")
    (got,) = env.receiver.received
    h = got.headers
    assert h["X-GitHub-Event"] == "pull_request"
    assert uuid.UUID(h["X-GitHub-Delivery"]).version == 4
    assert h["X-GitHub-Hook-ID"].isdigit()
    assert h["X-GitHub-Hook-Installation-Target-ID"] == str(APP_ID)
    assert h["X-GitHub-Hook-Installation-Target-Type"] == "integration"
    assert h["User-Agent"].startswith("GitHub-Hookshot/")
    assert h["Content-Type"] == "application/json"
    assert gk_webhooks.verify(SECRET, got.body, h["X-Hub-Signature-256"])
    assert h["X-Hub-Signature-256"].startswith("sha256=")
    assert h["X-Hub-Signature"].startswith("sha1=")
    assert gk_webhooks.verify(SECRET, got.body, h["X-Hub-Signature"])
    assert not gk_webhooks.verify("wrong-secret", got.body, h["X-Hub-Signature-256"])


def test_pull_request_lifecycle_payloads_parse_with_githubkit_models(env: Env) -> None:
    env.clear_received()
    sim = env.sim
    pr = env.open_pricing_pr("agent/lifecycle")
    first_head = pr.head_sha
    after = sim.push(pr, {"README.md": "# shop\n\nNow with prices.\n"}, message="Docs")
    sim.edit_pr(pr, body="Agent-Run-Id: run_edited", by="infra-bot[bot]")
    review = sim.review(pr, "alice", "APPROVED", commit_id=first_head)
    sim.dismiss_review(review.id, by="carol", message="Stale after the docs push")
    assert env.receiver.events() == [
        "pull_request.opened",
        "pull_request.synchronize",
        "pull_request.edited",
        "pull_request_review.submitted",
        "pull_request_review.dismissed",
    ]
    payloads = [json.loads(r.body) for r in env.receiver.received]
    for got in env.receiver.received:
        gk_webhooks.parse(got.headers["X-GitHub-Event"], got.body)  # raises on a bad shape
    opened, sync, edited, submitted, dismissed = payloads
    assert opened["number"] == pr.number
    assert opened["installation"] == {
        "id": env.installation_id,
        "node_id": opened["installation"]["node_id"],
    }
    assert opened["pull_request"]["user"]["type"] == "Bot"
    assert opened["sender"]["login"] == "infra-bot[bot]"
    assert opened["repository"]["full_name"] == "acme/shop"
    assert (sync["before"], sync["after"]) == (first_head, after)
    assert sync["pull_request"]["head"]["sha"] == after
    assert edited["changes"]["body"]["from"].endswith("Agent-Run-Id: run_7f3a9c")
    assert submitted["review"]["state"] == "approved"
    assert submitted["review"]["commit_id"] == first_head
    assert dismissed["review"]["state"] == "dismissed"
    assert dismissed["sender"]["login"] == "carol"


def test_check_run_events_carry_pull_requests_and_requested_action(env: Env) -> None:
    sim = env.sim
    pr = env.open_pricing_pr("agent/check-events")
    run = sim.create_check_run(
        "acme/shop",
        {
            "name": "countersign",
            "head_sha": pr.head_sha,
            "status": "completed",
            "conclusion": "action_required",
            "output": {"title": "Tier 2", "summary": "Waiting for finance."},
            "actions": [
                {
                    "label": "Re-evaluate",
                    "description": "Evaluate again",
                    "identifier": "reevaluate",
                }
            ],
        },
        via_api=False,
    )
    env.clear_received()
    sim.rerequest_check(run.id, by="alice")
    sim.requested_action(run.id, "reevaluate", by="bob")
    rerequested, clicked = (json.loads(r.body) for r in env.receiver.received)
    assert rerequested["action"] == "rerequested"
    assert rerequested["check_run"]["pull_requests"][0]["number"] == pr.number
    assert clicked["requested_action"] == {"identifier": "reevaluate"}
    assert clicked["sender"]["login"] == "bob"
    for got in env.receiver.received:
        gk_webhooks.parse("check_run", got.body)


def test_deliveries_are_recorded_with_status_and_dropped_ones_fail(env: Env) -> None:
    sim = env.sim
    before = len(sim.deliveries)
    env.clear_received()
    sim.drop_next_deliveries(1)
    pr = env.open_pricing_pr("agent/dropped")
    sim.edit_pr(pr, title="Raise Pro to $35 (edited)")
    dropped, sent = sim.deliveries[before:]
    assert (dropped.status_code, dropped.ok, dropped.action) == (0, False, "opened")
    assert (sent.status, sent.status_code, sent.action) == ("OK", 200, "edited")
    assert env.receiver.events() == ["pull_request.edited"]


def test_failed_app_response_is_recorded(env: Env) -> None:
    env.receiver.status = 500
    try:
        env.sim.edit_pr(env.open_pricing_pr("agent/app-down"), body="x")
    finally:
        env.receiver.status = 200
    last = env.sim.deliveries[-1]
    assert (last.status, last.status_code) == ("Invalid HTTP Response: 500", 500)


def test_redelivery_keeps_guid_and_body_with_a_new_id(env: Env) -> None:
    sim = env.sim
    sim.drop_next_deliveries(1)
    env.open_pricing_pr("agent/redeliver")
    failed = sim.deliveries[-1]
    env.clear_received()
    sim.redeliver(failed.id)
    again = sim.deliveries[-1]
    assert again.guid == failed.guid
    assert again.id != failed.id
    assert again.redelivery is True
    assert again.body == failed.body
    (got,) = env.receiver.received
    assert got.headers["X-GitHub-Delivery"] == failed.guid
    assert gk_webhooks.verify(SECRET, got.body, got.headers["X-Hub-Signature-256"])


def test_redelivery_through_the_api_uses_the_same_guid(env: Env) -> None:
    sim = env.sim
    sim.drop_next_deliveries(1)
    env.open_pricing_pr("agent/redeliver-api")
    failed = sim.deliveries[-1]
    env.clear_received()
    gh = env.app_client()
    gh.rest.apps.redeliver_webhook_delivery(failed.id)
    sim.wait_idle(5)
    assert [r.headers["X-GitHub-Delivery"] for r in env.receiver.received] == [failed.guid]


def test_async_mode_delivers_in_order_and_wait_for_sees_it(
    env: Env, app_key: AppKey, receiver: Receiver
) -> None:
    env.sim.wait_idle()  # the module's simulator shares this receiver
    with Simulator() as sim:
        receiver.received.clear()
        seed(sim, app_key, receiver.url)
        pr = sim.open_pr(
            "acme/shop", "infra-bot[bot]", "agent/async", {"a.txt": "1\n"}, title="Async"
        )
        for n in range(3):
            sim.push(pr, {"a.txt": f"{n + 2}\n"}, message=f"step {n}")
        sim.wait_for(lambda: len(receiver.received) == 5, 5, "5 deliveries")
        assert (
            receiver.events()
            == ["installation.created", "pull_request.opened"] + ["pull_request.synchronize"] * 3
        )
        with pytest.raises(TimeoutError, match="never"):
            sim.wait_for(lambda: False, 0.05, "never")


def test_install_and_uninstall_emit_installation_events_and_revoke_tokens(app_key: AppKey) -> None:
    with Simulator(sync_webhooks=True) as sim:
        seed(sim, app_key, None)
        sim.add_org("globex")
        sim.create_repo("globex/www", {"index.html": "<h1>globex</h1>\n"})
        inst = sim.install("globex", ["globex/www"], by="alice")
        token = sim.tokens.issue(inst.id, sim.now())
        sim.uninstall(inst.id, by="alice")
        created, deleted = sim.deliveries[-2:]
        assert (created.event, created.action, deleted.action) == (
            "installation",
            "created",
            "deleted",
        )
        assert created.payload["repositories"][0]["full_name"] == "globex/www"
        gk_webhooks.parse("installation", deleted.body)
        with pytest.raises(AuthFailure, match="Bad credentials"):
            sim.tokens.check(token.token, sim.now())
