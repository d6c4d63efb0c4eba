"""LocalStack: the real Countersign service and the GitHub simulator, wired over loopback HTTP.

Used by `countersign demo`, the end-to-end tests and the end-to-end benchmark, so all three
exercise exactly what production runs: signed webhooks into `POST /webhooks/github`, the durable
inbox, workers, and githubkit calls back to a GitHub API (here the simulator's).

Starting a stack costs seconds (two servers, migrations, rules and policies); `reset()` gives the
next test an empty world on the running servers in a fraction of that (see tests/stacks.py).
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Self

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from app.config.settings import Settings
from app.demo import fresh_db
from app.github.client import GitHubApp
from app.runtime.context import Runtime
from app.service.app import build_runtime, close_runtime, create_app
from app.service.worker import WorkerPool
from app.sim.auth import app_key_pair
from app.sim.server import SimServer
from app.sim.simulator import Simulator
from app.store import inbox
from app.store.db import make_engine, upgrade

APP_ID = 4242


def generate_key() -> tuple[str, str]:
    """A throwaway RSA key pair for the local App."""
    return app_key_pair()


class _Server:
    """uvicorn on 127.0.0.1 with a socket we bound (so the port is known), in a thread."""

    def __init__(self) -> None:
        # Bound before the app is built, so the app's settings can name its own URL.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, app: Any, proxy: dict[str, Any], timeout: float = 30.0) -> str:
        config = uvicorn.Config(
            app,
            log_level="warning",
            log_config=None,  # uvicorn's loggers reach the root handler (scrubbed, structlog)
            access_log=False,
            timeout_graceful_shutdown=5,
            **proxy,  # forwarded headers only from COUNTERSIGN_TRUSTED_PROXIES
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="countersign", daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Countersign service did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        if hasattr(self, "server"):
            self.server.should_exit = True
            self.thread.join(timeout=20)
        self.sock.close()


class LocalStack:
    """`with LocalStack(url) as stack:` → `stack.sim` (drive GitHub), `stack.url` (our service)."""

    def __init__(
        self,
        database_url: str,
        *,
        role: Literal["web", "worker", "all"] = "all",
        workers: int = 1,
        rules_dir: Path | None = None,
        policies_dir: Path | None = None,
        migrate: bool = True,
        log_level: str = "WARNING",
        audit_token: str | None = None,
        extensions: tuple[Callable[[LocalStack], None], ...] = (),
        key_pair: tuple[str, str] | None = None,
        **settings: Any,
    ) -> None:
        """`key_pair` (private PEM, public PEM) is the App's key; a new one unless given (tests
        share one per session: making an RSA key is a third of a second)."""
        self.database_url = database_url
        self.role = role
        self.workers = workers
        self.migrate = migrate
        self.webhook_secret = secrets.token_hex(20)
        self.audit_token = audit_token or secrets.token_hex(16)
        self.metrics_token = secrets.token_hex(16)
        self.private_key, self.public_key = key_pair or generate_key()
        self.oauth_client_secret = secrets.token_hex(20)
        self.sim = Simulator()
        self.sim_server = SimServer(self.sim)
        self._extra: dict[str, Any] = {"log_level": log_level, **settings}
        if rules_dir is not None:
            self._extra["rules_dir"] = rules_dir
        if policies_dir is not None:
            self._extra["policies_dir"] = policies_dir
        self.url = ""
        self.app: FastAPI | None = None
        self._extensions: list[Callable[[LocalStack], None]] = list(extensions)
        """Called with the stack after the app is built, before it serves (the demo's routes)."""
        self.runtime: Runtime | None = None
        self._server: _Server | None = None
        self._pool: WorkerPool | None = None
        self._databases = fresh_db.Databases(database_url)

    def settings(self) -> Settings:
        public = {"public_url": self._server.url} if self._server is not None else {}
        return Settings(
            app_id=APP_ID,
            oauth_client_id=f"Iv1.{APP_ID:016x}",
            oauth_client_secret=SecretStr(self.oauth_client_secret),
            private_key=SecretStr(self.private_key),
            webhook_secret=SecretStr(self.webhook_secret),
            audit_token=SecretStr(self.audit_token),
            database_url=self.database_url,
            github_api_url=self.sim_server.api_url,
            reconcile_interval_seconds=0,
            log_json=True,
            **{
                "oidc_issuer": f"{self.sim_server.base_url}/oidc",
                "metrics_token": SecretStr(self.metrics_token),
                "api_docs": True,  # the local stack documents itself (tests read the schema)
                **public,
                **self._extra,
            },
        )

    def __enter__(self) -> Self:
        self.sim_server.start()
        if self.migrate:
            upgrade(self.database_url)
            self._databases.remember_seed()
        self._server = _Server()
        settings = self.settings()
        self.runtime = build_runtime(settings)
        # The workers run beside the app (not in its lifespan) so that `reset` can pause them;
        # they are the same `WorkerPool` that `create_app(role="all")` would start.
        self.app = create_app(settings, role="web", runtime=self.runtime)
        for extend in self._extensions:
            extend(self)
        self._register_app("http://placeholder.invalid")
        self.url = self._server.start(self.app, settings.proxy_options())
        self._register_app(self.url)
        self._start_workers()
        return self

    def _register_app(self, url: str) -> None:
        """The App as GitHub knows it: our key, webhook URL and secret, OAuth callback."""
        app = self.sim.set_app(
            APP_ID,
            self.public_key,
            webhook_url=f"{url}/webhooks/github",
            webhook_secret=self.webhook_secret,
        )
        app.client_secret = self.oauth_client_secret
        self.sim.set_oauth_callback(f"{url}/console/callback")

    def _start_workers(self) -> None:
        if self.role in ("worker", "all") and self.runtime is not None:
            self._pool = WorkerPool(self.runtime, workers=self.workers)
            self._pool.start()

    def _stop_workers(self, timeout: float = 20.0) -> None:
        """Stop the workers; an error if one is still busy (it would write into the next test)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.stop(timeout)
        busy = pool.busy_threads()
        if busy:
            raise RuntimeError(f"workers still busy {timeout}s after stop: {busy}")

    def reset(self, timeout: float = 30.0) -> None:
        """Give the next test an empty world on the running servers, as if the stack were new.

        The workers stop (finishing what they hold), the webhooks they caused are answered, and
        then: the simulator forgets everything and the App is registered again; the database is
        a freshly migrated one (a copy of a migrated template on SQLite, emptied and re-seeded
        tables on PostgreSQL); the runtime gets a new GitHub client (no cached tokens), metrics,
        and no rate limiters or OIDC key cache; the console forgets its login limiter.
        """
        rt = self.runtime
        if rt is None or self._server is None:
            raise RuntimeError("the stack is not running")
        self.sim.wait_idle(timeout)
        self._stop_workers(timeout)
        self.sim.wait_idle(timeout)  # what the last deliveries caused (check_run events)
        self.sim.reset()
        self._register_app(self.url)
        old = rt.engine
        old.dispose()
        self.database_url = self._databases.fresh(old)
        fresh = Runtime(
            settings=rt.settings.model_copy(update={"database_url": self.database_url}),
            engine=make_engine(self.database_url),
            gate=rt.gate,  # rules and policies: read-only once loaded
            github=self._github(rt.settings),
            tracing=rt.tracing,
            wake=rt.wake,
        )
        if rt.analyze_guard is not None:
            rt.analyze_guard.runner.close()
        vars(rt).update(vars(fresh))
        if self.app is not None:
            self.app.state.console = None  # rebuilt on the next request: a new login limiter
        self._start_workers()

    @staticmethod
    def _github(settings: Settings) -> GitHubApp:
        """A new App client, as `build_runtime` makes it: no token or team caches."""
        assert settings.app_id is not None
        return GitHubApp(
            settings.app_id,
            settings.private_key_pem(),
            base_url=settings.github_api_url,
            timeout=settings.github_timeout_seconds,
            max_blob_bytes=settings.max_blob_bytes,
        )

    def wait_processed(self, timeout: float = 30.0) -> None:
        """Wait for the effect, not the send: every webhook the simulator queued was answered
        and every delivery the App stored has left the inbox (done, ignored or failed).

        The App answers GitHub as soon as a delivery is stored, so "the simulator sent it" says
        nothing about what the App did with it; assertions about App state must wait for this.
        Needs the worker in this process (role "all" or "worker").
        """
        runtime = self.runtime
        if runtime is None:
            raise RuntimeError("the stack is not running")
        self.sim.wait_idle(timeout)
        self.sim.wait_for(
            lambda: inbox.queue_depth(runtime.engine) == 0,
            timeout,
            "the App to finish every stored delivery",
        )

    def __exit__(self, *exc: object) -> None:
        try:
            self.sim.wait_idle(timeout=10)
        except TimeoutError:
            pass
        try:
            self._stop_workers()
        finally:
            if self._server is not None:
                self._server.stop()
            self.sim_server.stop()
            self.sim.close()
            if self.runtime is not None:
                close_runtime(self.runtime)
