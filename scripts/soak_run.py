"""The moving parts of `scripts/soak.py`: the process fleet, the RSS sampler and the senders."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from app.demo.stack import LocalStack
from app.sim import webhooks

ROOT = Path(__file__).resolve().parents[1]
RESEND_SECONDS = 180.0  # how long one delivery is offered again before the run gives up on it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


class Fleet:
    """`web` web and `workers` worker processes of `countersign serve`, replaced when killed."""

    def __init__(self, stack: LocalStack, *, web: int, workers: int) -> None:
        self.stack = stack
        self.web_count, self.worker_count = web, workers
        self.webs: list[Proc] = []
        self.workers: list[Proc] = []
        self.urls: list[str] = []
        self.kills = 0
        self.unexpected_exits: list[str] = []
        self.lock = threading.Lock()

    def _env(self) -> dict[str, str]:
        stack = self.stack
        return {
            **os.environ,
            "COUNTERSIGN_APP_ID": "4242",
            "COUNTERSIGN_PRIVATE_KEY": stack.private_key,
            "COUNTERSIGN_WEBHOOK_SECRET": stack.webhook_secret,
            "COUNTERSIGN_DATABASE_URL": stack.database_url,
            "COUNTERSIGN_GITHUB_API_URL": stack.sim_server.api_url,
            "COUNTERSIGN_LEASE_SECONDS": "10",
            "COUNTERSIGN_RETRY_BASE_SECONDS": "0.2",
            "COUNTERSIGN_GITHUB_TIMEOUT_SECONDS": "5",
            "COUNTERSIGN_RECONCILE_INTERVAL_SECONDS": "0",
            "COUNTERSIGN_LOG_LEVEL": "ERROR",
        }

    def _spawn(self, name: str, *args: str) -> Proc:
        cmd = [sys.executable, "-m", "app.cli.main", "serve", *args]
        popen = subprocess.Popen(
            cmd, env=self._env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return Proc(name, popen)

    def __enter__(self) -> Self:
        for i in range(self.web_count):
            port = free_port()
            self.webs.append(self._spawn(f"web{i}", "--role", "web", "--port", str(port)))
            self.urls.append(f"http://127.0.0.1:{port}")
        for i in range(self.worker_count):
            self.workers.append(self._spawn(f"worker{i}", "--role", "worker"))
        deadline = time.monotonic() + 120
        for url in self.urls:
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not become ready in 120 s")
                time.sleep(0.3)
        return self

    def processes(self) -> list[Proc]:
        with self.lock:
            return [*self.webs, *self.workers]

    def kill_random_worker(self, rnd: random.Random) -> None:
        with self.lock:
            i = rnd.randrange(len(self.workers))
            victim = self.workers[i]
            victim.popen.send_signal(signal.SIGKILL)
            victim.popen.wait(15)
            self.workers[i] = self._spawn(victim.name, "--role", "worker")
            self.kills += 1

    def supervise(self) -> None:
        """Restart any process that exited by itself (as a supervisor would), and note it."""
        with self.lock:
            for group, role in ((self.webs, "web"), (self.workers, "worker")):
                for i, proc in enumerate(group):
                    code = proc.popen.poll()
                    if code is None:
                        continue
                    self.unexpected_exits.append(f"{proc.name} exited with {code}")
                    if role == "worker":
                        group[i] = self._spawn(proc.name, "--role", "worker")

    def __exit__(self, *exc: object) -> None:
        for proc in self.processes():
            proc.popen.send_signal(signal.SIGTERM)
        for proc in self.processes():
            try:
                proc.popen.wait(30)
            except subprocess.TimeoutExpired:
                proc.popen.kill()


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Samples every process's RSS once a second; `growth` compares first and last quarters."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            targets = [
                (f"{p.name} (pid {p.popen.pid})", p.popen.pid) for p in self.fleet.processes()
            ]
            targets.append((f"driver: simulator + web (pid {os.getpid()})", os.getpid()))
            for name, pid in targets:
                value = rss_mib(pid)
                if value is not None:
                    self.samples.setdefault(name, []).append((now, value))

    def growth(self, warm_up: float = 30.0) -> dict[str, tuple[float, float, float]]:
        """Per process: (growth %, first-quarter median, last-quarter median) of its samples after
        `warm_up` seconds of life (imports and first evaluations fill the heap). A process with
        fewer than 40 such samples (a worker killed early) says nothing about a trend: left out."""
        out: dict[str, tuple[float, float, float]] = {}
        for name, series in self.samples.items():
            born = series[0][0]
            values = [v for t, v in series if t - born >= warm_up]
            if len(values) < 40:
                continue
            quarter = len(values) // 4
            first = sorted(values[:quarter])[quarter // 2]
            last = sorted(values[-quarter:])[quarter // 2]
            out[name] = ((last - first) / first * 100, first, last)
        return out

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclass
class SendStats:
    sent: int = 0
    resent: int = 0
    restarts: int = 0
    failed: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    started_at: list[float] = field(default_factory=list)
    restart_window: tuple[float, float] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calm_latencies(self, margin: float = 5.0) -> list[float]:
        """Acknowledgements whose send began well away from the PostgreSQL restart."""
        if self.restart_window is None:
            return list(self.latencies)
        lo, hi = self.restart_window[0] - margin, self.restart_window[1] + margin
        return [
            x for x, t in zip(self.latencies, self.started_at, strict=True) if not lo <= t <= hi
        ]


def _sender(
    requests: list[tuple[bytes, dict[str, str]]],
    urls: list[str],
    next_index: list[int],
    stats: SendStats,
) -> None:
    with httpx.Client(timeout=30) as client:
        while True:
            with stats.lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(requests):
                return
            body, headers = requests[i]
            url = f"{urls[i % len(urls)]}/webhooks/github"
            give_up = time.monotonic() + RESEND_SECONDS
            while True:
                began = time.monotonic()
                try:
                    ok = client.post(url, content=body, headers=headers).status_code < 300
                except httpx.HTTPError:
                    ok = False
                if ok:
                    with stats.lock:
                        stats.sent += 1
                        stats.latencies.append(time.monotonic() - began)
                        stats.started_at.append(began)
                    break
                if time.monotonic() > give_up:
                    with stats.lock:
                        stats.failed.append(headers["X-GitHub-Delivery"])
                    break
                with stats.lock:
                    stats.resent += 1
                url = f"{urls[(i + stats.resent) % len(urls)]}/webhooks/github"  # try another
                time.sleep(0.5)


def send_all(
    stack: LocalStack,
    fleet: Fleet,
    items: list[webhooks.Outgoing],
    stats: SendStats,
    *,
    senders: int,
    kill_every: int,
    rnd: random.Random,
) -> None:
    """Send every item; kill a worker every `kill_every` acknowledgements."""
    requests = [webhooks.request_for(item, stack.sim.world.app) for item in items]
    next_index = [0]
    threads = [
        threading.Thread(target=_sender, args=(requests, fleet.urls, next_index, stats))
        for _ in range(senders)
    ]
    for thread in threads:
        thread.start()
    next_kill = kill_every
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
        fleet.supervise()
        if stats.sent >= next_kill:
            fleet.kill_random_worker(rnd)
            next_kill += kill_every
    for thread in threads:
        thread.join()
