"""`make soak`: a sustained day's worth of deliveries on PostgreSQL, with faults, kills and a restart.

Not part of `make test` (it runs for minutes). Loopback only, bounded in count and time, and it
stops by itself. What it does:

- a GitHub simulator and PostgreSQL (a fresh schema in `$COUNTERSIGN_TEST_DATABASE_URL`; start one
  with `eval "$(bash scripts/start-postgres.sh --print-env)"`);
- `--web` web processes and `--workers` worker processes, each a real `countersign serve`;
- `--deliveries` signed `pull_request.synchronize` deliveries (each re-evaluates a random agent PR)
  sent round-robin to the web processes by `--senders` concurrent senders, as GitHub would: a
  delivery the App did not acknowledge (a 5xx, a refused connection while PostgreSQL restarts) is
  sent again, same GUID and body, like a redelivery;
- injected GitHub faults (502s on PR, GraphQL and check-run calls; secondary rate limits with
  `Retry-After`), `kill -9` of a random worker every `--kill-every` acknowledged deliveries and
  again every `--kill-every` completed ones (each replaced), and one PostgreSQL restart
  (`--pg-restart`) once half of the deliveries are done;
- the resident memory (RSS) of every process sampled every second.

Then it checks, and exits 1 if any fails: every delivery is in the inbox and `done` (0 lost), one
evaluation per delivery (0 processed twice), one check run per PR head, the audit chain verifies,
and no process's memory grew by more than `--rss-growth` between the first and last quarter of
the run. It prints p50/p99 of the webhook acknowledgement (over all sends and outside the restart)
and of delivery-to-completion (the inbox's `received_at` → `completed_at`), and `--report FILE`
writes the figures as Markdown.

    python scripts/soak.py [--deliveries 5000] [--web 2] [--workers 4] [--senders 8]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import sqlalchemy as sa  # noqa: E402
from soak_run import Fleet, RssSampler, SendStats, send_all  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app.demo.loadkit import (  # noqa: E402
    LOAD_REPO,
    LOAD_SETUP,
    inject_outage_mix,
    open_load_prs,
    reevaluations,
    temporary_schema,
)
from app.demo.stack import LocalStack  # noqa: E402
from app.sim.scenario import apply_setup  # noqa: E402
from app.store import inbox  # noqa: E402
from app.store.audit.verify import verify_chain  # noqa: E402
from app.store.tables import AuditEvent  # noqa: E402

REPO = LOAD_REPO


def default_restart_command() -> list[str]:
    """`pg_ctlcluster VERSION main restart` for the newest local cluster (needs root or postgres)."""
    versions = sorted(Path("/etc/postgresql").glob("*"), key=lambda p: float(p.name or 0))
    version = versions[-1].name if versions else "15"
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]


@dataclass
class Chaos:
    """What the drain does to the fleet: a worker kill every `kill_every` completed deliveries,
    and the PostgreSQL restart once half of them are done (mid-evaluation for some workers)."""

    fleet: Fleet
    kill_every: int
    restart: list[str] | None
    stats: SendStats
    rnd: random.Random


def wait_drained(engine: sa.Engine, expected: int, deadline: float, chaos: Chaos) -> dict[str, int]:
    """Poll the inbox until every delivery is finished (or the deadline passes)."""
    counts: dict[str, int] = {}
    next_kill = chaos.kill_every
    while time.monotonic() < deadline:
        try:
            counts = {str(k): v for k, v in inbox.status_counts(engine).items()}
        except sa.exc.OperationalError:  # the database is restarting: ask again
            time.sleep(1.0)
            continue
        busy = counts.get("pending", 0) + counts.get("processing", 0)
        if busy == 0 and sum(counts.values()) >= expected:
            return counts
        chaos.fleet.supervise()
        done = counts.get("done", 0)
        if done >= next_kill:
            chaos.fleet.kill_random_worker(chaos.rnd)
            next_kill = done + chaos.kill_every
        if chaos.restart and chaos.stats.restarts == 0 and done >= expected // 2:
            began = time.monotonic()
            subprocess.run(chaos.restart, check=True, capture_output=True, timeout=120)
            chaos.stats.restart_window = (began, time.monotonic())
            chaos.stats.restarts += 1
        time.sleep(1.0)
    return counts


def audit(engine: sa.Engine, stack: LocalStack, guids: list[str], heads: list[str]) -> list[str]:
    """What must hold after the run; each failure as one line."""
    problems: list[str] = []
    with Session(engine) as session:
        rows = session.exec(
            select(inbox.Delivery).where(inbox.Delivery.id.in_(guids))  # type: ignore[attr-defined]
        ).all()
        evaluations = session.exec(select(AuditEvent).where(AuditEvent.kind == "evaluation")).all()
    statuses = Counter(d.status for d in rows)
    if len(rows) != len(guids):
        problems.append(f"lost: {len(guids) - len(rows)} deliveries never reached the inbox")
    if statuses != {"done": len(guids)}:
        problems.append(f"not all done: {dict(statuses)}")
    per_delivery = Counter(r.data().get("delivery_id") for r in evaluations)
    twice = [d for d in guids if per_delivery.get(d, 0) > 1]
    if twice:
        problems.append(f"processed twice: {len(twice)} deliveries (e.g. {twice[0]})")
    for head in heads:
        runs = stack.sim.check_runs_for(REPO, head)
        if len(runs) != 1:
            problems.append(f"head {head[:10]} has {len(runs)} check runs (want 1)")
    if not verify_chain(engine).ok:
        problems.append("the audit chain does not verify")
    return problems


def latencies(engine: sa.Engine, guids: list[str]) -> list[float]:
    """Delivery-to-completion seconds (`received_at` → `completed_at`) of the load's deliveries."""
    with Session(engine) as session:
        rows = session.exec(
            select(inbox.Delivery).where(inbox.Delivery.id.in_(guids))  # type: ignore[attr-defined]
        ).all()
    return [
        (d.completed_at - d.received_at).total_seconds() for d in rows if d.completed_at is not None
    ]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace, url: str) -> int:
    rnd = random.Random(args.seed)
    with LocalStack(url, role="web") as stack:
        assert stack.runtime is not None
        engine = stack.runtime.engine
        apply_setup(stack.sim, LOAD_SETUP)
        prs = open_load_prs(stack.sim, args.prs, "soak")
        items = reevaluations(stack.sim, prs, args.deliveries, rnd)
        faults = inject_outage_mix(stack.sim.faults, args.deliveries, rate_limits=5)
        restart = None if args.no_pg_restart else (args.pg_restart or default_restart_command())
        with Fleet(stack, web=args.web, workers=args.workers) as fleet, RssSampler(fleet) as rss:
            stats = SendStats()
            started = time.monotonic()
            send_all(
                stack,
                fleet,
                items,
                stats,
                senders=args.senders,
                kill_every=args.kill_every,
                rnd=rnd,
            )
            chaos = Chaos(fleet, args.kill_every, restart, stats, rnd)
            counts = wait_drained(engine, len(items), time.monotonic() + args.drain_seconds, chaos)
            elapsed = time.monotonic() - started
            growth = rss.growth()
        guids = [item.guid for item in items]
        heads = sorted({pr.head_sha for pr in prs})
        problems = audit(engine, stack, guids, heads)
        done = latencies(engine, guids)
    lines = report_lines(args, stats, done, growth, counts, faults, elapsed, fleet.kills)
    problems += [f"{exit} (not killed by the soak; restarted)" for exit in fleet.unexpected_exits]
    problems += [f"never acknowledged: {guid}" for guid in stats.failed]
    problems += [
        f"RSS of {name} grew {pct:.0f}% (limit {args.rss_growth:.0f}%)"
        for name, (pct, _first, _last) in growth.items()
        if pct > args.rss_growth
    ]
    lines += ["", *(f"FAIL: {p}" for p in problems)] if problems else ["", "all checks passed"]
    print("\n".join(lines))
    if args.report:
        args.report.write_text("\n".join(lines) + "\n")
    return 1 if problems else 0


