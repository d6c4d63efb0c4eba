"""A simulator served on loopback and our real GitHubApp client pointed at it.

Nothing here is mocked: the client speaks HTTP to `app/sim`, which answers like GitHub (GraphQL's
512,000-byte cut, `Link` pagination, permissions from app.yml, rate limits). Webhooks go nowhere
(no URL), which also gives the hook-deliveries list something to page through.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from app.demo.stack import generate_key
from app.github.client import CallLog, GitHubApp, InstallationClient
from app.sim.server import SimServer
from app.sim.simulator import Simulator

APP_ID = 5150


@dataclass
class Hub:
    sim: Simulator
    server: SimServer
    private_key: str
    installation_id: int

    def app(self, **kwargs: object) -> GitHubApp:
        return GitHubApp(APP_ID, self.private_key, base_url=self.server.api_url, **kwargs)  # type: ignore[arg-type]

    def client(self, **kwargs: object) -> InstallationClient:
        return self.app(**kwargs).installation(self.installation_id, CallLog())


@pytest.fixture(scope="session")
def key_pair() -> tuple[str, str]:
    return generate_key()


@pytest.fixture
def hub(key_pair: tuple[str, str]) -> Iterator[Hub]:
    private, public = key_pair
    sim = Simulator()
    server = SimServer(sim)
    server.start()
    try:
        sim.set_app(APP_ID, public, webhook_url=None, webhook_secret="whsec-github-tests-4d1f")
        sim.add_org("acme")
        sim.add_user("alice")
        sim.add_user("pricing-bot[bot]", type="Bot")
        sim.add_user("infra-bot[bot]", type="Bot")
        sim.create_repo("acme/platform", {"README.md": "# platform\n"})
        inst = sim.install("acme")
        yield Hub(sim, server, private, inst.id)
    finally:
        server.stop()
        sim.close()
