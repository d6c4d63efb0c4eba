"""Helpers shared by the simulator tests: the seeded world, the App key type, the receiver.

`seed` builds the world every module starts from: org `acme` with teams, the `acme/shop` repo
from tests/fixtures/github/shop, and the App installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from app.sim.server import SimServer
from app.sim.simulator import Simulator

FIXTURES = Path(__file__).parent.parent / "fixtures" / "github"
APP_ID = 31337
SECRET = "whsec-test-0123456789"


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@dataclass(frozen=True)
class AppKey:
    private_pem: str
    public_pem: str


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A stand-in for the App's webhook endpoint: records requests, answers `status`."""

    url: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)

    def events(self) -> list[str]:
        return [
            f"{r.headers['X-GitHub-Event']}.{json.loads(r.body).get('action')}"
            for r in self.received
        ]


def seed(sim: Simulator, key: AppKey, webhook_url: str | None) -> int:
    """The standard world; returns the installation id."""
    sim.set_app(APP_ID, key.public_pem, webhook_url=webhook_url, webhook_secret=SECRET)
    sim.add_org("acme")
    sim.add_user("alice", name="Alice Liddell")
    sim.add_user("bob")
    sim.add_user("carol")
    sim.add_user("infra-bot[bot]")
    sim.add_team("acme", "finance", ["alice", "carol"], name="Finance")
    sim.add_team("acme", "platform", {"bob": "maintainer", "carol": "member"})
    sim.add_team("acme", "security", ["carol"])
    sim.create_repo("acme/shop", dict(read_tree(FIXTURES / "shop")), admins=("carol",))
    return sim.install("acme").id


@dataclass
class Env:
    sim: Simulator
    server: SimServer
    installation_id: int
    key: AppKey
    receiver: Receiver

    def clear_received(self) -> None:
        """Forget what the receiver got so far, once every webhook already queued has arrived:
        an API call earlier in the module sends its webhooks from the sender's thread, and one
        landing after a bare `clear()` would be read as caused by the step under test."""
        self.sim.wait_idle()
        self.receiver.received.clear()

    def received_so_far(self) -> int:
        """How many webhooks arrived, after the queue drained (a mark to slice from)."""
        self.sim.wait_idle()
        return len(self.receiver.received)

    def client(self, installation_id: int | None = None, timeout: float = 5.0) -> GitHub[Any]:
        auth = AppAuthStrategy(APP_ID, self.key.private_pem)
        return GitHub(
            auth.as_installation(installation_id or self.installation_id),
            base_url=self.server.api_url + "/",
            http_cache=False,
            auto_retry=False,
            cache_strategy=MemCacheStrategy(),
            timeout=timeout,
        )

    @contextmanager
    def merging_client(self) -> Iterator[GitHub[Any]]:
        """A client whose installation may merge (`contents: write`, which app.yml does not ask
        for: Countersign never merges; these tests exercise GitHub's branch protection)."""
        before = dict(self.sim.world.installations[self.installation_id].permissions)
        self.sim.set_permissions(self.installation_id, {**before, "contents": "write"})
        try:
            yield self.client()
        finally:
            self.sim.set_permissions(self.installation_id, before)

    def app_client(self) -> GitHub[Any]:
        return GitHub(
            AppAuthStrategy(APP_ID, self.key.private_pem),
            base_url=self.server.api_url + "/",
            http_cache=False,
            auto_retry=False,
            cache_strategy=MemCacheStrategy(),
            timeout=5.0,
        )

    def open_pricing_pr(self, branch: str, **kwargs: Any) -> Any:
        head = read_tree(FIXTURES / "shop-pr")
        return self.sim.open_pr(
            "acme/shop",
            "infra-bot[bot]",
            branch,
            {"catalog/plans.json": head["catalog/plans.json"]},
            title="Raise the Pro plan to $35",
            body="Quarterly price review.\n\nAgent-Run-Id: run_7f3a9c",
            **kwargs,
        )
