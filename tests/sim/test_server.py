"""SimServer: binds a free loopback port, serves, and stops without leaving threads behind."""

from __future__ import annotations

import threading

import httpx
import pytest

from app.sim.server import SimServer
from app.sim.simulator import Simulator


def test_start_stop_leaves_no_threads() -> None:
    before = {t.ident for t in threading.enumerate()}
    with Simulator() as sim:
        sim.create_repo("acme/shop", {"README.md": "x\n"})
        server = SimServer(sim)
        base = server.start()
        assert base.startswith("http://127.0.0.1:")
        assert server.port != 0
        assert sim.world.web_url == base
        assert httpx.get(f"{base}/api/v3/repos/acme/shop").status_code == 401
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
        server.stop()
        server.stop()  # idempotent
    started = [t for t in threading.enumerate() if t.ident not in before]
    for thread in started:  # AnyIO's worker threads exit just after the event loop closes
        thread.join(timeout=5)
    assert [t.name for t in started if t.is_alive()] == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/api/v3/repos/acme/shop")


def test_two_servers_get_distinct_ports() -> None:
    with Simulator() as one, Simulator() as two, SimServer(one) as a, SimServer(two) as b:
        assert a.port != b.port
