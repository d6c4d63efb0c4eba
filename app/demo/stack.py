"""LocalStack: the real Countersign service and the GitHub simulator, wired over loopback HTTP.

Used by `countersign demo`, the end-to-end tests and the end-to-end benchmark, so all three
exercise exactly what production runs: signed webhooks into `POST /webhooks/github`, the durable
inbox, workers, and githubkit calls back to a GitHub API (here the simulator's).
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
from app.runtime.context import Runtime
from app.service.app import build_runtime, close_runtime, create_app
from app.sim.auth import app_key_pair
from app.sim.server import SimServer
from app.sim.simulator import Simulator
from app.store import inbox
from app.store.db import upgrade

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
        **settings: Any,
    ) -> None:
        self.database_url = database_url
        self.role = role
        self.workers = workers
        self.migrate = migrate
        self.webhook_secret = secrets.token_hex(20)
        self.audit_token = audit_token or secrets.token_hex(16)
        self.metrics_token = secrets.token_hex(16)
        self.private_key, self.public_key = generate_key()
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
        self._server = _Server()
        settings = self.settings()
        self.runtime = build_runtime(settings)
        self.app = create_app(settings, role=self.role, workers=self.workers, runtime=self.runtime)
        for extend in self._extensions:
            extend(self)
        app = self.sim.set_app(
            APP_ID,
            self.public_key,
            webhook_url="http://placeholder.invalid/webhooks/github",
            webhook_secret=self.webhook_secret,
        )
        app.client_secret = self.oauth_client_secret
        self.url = self._server.start(self.app, settings.proxy_options())
        app.webhook_url = f"{self.url}/webhooks/github"
        self.sim.set_oauth_callback(f"{self.url}/console/callback")
        return self

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
        if self._server is not None:
            self._server.stop()
        self.sim_server.stop()
        self.sim.close()
        if self.runtime is not None:
            close_runtime(self.runtime)
