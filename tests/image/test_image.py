"""The built image end to end (`make image-test`): migrate, one web and two workers from the
image against PostgreSQL and the GitHub simulator on the host; one agent PR from open to merge;
then kill -9 a worker in the middle of a batch and nothing is lost or done twice.

Skipped unless COUNTERSIGN_IMAGE names a built image (scripts/build-image.sh) and
COUNTERSIGN_TEST_DATABASE_URL a PostgreSQL (workers on SQLite cannot share a database).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from app.demo.stack import APP_ID, generate_key
from app.sim.faults import Fault
from app.sim.scenario import apply_setup
from app.sim.server import SimServer
from app.sim.simulator import Simulator
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from app.store.db import make_engine
from app.store.tables import DELIVERIES
from tests.image import podman

pytestmark = [pytest.mark.container, pytest.mark.postgres]
REPO = "acme/platform"
SETUP = {
    "org": "acme",
    "users": ["alice", "bob", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice", "bob"]},
    "repos": {
        REPO: {"files": {"README.md": "# platform\n", ".github/CODEOWNERS": "* @acme/platform\n"}}
    },
    "install": True,
}
BATCH = 6
FINISHED = ("done", "ignored")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    image: str
    env: dict[str, str]
    sim: Simulator
    web_url: str
    containers: list[str] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)
    up_at: float = 0.0  # monotonic time the web container was started


@pytest.fixture
def deployment(pg_url: str) -> Iterator[Deployment]:
    image = podman.image()
    if image is None:
        pytest.skip(f"{podman.IMAGE_ENV} is not set (make image-test builds and sets it)")
    private_key, public_key = generate_key()
    secret = "image-test-webhook-secret"
    sim = Simulator()
    server = SimServer(sim)
    server.start()
    port = free_port()
    env = {
        "COUNTERSIGN_APP_ID": str(APP_ID),
        "COUNTERSIGN_PRIVATE_KEY": private_key.replace("\n", "\\n"),
        "COUNTERSIGN_WEBHOOK_SECRET": secret,
        "COUNTERSIGN_DATABASE_URL": pg_url,
        "COUNTERSIGN_GITHUB_API_URL": server.api_url,
        "COUNTERSIGN_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "COUNTERSIGN_LEASE_SECONDS": "5",  # a killed worker's delivery comes back soon
        "COUNTERSIGN_RETRY_BASE_SECONDS": "0.2",
        "COUNTERSIGN_RECONCILE_INTERVAL_SECONDS": "0",
        "COUNTERSIGN_LOG_LEVEL": "WARNING",
        "COUNTERSIGN_CACHE_DIR": "/tmp/countersign-cache",
    }
    web_url = f"http://127.0.0.1:{port}"
    dep = Deployment(image=image, env=env, sim=sim, web_url=web_url)
    try:
        migrated = podman.run(image, env, ["countersign", "db", "upgrade"])
        assert migrated.returncode == 0, migrated.stderr
        started = time.monotonic()
        web = ["countersign", "serve", "--role", "web", "--host", "127.0.0.1", "--port", str(port)]
        dep.containers.append(podman.start(image, env, web, "web"))
        for n in range(2):
            name = podman.start(image, env, ["countersign", "serve", "--role", "worker"], f"w{n}")
            dep.containers.append(name)
            dep.workers.append(name)
        sim.wait_for(lambda: ready(web_url), 120, "the web container to be ready (/readyz)")
        sim.set_app(
            APP_ID, public_key, webhook_url=f"{web_url}/webhooks/github", webhook_secret=secret
        )
        apply_setup(sim, SETUP)
        sim.wait_idle(60)
        dep.up_at = started
        yield dep
    finally:
        if dep.containers:
            for name in dep.containers:
                print(f"--- {name}\n{podman.logs(name)[-3000:]}")
        podman.remove(dep.containers)
        server.stop()
        sim.close()


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def concluded(dep: Deployment, pr: PullRequest, conclusion: str = "success") -> bool:
    check = dep.sim.latest_check(pr)
    return check is not None and check.conclusion == conclusion


def leased_by(engine: Engine, container: str) -> list[str]:
    """Deliveries a worker container holds a lease on right now."""
    query = sa.select(DELIVERIES.c.id).where(
        DELIVERIES.c.status == "processing", DELIVERIES.c.lease_owner.like(f"{container}:%")
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def outcome(engine: Engine, ids: list[str]) -> list[tuple[str, int]]:
    query = sa.select(DELIVERIES.c.status, DELIVERIES.c.attempts).where(DELIVERIES.c.id.in_(ids))
    with engine.connect() as conn:
        return [(str(status), int(attempts)) for status, attempts in conn.execute(query)]


def open_agent_pr(dep: Deployment, n: int) -> PullRequest:
    return dep.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        f"agent/docs-{n}",
        {f"docs/page-{n}.md": f"# page {n}\n"},
        title=f"Docs {n}",
        body=f"x\n\nAgent-Run-Id: run_image_{n}",
    )


@pytest.mark.timeout(900)
def test_image_runs_an_agent_pr_to_a_verified_merge_and_survives_a_killed_worker(
    deployment: Deployment, pg_url: str
) -> None:
    dep = deployment
    engine = make_engine(pg_url)
    try:
        pr = open_agent_pr(dep, 0)
        dep.sim.wait_for(lambda: concluded(dep, pr), 120, "the first check run")
        first_check = time.monotonic() - dep.up_at
        print(f"image-test: up -> first check run concluded in {first_check:.1f} s")
        assert len(dep.sim.check_runs_for(REPO, pr.head_sha)) == 1

        dep.sim.review(pr, "alice", "APPROVED")
        dep.sim.wait_for(
            lambda: len(events_for_pr(engine, REPO, pr.number, kinds=("evaluation",))) >= 2,
            60,
            "the re-evaluation after the approval",
        )
        dep.sim.merge(pr, by="bob")
        dep.sim.wait_for(
            lambda: len(events_for_pr(engine, REPO, pr.number, kinds=("merge",))) == 1,
            60,
            "the merge record",
        )
        (merge,) = events_for_pr(engine, REPO, pr.number, kinds=("merge",))
        assert merge.run_id == "run_image_0"

        # A batch while one worker is held mid-evaluation by a slow GitHub, then killed.
        dep.sim.faults.inject("POST", "/graphql", Fault.delay(8.0), times=2)
        batch = [open_agent_pr(dep, n) for n in range(1, BATCH + 1)]
        victim = dep.workers[0]
        dep.sim.wait_for(lambda: bool(leased_by(engine, victim)), 120, "the victim mid-delivery")
        in_flight = leased_by(engine, victim)
        podman.kill_9(victim)
        for p in batch:
            dep.sim.wait_for(lambda p=p: concluded(dep, p), 180, f"PR #{p.number}'s check")
        for p in batch:
            assert len(dep.sim.check_runs_for(REPO, p.head_sha)) == 1, p.number
            evaluations = events_for_pr(engine, REPO, p.number, kinds=("evaluation",))
            assert len(evaluations) == 1, p.number
        # What the killed worker held is reclaimed and finished by the survivor (done, or
        # ignored for an event that needs no work), one attempt later.
        dep.sim.wait_for(
            lambda: all(status in FINISHED for status, _ in outcome(engine, in_flight)),
            120,
            "the killed worker's deliveries to finish",
        )
        assert all(attempts >= 2 for _status, attempts in outcome(engine, in_flight))

        verified = podman.run(dep.image, dep.env, ["countersign", "audit", "verify"])
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        engine.dispose()
