"""Bring deploy/compose.yaml up with podman-compose, the way a user without Docker does (issue #19).

Two things of this machine shape how (both said in README's "What CI-style checks run here"):

- Loopback only: every service runs on the host network (an override file, `network_mode: host`),
  so they reach the GitHub simulator on 127.0.0.1 and it reaches web; PostgreSQL and web then
  listen on free loopback ports instead of 5432 and 8000.
- podman 4.3 (Debian bookworm): podman-compose ignores `service_healthy` before podman 4.6, and
  health checks run only from systemd timers, absent here. So `up` goes in two steps, PostgreSQL
  first, and each health check is run on demand with `podman healthcheck run`. Both steps pass
  `--no-deps`: otherwise podman-compose creates each container with `--requires` on its
  dependencies, and podman 4.3 cannot start web (requires migrate, which requires postgres:
  "generating dependency graph … not found in input list"). Ordering stays: podman-compose
  still waits for migrate to exit before it starts web and the workers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.image.podman import PODMAN

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# podman-compose has no flag for podman's runtime; --podman-args go before every podman command.
GLOBAL_ARGS = ["--podman-args=--runtime=runc", "--podman-args=--cgroup-manager=cgroupfs"]


def podman_compose() -> str | None:
    """The podman-compose next to this interpreter (the dev extras pin it), else on the PATH."""
    beside = Path(sys.executable).with_name("podman-compose")
    return str(beside) if beside.exists() else shutil.which("podman-compose")


def fill_env(example: str, values: dict[str, str]) -> str:
    """deploy/.env.example with each `NAME=` line set; a name it does not have is an error, so a
    renamed variable breaks this test instead of silently leaving the example's value."""
    text = example
    for name, value in values.items():
        text, count = re.subn(rf"^#? ?{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
        if count != 1:
            raise ValueError(f"deploy/.env.example: no single `{name}=` line (found {count})")
    return text


def override(pg_port: int, web_port: int) -> str:
    """The host-network override: loopback ports, the health checks pointed at them."""
    web_check = (
        "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen("
        f"'http://127.0.0.1:{web_port}/readyz', timeout=4).status == 200 else 1)"
    )
    return f"""\
services:
  postgres:
    network_mode: host
    environment:
      PGPORT: "{pg_port}"
    command: ["postgres", "-c", "listen_addresses=127.0.0.1"]
  migrate:
    network_mode: host
  web:
    network_mode: host
    command: ["countersign", "serve", "--role", "web", "--host", "127.0.0.1",
              "--port", "{web_port}"]
    healthcheck:
      test: !override ["CMD", "python", "-c", "{web_check}"]  # merged lists would concatenate
  worker:
    network_mode: host
"""


@dataclass
class Compose:
    """One podman-compose project on a copy of deploy/ (a user's own deploy/.env is left alone)."""

    directory: Path
    project: str
    image: str

    def files(self) -> list[str]:
        return ["-f", str(self.directory / "compose.yaml"), "-f", str(self.directory / "host.yaml")]

    def run(self, args: Sequence[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        tool = podman_compose()
        assert tool is not None, "podman-compose is not installed (pip install -e '.[dev]')"
        env = {**os.environ, "COUNTERSIGN_IMAGE": self.image}
        return subprocess.run(
            [tool, *GLOBAL_ARGS, "--in-pod=false", "-p", self.project, *self.files(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=self.directory,
            check=False,
        )

    def containers(self) -> dict[str, dict[str, str]]:
        """This project's containers by name: service, state, exit code, restarts."""
        fmt = '{{.Name}}|{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{.State.ExitCode}}|{{.RestartCount}}'
        names = subprocess.run(
            [
                *PODMAN,
                "ps",
                "-a",
                "-q",
                "--filter",
                f"label=io.podman.compose.project={self.project}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if not names:
            return {}
        out = subprocess.run(
            [*PODMAN, "inspect", "--format", fmt, *names],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found: dict[str, dict[str, str]] = {}
        for line in out.splitlines():
            name, service, state, code, restarts = line.split("|")
            found[name] = {"service": service, "state": state, "exit": code, "restarts": restarts}
        return found

    def of(self, service: str) -> list[str]:
        return sorted(n for n, c in self.containers().items() if c["service"] == service)

    def healthy(self, container: str) -> bool:
        """Run the container's compose health check once (no systemd timers here)."""
        done = subprocess.run(
            [*PODMAN, "healthcheck", "run", container], capture_output=True, timeout=60, check=False
        )
        return done.returncode == 0

    def volumes(self) -> list[str]:
        label = f"label=io.podman.compose.project={self.project}"
        done = subprocess.run(
            [*PODMAN, "volume", "ls", "-q", "--filter", label],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.split()

    def down(self) -> subprocess.CompletedProcess[str]:
        """`down -v`; whatever it leaves (it failed, or `up` never finished) is removed by label."""
        done = self.run(["down", "-v", "-t", "10"], timeout=180)
        for name in self.containers():
            subprocess.run([*PODMAN, "rm", "-f", "-t", "5", name], capture_output=True, check=False)
        for volume in self.volumes():
            subprocess.run(
                [*PODMAN, "volume", "rm", "-f", volume], capture_output=True, check=False
            )
        return done

    def logs(self) -> str:
        parts = []
        for name in self.containers():
            done = subprocess.run(
                [*PODMAN, "logs", name], capture_output=True, text=True, check=False
            )
            parts.append(f"--- {name}\n{(done.stdout + done.stderr)[-3000:]}")
        return "\n".join(parts)
