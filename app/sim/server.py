"""Run the simulator over real HTTP on loopback: uvicorn in a background thread, start/stop.

We bind the socket ourselves (127.0.0.1, port 0) so the port is known before uvicorn starts,
and `stop()` joins the thread, so a test module leaves no thread behind.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from app.sim.api import create_app
from app.sim.simulator import Simulator


class SimServer:
    """`base_url = SimServer(sim).start()`; the REST base is `base_url + "/api/v3"`."""

    def __init__(self, simulator: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    def start(self, timeout: float = 10.0) -> str:
        """Serve in a thread; returns the base URL (also set as the simulator's web URL)."""
        if self._thread is not None:
            raise RuntimeError("SimServer already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.simulator.world.web_url = self.base_url
        config = uvicorn.Config(
            create_app(self.simulator),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sim-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the simulator did not start on {self.base_url}")
            time.sleep(0.01)
        return self.base_url

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._server = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
