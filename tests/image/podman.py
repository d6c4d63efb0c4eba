"""Run the built image the way users do, with podman (see scripts/build-image.sh for why the
runtime flags). Every container runs on the host network, so the simulator and PostgreSQL on
127.0.0.1 are reachable from inside, and read-only with a /tmp tmpfs, as compose and Helm run it."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Sequence

PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
# --no-healthcheck: podman runs image health checks from systemd timers, absent here; the test
# polls /readyz itself.
RUN_FLAGS = ["--network=host", "--read-only", "--tmpfs", "/tmp", "--no-healthcheck"]
IMAGE_ENV = "COUNTERSIGN_IMAGE"


def image() -> str | None:
    return os.environ.get(IMAGE_ENV) or None


def env_args(env: dict[str, str]) -> list[str]:
    args: list[str] = []
    for name, value in env.items():
        args += ["-e", f"{name}={value}"]
    return args


def run(img: str, env: dict[str, str], command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """`podman run --rm`: a one-off command (the migration step, `audit verify`)."""
    return subprocess.run(
        [*PODMAN, "run", "--rm", *RUN_FLAGS, *env_args(env), img, *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def start(img: str, env: dict[str, str], command: Sequence[str], role: str) -> str:
    """`podman run -d`: a long-running service container; returns its name (also its hostname,
    so a worker's leases, owned by `hostname:pid:…`, say which container holds them)."""
    name = f"countersign-test-{role}-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            *PODMAN,
            "run",
            "-d",
            "--name",
            name,
            "--hostname",
            name,
            *RUN_FLAGS,
            *env_args(env),
            img,
            *command,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return name


def kill_9(name: str) -> None:
    subprocess.run([*PODMAN, "kill", "--signal", "KILL", name], capture_output=True, check=True)


def logs(name: str) -> str:
    done = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def remove(names: Sequence[str]) -> None:
    """Remove each container (one at a time, so one that is already gone stops no other)."""
    for name in names:
        subprocess.run(
            [*PODMAN, "rm", "-f", "-t", "5", name], capture_output=True, timeout=120, check=False
        )
