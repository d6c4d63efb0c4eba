"""Webhook acknowledgement: our `POST /webhooks/github` vs a bare FastAPI endpoint, same run.

Both servers run under uvicorn on 127.0.0.1 in this process's threads; a bounded asyncio load
generator (httpx, fixed request count and concurrency) sends realistic signed `pull_request`
deliveries. Ours verifies the HMAC, parses, and stores each delivery durably in SQLite (WAL) before
answering; the baseline only reads the body. Usage: `python bench/webhook.py [--requests N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.github.webhooks import sign

SECRET = os.environ.get("COUNTERSIGN_WEBHOOK_SECRET") or "bench-secret-" + uuid.uuid4().hex


def payload(i: int) -> bytes:
    """A pull_request.synchronize payload of realistic size (~12 KB)."""
    user = {"login": "infra-bot[bot]", "id": 1, "type": "Bot", "site_admin": False}
    repo = {
        "id": 42,
        "full_name": "acme/infra",
        "name": "infra",
        "owner": {"login": "acme"},
        "private": True,
    }
    pr = {
        "number": 1000 + i,
        "state": "open",
        "title": "Scale the web tier",
        "body": "Scale it.\n\nAgent-Run-Id: run_" + str(i) + "\n" + ("lorem ipsum " * 500),
        "user": user,
        "head": {"sha": f"{i:040x}", "ref": f"agent/{i}", "repo": repo},
        "base": {"sha": "0" * 40, "ref": "main", "repo": repo},
        "labels": [{"name": "agent"}],
        "merged": False,
    }
    body = {
        "action": "synchronize",
        "number": pr["number"],
        "pull_request": pr,
        "repository": repo,
        "sender": user,
        "installation": {"id": 7},
    }
    return json.dumps(body).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server in its own process, so the load generator does not share its GIL."""

    def __init__(self, kind: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.kind = kind
        self.env = {**os.environ, **env}

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", self.kind, "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code in (200, 404):
                    return url
            except httpx.HTTPError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"{self.kind} server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def serve(kind: str, port: int) -> None:
    if kind == "bare":
        app: Any = bare_app()
    else:
        from app.config.settings import Settings
        from app.service.app import build_runtime, create_app

        settings = Settings()
        app = create_app(settings, role="web", runtime=build_runtime(settings))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/github")
    async def hook(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"outcome": "accepted"}, status_code=202)

    return app


async def load(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            headers = {
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": sign(SECRET, body),
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/bench",
            }
            t0 = time.perf_counter()
            r = await client.post(url + "/webhooks/github", content=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if r.status_code not in (200, 202):
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return latencies, elapsed, errors


def summarize(name: str, lat: list[float], elapsed: float, errors: int) -> dict[str, float]:
    q = statistics.quantiles(lat, n=100)
    return {
        "name": name,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,  # type: ignore[dict-item]
        "rps": len(lat) / elapsed,
        "errors": errors,
    }


def run(requests: int = 2000, concurrency: int = 8) -> dict[str, Any]:
    from app.store.db import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    env = {
        "COUNTERSIGN_DATABASE_URL": url,
        "COUNTERSIGN_WEBHOOK_SECRET": SECRET,
        "COUNTERSIGN_LOG_LEVEL": "WARNING",
    }
    bodies = [payload(i) for i in range(requests)]
    results = {}
    for name, kind in (("bare FastAPI", "bare"), ("countersign", "countersign")):
        with Server(kind, env) as base:
            asyncio.run(load(base, bodies[:100], concurrency))  # warm-up
            lat, elapsed, errors = asyncio.run(load(base, bodies, concurrency))
        results[name] = summarize(name, lat, elapsed, errors)
    b, o = results["bare FastAPI"], results["countersign"]
    results["ratio"] = {
        "p50": o["p50_ms"] / b["p50_ms"],
        "p99": o["p99_ms"] / b["p99_ms"],
        "rps": o["rps"] / b["rps"],
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", choices=["bare", "countersign"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    os.environ.setdefault("COUNTERSIGN_LOG_JSON", "true")
    res = run(args.requests, args.concurrency)
    print(f"{'server':<14} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
    for key in ("bare FastAPI", "countersign"):
        r = res[key]
        print(f"{key:<14} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['rps']:8.0f} {r['errors']:7d}")
    ratio = res["ratio"]
    print(
        f"ratio ours/bare: p50 {ratio['p50']:.2f}x, p99 {ratio['p99']:.2f}x, throughput {ratio['rps']:.2f}x"
    )


if __name__ == "__main__":
    main()
