"""deploy/compose.yaml brought up for real with podman-compose (issue #19): PostgreSQL (the local
stand-in of scripts/build-local-postgres.sh), the migration step, web and two workers, pointed at
the GitHub simulator on the host; one agent PR gets its check run; then `down -v`.

Skipped unless COUNTERSIGN_IMAGE names a built image (`make image-test` sets it). How the host
network and podman 4.3 shape the run: tests/image/compose.py.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.demo.stack import APP_ID, generate_key
from app.sim.scenario import apply_setup
from app.sim.server import SimServer
from app.sim.simulator import Simulator
from app.sim.state import PullRequest
from tests.image import podman
from tests.image.compose import DEPLOY, Compose, fill_env, override, podman_compose
from tests.image.test_image import REPO, SETUP, free_port, ready

pytestmark = [pytest.mark.container]
SECRET = "compose-test-webhook-secret"
PASSWORD = "compose-test-pg-password"


@dataclass
class Stack:
    compose: Compose
    sim: Simulator
    web_url: str
    up_at: float  # monotonic time web's /readyz first answered 200


def concluded(sim: Simulator, pr: PullRequest) -> bool:
    check = sim.latest_check(pr)
    return check is not None and check.conclusion is not None


def write_deploy(directory: Path, api_url: str, pg_port: int, web_port: int) -> None:
    """A copy of deploy/ as a user fills it in: .env from .env.example, the App key, compose.yaml
    unchanged; plus this machine's host-network override."""
    directory.mkdir()
    shutil.copy(DEPLOY / "compose.yaml", directory / "compose.yaml")
    env = fill_env(
        (DEPLOY / ".env.example").read_text(),
        {
            "COUNTERSIGN_APP_ID": str(APP_ID),
            "COUNTERSIGN_WEBHOOK_SECRET": SECRET,
            "POSTGRES_PASSWORD": PASSWORD,
            "COUNTERSIGN_DATABASE_URL": (
                f"postgresql+psycopg://countersign:{PASSWORD}@127.0.0.1:{pg_port}/countersign"
            ),
            "COUNTERSIGN_GITHUB_API_URL": api_url,
            "COUNTERSIGN_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        },
    )
    (directory / ".env").write_text(env)
    (directory / "host.yaml").write_text(override(pg_port, web_port))


def wait(what: str, check: Callable[[], bool], timeout: float, compose: Compose) -> None:
    """Poll `check` until true; on timeout fail with every container's log tail."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{compose.logs()}")
        time.sleep(0.5)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    image = podman.image()
    if image is None:
        pytest.skip(f"{podman.IMAGE_ENV} is not set (make image-test builds and sets it)")
    assert podman_compose() is not None, "podman-compose is missing: pip install -e '.[dev]'"
    private_key, public_key = generate_key()
    sim = Simulator()
    server = SimServer(sim)
    server.start()
    pg_port, web_port = free_port(), free_port()
    directory = tmp_path / "deploy"
    write_deploy(directory, server.api_url, pg_port, web_port)
    key = directory / "github-app.private-key.pem"
    key.write_text(private_key)
    key.chmod(0o644)  # read through the secret's bind mount by the image's uid 10001
    compose = Compose(directory, f"cstest{uuid.uuid4().hex[:8]}", image)
    web_url = f"http://127.0.0.1:{web_port}"
    try:
        started = time.monotonic()
        up = compose.run(["up", "-d", "--no-deps", "postgres"])
        assert up.returncode == 0, up.stdout + up.stderr
        (pg,) = compose.of("postgres")
        wait("postgres's health check", lambda: compose.healthy(pg), 120, compose)
        up = compose.run(["up", "-d", "--no-deps"])
        assert up.returncode == 0, up.stdout + up.stderr
        wait("web's /readyz", lambda: ready(web_url), 180, compose)
        up_at = time.monotonic()
        print(f"compose-test: up -> web ready in {up_at - started:.1f} s")
        sim.set_app(
            APP_ID, public_key, webhook_url=f"{web_url}/webhooks/github", webhook_secret=SECRET
        )
        apply_setup(sim, SETUP)
        sim.wait_idle(60)
        yield Stack(compose, sim, web_url, up_at)
    finally:
        print(compose.logs())
        down = compose.down()
        server.stop()
        sim.close()
    assert down.returncode == 0, down.stdout + down.stderr
    assert compose.containers() == {} and compose.volumes() == []


@pytest.mark.timeout(600)
def test_compose_up_serves_an_agent_pr_with_web_and_two_workers(stack: Stack) -> None:
    compose = stack.compose
    containers = compose.containers()
    services = sorted(c["service"] for c in containers.values())
    assert services == ["migrate", "postgres", "web", "worker", "worker"], containers
    (migrate,) = compose.of("migrate")
    assert containers[migrate]["state"] == "exited" and containers[migrate]["exit"] == "0"

    sim = stack.sim
    pr = sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs-compose",
        {"docs/compose.md": "# compose\n"},
        title="Docs from compose",
        body="x\n\nAgent-Run-Id: run_compose_0",
    )
    sim.wait_for(lambda: concluded(sim, pr), 120, "the check run to conclude")
    print(
        f"compose-test: web ready -> check run concluded in {time.monotonic() - stack.up_at:.1f} s"
    )
    assert len(sim.check_runs_for(REPO, pr.head_sha)) == 1
    check = sim.latest_check(pr)
    assert check is not None and check.conclusion == "success", check

    # Web and both workers are still up, never restarted, and web passes compose's own check.
    after = compose.containers()
    for name in [*compose.of("web"), *compose.of("worker")]:
        assert after[name]["state"] == "running", (name, after[name], compose.logs())
        assert after[name]["restarts"] == "0", (name, after[name])
    for name in compose.of("worker"):
        assert "countersign worker: 1 worker(s)" in podman.logs(name), name
    (web,) = compose.of("web")
    assert compose.healthy(web)
    assert httpx.get(f"{stack.web_url}/healthz", timeout=5).status_code == 200
