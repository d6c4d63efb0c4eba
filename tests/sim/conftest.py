"""Fixtures for the simulator tests: a throwaway App key, a webhook receiver, a seeded world.

The App's RSA key is generated per session (never committed). `env` is the world every module
starts from (see helpers.seed), served by one SimServer per module to keep the suite fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.sim.server import SimServer
from app.sim.simulator import Simulator
from tests.sim.helpers import AppKey, Env, Received, Receiver, seed


@pytest.fixture(scope="session")
def app_key() -> AppKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppKey(private, public)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(Received(dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/github"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def env(app_key: AppKey, receiver: Receiver) -> Iterator[Env]:
    sim = Simulator(sync_webhooks=True)
    server = SimServer(sim)
    server.start()
    try:
        inst = seed(sim, app_key, receiver.url)
        yield Env(sim, server, inst, app_key, receiver)
    finally:
        server.stop()
        sim.close()


@pytest.fixture
def fresh_requests(env: Env) -> Callable[[], list[str]]:
    """Clear the request log; returns a getter for the requests made since."""
    env.sim.requests.clear()
    return lambda: list(env.sim.requests)
