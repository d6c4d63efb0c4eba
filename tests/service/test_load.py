"""Load with faults and crashes (bounded): N deliveries through 4 worker processes on PostgreSQL,
with random GitHub faults and kill -9 of workers, then: zero lost, zero recorded twice, one check
run per head SHA, and the audit chain verifies.

Size: COUNTERSIGN_LOAD_DELIVERIES (default 300 so it fits CI; the figures in BENCHMARKS.md come
from a run with 5,000). It stops by itself: every wait is bounded.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlmodel import Session, select

from app.demo.loadkit import (
    LOAD_REPO,
    LOAD_SETUP,
    inject_outage_mix,
    open_load_prs,
    reevaluations,
)
from app.demo.stack import LocalStack
from app.sim.scenario import apply_setup
from app.store import inbox
from app.store.audit.verify import verify_chain
from app.store.tables import AuditEvent
from tests.stacks import session_key_pair

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(1200)]
REPO = LOAD_REPO
PRS = 20
WORKERS = 4


def worker(stack: LocalStack) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COUNTERSIGN_APP_ID": "4242",
        "COUNTERSIGN_PRIVATE_KEY": stack.private_key,
        "COUNTERSIGN_WEBHOOK_SECRET": stack.webhook_secret,
        "COUNTERSIGN_DATABASE_URL": stack.database_url,
        "COUNTERSIGN_GITHUB_API_URL": stack.sim_server.api_url,
        "COUNTERSIGN_LEASE_SECONDS": "4",
        "COUNTERSIGN_RETRY_BASE_SECONDS": "0.05",
        "COUNTERSIGN_GITHUB_TIMEOUT_SECONDS": "3",
        "COUNTERSIGN_RECONCILE_INTERVAL_SECONDS": "0",
        "COUNTERSIGN_LOG_LEVEL": "ERROR",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "serve", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_load_with_faults_and_kills(pg_url: str) -> None:
    total = int(os.environ.get("COUNTERSIGN_LOAD_DELIVERIES", "300"))
    rnd = random.Random(20261124)
    with LocalStack(pg_url, key_pair=session_key_pair(), role="web") as stack:
        assert stack.runtime is not None
        apply_setup(stack.sim, LOAD_SETUP)
        prs = open_load_prs(stack.sim, PRS, "load")
        items = reevaluations(stack.sim, prs, total, rnd)
        started = time.monotonic()
        stack.sim.sender.submit(items)
        stack.sim.wait_idle(timeout=300)
        ingest_s = time.monotonic() - started
        faults = inject_outage_mix(stack.sim.faults, total)
        procs = [worker(stack) for _ in range(WORKERS)]
        kills = 0
        deadline = time.monotonic() + 600
        try:
            while time.monotonic() < deadline:
                counts = inbox.status_counts(stack.runtime.engine)
                if counts.get("pending", 0) == 0 and counts.get("processing", 0) == 0:
                    break
                time.sleep(1.0)
                if kills < 3 and rnd.random() < 0.3:
                    victim = rnd.randrange(WORKERS)
                    procs[victim].send_signal(signal.SIGKILL)
                    procs[victim].wait(10)
                    procs[victim] = worker(stack)
                    kills += 1
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        elapsed = time.monotonic() - started
        counts = inbox.status_counts(stack.runtime.engine)
        print(
            f"\nload: {total + PRS} deliveries, {WORKERS} workers, {faults} faults, {kills} kills: "
            f"ingest {ingest_s:.1f} s, all processed in {elapsed:.1f} s "
            f"({(total + PRS) / elapsed:.0f} deliveries/s); statuses {dict(counts)}"
        )
        with Session(stack.runtime.engine) as session:
            ours = session.exec(
                select(inbox.Delivery).where(
                    inbox.Delivery.event == "pull_request",
                    inbox.Delivery.action.in_(["opened", "synchronize"]),  # type: ignore[union-attr]
                )
            ).all()
        assert len(ours) == total + PRS  # every delivery reached the inbox
        assert Counter(d.status for d in ours) == {"done": total + PRS}  # zero lost, zero failed
        with Session(stack.runtime.engine) as session:
            rows = session.exec(select(AuditEvent).where(AuditEvent.kind == "evaluation")).all()
        per_delivery = Counter(r.data().get("delivery_id") for r in rows)
        assert len(per_delivery) == total + PRS
        assert max(per_delivery.values()) == 1  # zero recorded twice
        for pr in prs:
            assert len(stack.sim.check_runs_for(REPO, pr.head_sha)) == 1
        assert verify_chain(stack.runtime.engine).ok
