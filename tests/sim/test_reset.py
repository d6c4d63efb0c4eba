"""`Simulator.reset`: one server hosts many tests, each starting from an empty world."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.sim.auth import AuthFailure
from app.sim.faults import Fault
from app.sim.oidc import issuer_for
from app.sim.server import SimServer
from app.sim.simulator import Simulator
from tests.sim.helpers import AppKey, Receiver, seed


@pytest.fixture
def served() -> Iterator[tuple[Simulator, SimServer]]:
    sim = Simulator()
    server = SimServer(sim)
    server.start()
    try:
        yield sim, server
    finally:
        server.stop()
        sim.close()


def busy_world(sim: Simulator, key: AppKey, receiver: Receiver) -> str:
    """A world with something of every kind in it; returns an installation token."""
    installation = seed(sim, key, receiver.url)
    pr = sim.open_pr("acme/shop", "alice", "feat", {"README.md": "x\n"}, title="Feat")
    sim.review(pr, "bob", "COMMENTED")
    sim.create_check_run("acme/shop", {"name": "ci", "head_sha": pr.head_sha})
    sim.faults.inject("GET", "/repos/*/*", Fault.error(502, "Bad Gateway"), times=None)
    sim.merge_queue  # noqa: B018  (made on first use)
    sim.wait_idle()
    return sim.tokens.issue(installation, sim.now()).token


def test_reset_forgets_the_world_and_keeps_serving(
    served: tuple[Simulator, SimServer], app_key: AppKey, receiver: Receiver
) -> None:
    sim, server = served
    token = busy_world(sim, app_key, receiver)
    old_queue, old_issuer = sim.merge_queue, issuer_for(sim)
    assert sim.deliveries and sim.world.pulls and sim.log

    sim.reset()

    world = sim.world
    assert (world.app, world.users, world.repos, world.pulls) == (None, {}, {}, {})
    assert (world.reviews, world.check_runs, world.installations) == ({}, {}, {})
    assert (sim.deliveries, sim.requests, sim.log) == ([], [], [])
    assert world.web_url == server.base_url
    assert world.new_id() == 1001  # ids start again, as in a new simulator
    assert sim.merge_queue is not old_queue
    assert issuer_for(sim) is not old_issuer  # a new OIDC key
    with pytest.raises(AuthFailure):
        sim.tokens.check(token, sim.now())
    # No fault survives: the API answers as usual (401, no credentials), not the injected 502.
    answer = httpx.get(f"{server.api_url}/repos/acme/shop")
    assert answer.status_code == 401


def test_a_reset_simulator_sends_webhooks_again(
    served: tuple[Simulator, SimServer], app_key: AppKey, receiver: Receiver
) -> None:
    sim, _ = served
    busy_world(sim, app_key, receiver)
    sim.reset()
    receiver.received.clear()
    seed(sim, app_key, receiver.url)
    pr = sim.open_pr("acme/shop", "alice", "again", {"README.md": "y\n"}, title="Again")
    sim.wait_idle()
    assert pr.number == 1
    assert [d.event for d in sim.deliveries][-1] == "pull_request"
    assert "pull_request.opened" in receiver.events()
