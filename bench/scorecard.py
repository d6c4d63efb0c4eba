"""Scorecard benchmark: agent scorecards over ~100k audit events vs a bare SQL count of them.

    python bench/scorecard.py [--events N] [--json]

Builds a temporary SQLite store shaped like a busy installation (per agent PR: its opening, about
three evaluations with real-sized reports, a merge for most, some reverts; plus pre-flight API
calls), chain hashes computed as `append` would. Then, median of 3 runs each:
1. `agent_scorecards` over the whole window (per agent and per agent × rule class);
2. baseline: `SELECT agent_id, kind, COUNT(*) … GROUP BY agent_id, kind` over the same rows
   (what a bare count costs: no payload read);
3. `agent_history` as one evaluation reads it (rate-limit openings + a 30-day ramp record).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.agentops.scorecard import Window  # noqa: E402
from app.core.models import Change, FieldChange  # noqa: E402
from app.core.report import AgentInfo, ApprovalRecord, ApprovalStatus, Finding, Report, Risk  # noqa: E402
from app.store.audit.agent_events import agent_scorecards  # noqa: E402
from app.store.audit.agent_record import agent_history  # noqa: E402
from app.store.audit.aggregates import rebuild_aggregates  # noqa: E402
from app.store.audit.chain import EventFields, canonical_json, event_hash  # noqa: E402
from app.store.audit.records import EvaluationRecord, MergeRecord  # noqa: E402
from app.store.db import make_engine, upgrade  # noqa: E402
from app.store.tables import EVENTS, HEAD  # noqa: E402

AGENTS = ("pricing-bot", "infra-bot", "docs-bot", "copilot")
RULES = ("pricing.large-change", "terraform.delete-stateful", "data.key-removed", "text.docs")
NOW = datetime.now(UTC)


def report(pr: int, agent: str, rule: str, tier: int) -> dict[str, Any]:
    changes = tuple(
        Change(file=f"catalog/plans-{pr % 7}.json", kind="pricing", address=f"sku:plan-{i}",
               op="update", fields=(FieldChange(path="monthly_usd", before=49, after=45 + i),),
               facts={"price_delta_pct": -8.2, "environment": "production"})
        for i in range(3)
    )  # fmt: skip
    finding = Finding(rule=rule, severity="high", tier=tier, file=changes[0].file, line=12,
                      address=changes[0].address, message="Price moves by -8.2 % on plan-0")  # fmt: skip
    return Report(
        changes=changes,
        findings=(finding,),
        risk=Risk(level="high", score=70),
        tier=tier,
        approvals=ApprovalStatus(required=("1 approval from a code owner",), satisfied=True,
                                 approvals=(ApprovalRecord(login="alice", commit="a" * 40),)),
        agent=AgentInfo(id=agent, run_id=f"run_{pr}", author=f"{agent}[bot]", is_agent=True,
                        run_cost_usd="0.12"),
        policy_version="p" * 64,
    ).model_dump(mode="json")  # fmt: skip


def events(total: int) -> Iterator[dict[str, Any]]:
    """Filter columns and payload of each event, oldest first, about `total` in all."""
    span = timedelta(days=29)
    prs = total // 6
    for pr in range(1, prs + 1):
        agent, rule = AGENTS[pr % len(AGENTS)], RULES[pr % len(RULES)]
        at = NOW - span + span * pr / prs
        base = {"repo": "acme/platform", "pr_number": pr, "agent_id": agent}
        head = hashlib.sha1(str(pr).encode()).hexdigest()
        yield {**base, "kind": "agent_pr", "occurred_at": at, "head_sha": head,
               "payload": {"reopened": False}}  # fmt: skip
        for n in range(3):
            rec = EvaluationRecord(report=report(pr, agent, rule, 2), head_sha=head,
                                   policy_version="p" * 64,
                                   conclusion="success" if n == 2 else "action_required")  # fmt: skip
            yield {**base, "kind": "evaluation", "occurred_at": at + timedelta(minutes=n * 20),
                   "head_sha": head, "run_id": f"run_{pr}", "payload": rec.model_dump(mode="json")}  # fmt: skip
        if pr % 5:
            reverts = {"pulls": [f"acme/platform#{pr - 3}"]} if pr % 97 == 0 else {}
            merge = MergeRecord(
                repo="acme/platform", pr=pr, title=f"Change {pr}", url="https://x", agent_id=agent,
                run_id=f"run_{pr}", head_sha=head, merge_commit_sha=hashlib.sha1(head.encode()).hexdigest(),
                merged_at=at + timedelta(hours=1), tier=2, risk_level="high", risk_score=70,
                findings=[{"rule": rule, "severity": "high", "tier": 2}],
                approvals=[{"login": "alice", "time": at + timedelta(minutes=50)}],
                policy_version="p" * 64, run_cost_usd="0.12", head_first_evaluated_at=at,
                reverts=reverts,
            )  # fmt: skip
            yield {**base, "kind": "merge", "occurred_at": at + timedelta(hours=1),
                   "head_sha": head, "run_id": f"run_{pr}", "payload": merge.model_dump(mode="json")}  # fmt: skip
        yield {"kind": "analyze_call", "occurred_at": at, "agent_id": agent,
               "payload": {"outcome": "ok", "status": 200}}  # fmt: skip


def load(engine: sa.Engine, total: int) -> int:
    prev, rows, seq = "0" * 64, [], 0
    for seq, event in enumerate(events(total), start=1):
        filters = {k: event.get(k) for k in ("repo", "pr_number", "head_sha", "agent_id", "run_id")}
        fields = EventFields(seq=seq, kind=event["kind"], occurred_at=event["occurred_at"],
                             payload=canonical_json(event["payload"]), **filters)  # fmt: skip
        digest = event_hash(prev, fields)
        rows.append({"seq": seq, "kind": event["kind"], "occurred_at": event["occurred_at"],
                     **filters, "payload": fields.payload, "prev_hash": prev, "hash": digest})  # fmt: skip
        prev = digest
    with engine.begin() as conn:
        conn.execute(sa.insert(EVENTS), rows)
        conn.execute(sa.update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=prev))
    rebuild_aggregates(engine)  # a bulk load skips `append`, so it rebuilds what append keeps
    return seq


def timed(work: Callable[[], Any], runs: int = 3) -> tuple[float, float, Any]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scorecard.db'}"
        upgrade(url)
        engine = make_engine(url)
        count = load(engine, args.events)
        window = Window(NOW - timedelta(days=30), NOW + timedelta(days=1))
        cards_wall, cards_cpu, cards = timed(lambda: agent_scorecards(engine, window))
        query = sa.text(
            "SELECT agent_id, kind, COUNT(*) FROM audit_event WHERE occurred_at >= :since "
            "GROUP BY agent_id, kind"
        )

        def bare() -> list[Any]:
            with engine.connect() as conn:
                return list(conn.execute(query, {"since": window.since.replace(tzinfo=None)}))

        count_wall, _count_cpu, _ = timed(bare)
        with engine.connect() as conn:
            last_open = conn.execute(sa.text(
                "SELECT MAX(seq) FROM audit_event WHERE kind = 'agent_pr' AND agent_id = 'pricing-bot'"
            )).scalar_one()  # fmt: skip
        history_wall, history_cpu, history = timed(
            lambda: agent_history(
                engine,
                agent_id="pricing-bot",
                repo="acme/platform",
                pr=0,
                opening_seq=last_open + 1,
                windows=[30],
            )
        )
        engine.dispose()
    result = {
        "events": count,
        "scorecards": len(cards),
        "scorecards_wall_s": round(cards_wall, 3),
        "scorecards_cpu_s": round(cards_cpu, 3),
        "events_per_s": round(count / cards_wall),
        "bare_count_wall_s": round(count_wall, 4),
        "ratio": round(cards_wall / count_wall, 1),
        "agent_history_wall_s": round(history_wall, 3),
        "agent_history_cpu_s": round(history_cpu, 3),
        "history_merged_30d": history.records[30].merged,
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
