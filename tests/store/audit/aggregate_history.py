"""Random audit histories for the aggregate tests: evaluations, merges (some reverting earlier
ones), bypasses, analyze calls and waivers of a few agents over a few UTC days, written through
the real append path."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st

from app.store.audit import store
from app.store.audit.records import MergeRecord

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "audit" / "merge_pricing.json"
MERGE = json.loads(FIXTURE.read_text())
START = datetime(2026, 11, 2, tzinfo=UTC)
AGENTS = ("docs-bot", "infra-bot")
RULES = ("terraform.delete-stateful", "pricing.price-increase", "kubernetes.privileged")
REPOS = ("acme/web", "Acme/Infra")


@dataclass(frozen=True)
class Op:
    kind: str
    agent: str | None
    repo: str
    pr: int
    seconds: int
    """Since START (spans about six days)."""
    conclusion: str = "success"
    rules: tuple[str, ...] = ()
    run_id: str | None = None
    cost: str | None = None
    latency: int | None = None
    reverts: tuple[int, ...] = ()
    """PR numbers (same repo) this merge reverts; negative: by their merge SHA instead."""


def _sha(repo: str, pr: int) -> str:
    return hashlib.sha1(f"{repo.lower()}#{pr}".encode()).hexdigest()


ops = st.builds(
    Op,
    kind=st.sampled_from(
        ["evaluation", "evaluation", "merge", "bypass_merge", "analyze_call", "waiver"]
    ),
    agent=st.sampled_from([*AGENTS, None]),
    repo=st.sampled_from(REPOS),
    pr=st.integers(1, 6),
    seconds=st.integers(0, 6 * 86_400),
    conclusion=st.sampled_from(["success", "failure", "neutral"]),
    rules=st.lists(st.sampled_from(RULES), max_size=2).map(tuple),
    run_id=st.sampled_from([None, "run-1"]),
    cost=st.sampled_from([None, "0.25", "1.10", "3"]),
    latency=st.sampled_from([None, 0, 5, 2747, 90_000]),
    reverts=st.lists(st.integers(-6, 6).filter(bool), max_size=2).map(tuple),
)
histories = st.lists(ops, min_size=1, max_size=25)


def write(engine: sa.Engine, op: Op) -> None:
    """Append one op's event as the service would shape it."""
    at = START + timedelta(seconds=op.seconds)
    findings = [
        {"rule": r, "severity": "high", "tier": 2, "file": "f", "message": "m"} for r in op.rules
    ]
    if op.kind == "evaluation":
        report = {
            "tier": "blocked" if "kubernetes.privileged" in op.rules else 2,
            "findings": findings,
        }
        payload: dict[str, Any] = {"conclusion": op.conclusion, "report": report}
        store.append(engine, "evaluation", payload, occurred_at=at, repo=op.repo, pr_number=op.pr,
                     head_sha="a" * 40, agent_id=op.agent or AGENTS[0], run_id=op.run_id)  # fmt: skip
    elif op.kind in ("merge", "bypass_merge"):
        store.append(engine, op.kind, _merge(op, at, findings), occurred_at=at)
    elif op.kind == "analyze_call":
        store.append(engine, "analyze_call", {"outcome": "ok", "status": 200}, occurred_at=at,
                     agent_id=op.agent or AGENTS[1])  # fmt: skip
    else:
        store.append(engine, "waiver", {"rule": (op.rules or RULES[:1])[0], "by": "erin"},
                     occurred_at=at, repo=op.repo, pr_number=op.pr, agent_id=op.agent or AGENTS[0])  # fmt: skip


def _merge(op: Op, at: datetime, findings: list[dict[str, Any]]) -> MergeRecord:
    first = at - timedelta(seconds=op.latency or 0)
    approvals = [{"login": "erin", "teams": [], "time": at.isoformat(), "commit": "a" * 40}]
    return MergeRecord.model_validate(
        {
            **MERGE,
            "repo": op.repo,
            "pr": op.pr,
            "agent_id": op.agent,
            "run_id": op.run_id,
            "merge_commit_sha": _sha(op.repo, op.pr),
            "merged_at": at.isoformat(),
            "bypass": op.kind == "bypass_merge",
            "findings": findings,
            "approvals": approvals if op.latency is not None else [],
            "head_first_evaluated_at": first.isoformat() if op.latency is not None else None,
            "run_cost_usd": op.cost,
            "reverts": {
                "commits": [_sha(op.repo, -n)[:9] for n in op.reverts if n < 0],
                "pulls": [f"{op.repo.lower()}#{n}" for n in op.reverts if n > 0],
            },
        }
    )