def report_lines(
    args: argparse.Namespace,
    stats: SendStats,
    done: list[float],
    growth: dict[str, tuple[float, float, float]],
    counts: dict[str, int],
    faults: int,
    elapsed: float,
    kills: int,
) -> list[str]:
    calm = stats.calm_latencies()
    load = os.getloadavg()[0]
    lines = [
        f"soak: {args.deliveries} deliveries, {args.web} web + {args.workers} worker processes, "
        f"{args.senders} senders; {faults} GitHub faults, {kills} worker kills, "
        f"PostgreSQL restarts: {stats.restarts}",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", load average {load:.1f} at the end",
        f"all processed in {elapsed:.0f} s ({args.deliveries / elapsed:.1f} deliveries/s); "
        f"inbox statuses {counts}",
        f"sends: {stats.sent} acknowledged, {stats.resent} sent again after a refusal or error",
        "",
        "| measure | p50 | p99 | max | n |",
        "|---|---:|---:|---:|---:|",
        _row("webhook ack, all sends (ms)", [x * 1000 for x in stats.latencies]),
        _row("webhook ack, outside the restart (ms)", [x * 1000 for x in calm]),
        _row("delivery → completed (s)", done),
        "",
        "| process | RSS first quarter (MiB) | RSS last quarter (MiB) | growth |",
        "|---|---:|---:|---:|",
    ]
    for name, (pct, first, last) in sorted(growth.items()):
        lines.append(f"| {name} | {first:.0f} | {last:.0f} | {pct:+.0f}% |")
    return lines


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | – | – | – | 0 |"
    return (
        f"| {name} | {percentile(values, 0.5):.1f} | {percentile(values, 0.99):.1f} "
        f"| {max(values):.1f} | {len(values)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--prs", type=int, default=40)
    parser.add_argument("--web", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--kill-every", type=int, default=400)
    parser.add_argument("--pg-restart", nargs="+", help="command that restarts PostgreSQL")
    parser.add_argument("--no-pg-restart", action="store_true")
    parser.add_argument("--drain-seconds", type=float, default=1800)
    parser.add_argument("--rss-growth", type=float, default=25.0, help="percent allowed")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    base = os.environ.get("COUNTERSIGN_TEST_DATABASE_URL")
    if not base:
        print(
            "soak: COUNTERSIGN_TEST_DATABASE_URL is not set; start PostgreSQL with\n"
            '  eval "$(bash scripts/start-postgres.sh --print-env)"',
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    socket.setdefaulttimeout(30)
    with temporary_schema(base, prefix="soak") as url:
        return run(args, url)


if __name__ == "__main__":
    raise SystemExit(main())
