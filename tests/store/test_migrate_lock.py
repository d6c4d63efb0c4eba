"""Concurrent `countersign serve --migrate` starters: one applies the migrations, the others wait
on the lock (PostgreSQL advisory lock, SQLite file lock) and find the schema at head."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from app.demo.stack import generate_key
from app.store.db import make_engine, migration_status

pytestmark = pytest.mark.e2e  # real `countersign serve` processes
STARTERS = 3


def start(url: str, private_key: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "COUNTERSIGN_APP_ID": "4242",
        "COUNTERSIGN_PRIVATE_KEY": private_key,
        "COUNTERSIGN_WEBHOOK_SECRET": "s3cret",
        "COUNTERSIGN_DATABASE_URL": url,
        "COUNTERSIGN_GITHUB_API_URL": "http://127.0.0.1:9",  # never called: no deliveries
        "COUNTERSIGN_RECONCILE_INTERVAL_SECONDS": "0",
        "COUNTERSIGN_RETENTION_INTERVAL_SECONDS": "0",
        "COUNTERSIGN_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "serve", "--migrate", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def migration_line(proc: subprocess.Popen[str]) -> str:
    """The starter's migration report; read until it says it is serving (or it ends)."""
    assert proc.stderr is not None
    found = ""
    for line in proc.stderr:
        if line.startswith("countersign: migrations"):
            found = line.strip()
        if line.startswith("countersign worker:"):
            return found
    raise AssertionError(f"the starter ended before serving (rc {proc.wait()}): {found!r}")


def test_concurrent_starters_apply_each_migration_once(db_url: str) -> None:
    private_key, _public = generate_key()
    procs = [start(db_url, private_key) for _ in range(STARTERS)]
    try:
        lines = [migration_line(p) for p in procs]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.communicate(timeout=30)  # drains and closes the pipe
        codes = [p.returncode for p in procs]
    applied = [line for line in lines if "applied" in line]
    assert len(applied) == 1, lines
    assert applied[0].startswith("countersign: migrations applied: <none> -> ")
    engine = make_engine(db_url)
    try:
        head = migration_status(engine).head
        assert migration_status(engine).up_to_date
    finally:
        engine.dispose()
    assert sorted(lines) == sorted(
        [f"countersign: migrations applied: <none> -> {head}"]
        + [f"countersign: migrations already at {head}"] * (STARTERS - 1)
    )
    assert codes == [0] * STARTERS  # SIGTERM is a clean stop


def test_serve_without_migrate_still_refuses_an_old_schema(sqlite_url: str) -> None:
    private_key, _public = generate_key()
    env = {
        **os.environ,
        "COUNTERSIGN_APP_ID": "4242",
        "COUNTERSIGN_PRIVATE_KEY": private_key,
        "COUNTERSIGN_WEBHOOK_SECRET": "s3cret",
        "COUNTERSIGN_DATABASE_URL": sqlite_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "serve", "--role", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    message = " ".join(done.stderr.split())  # the console wraps long lines
    assert "is at migration <none>" in message
    assert "run `countersign db upgrade`" in message


@pytest.mark.parametrize("revision", ["head"])
def test_db_upgrade_is_idempotent(sqlite_url: str, revision: str) -> None:
    env = {**os.environ, "COUNTERSIGN_DATABASE_URL": sqlite_url}
    cmd = [sys.executable, "-m", "app.cli.main", "db", "upgrade", revision]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert first.stdout == second.stdout
    assert "is at migration" in first.stdout
