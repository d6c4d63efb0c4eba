"""Deployment decision benchmark: a deployment that covers 200 merges.

    python bench/deploy_decision.py [--merges N] [--noise N] [--database-url URL] [--json]

Without --database-url it runs on a temporary SQLite file and, when COUNTERSIGN_TEST_DATABASE_URL
is set, on a fresh schema of that PostgreSQL database too. The store holds N merge records (one
in ten a bypass merge, reviewed after the fact), `--noise` other events, and an approved deployment
where the range starts. Timed, median of 30 rounds:

- the store read: the environment's last approved deployment, the N merge records and their
  post-reviews (`app.store.audit.deployments`);
- our own work: the compare listing (2N commits: merge commits and PR commits) to a first-parent
  chain, the decision (`app.gate.deploy_decision`) and the audit record with its comment.
The fetch from GitHub is excluded (it is the compare call, paged). Target: our work ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config.deploy import EnvironmentRule  # noqa: E402
from app.gate.deploy_decision import (  # noqa: E402
    DeploymentFacts,
    decide_deployment,
    first_parent_chain,
)
from app.store.audit import store  # noqa: E402
from app.store.audit.deployments import (  # noqa: E402
    KIND,
    CoveredMergeRecord,
    DeploymentDecisionRecord,
    last_approved_sha,
    recorded_merges,
)
from app.store.audit.records import BypassReviewRecord, MergeRecord  # noqa: E402
from app.store.db import make_engine, upgrade  # noqa: E402

REPO = "acme/platform"
TARGET_MS = 100.0
ROUNDS = 30


def sha(kind: str, n: int) -> str:
    return f"{kind}{n:039x}"


def seed(engine: sa.Engine, merges: int, noise: int) -> list[dict[str, Any]]:
    """The store's events and the compare listing GitHub would return for the range."""
    store.append(
        engine,
        KIND,
        DeploymentDecisionRecord(
            environment="production",
            sha=sha("a", 0),
            ref="main",
            deployment_id=1,
            workflow_run_id=1,
            default_branch="main",
            since_sha=None,
            state="approved",
            reasons=["seed"],
            comment="seed",
        ),
        repo=REPO,
        head_sha=sha("a", 0),
        run_id="1",
    )
    for n in range(noise):
        store.append(engine, "evaluation_noise", {"n": n}, repo=REPO, pr_number=10_000 + n)
    listing: list[dict[str, Any]] = []
    previous = sha("a", 0)
    for n in range(1, merges + 1):
        merge, head = sha("b", n), sha("c", n)
        record = MergeRecord(
            repo=REPO,
            pr=n,
            title=f"change {n}",
            url=f"https://github.com/{REPO}/pull/{n}",
            agent_id="pricing-bot",
            run_id=f"run_{n}",
            head_sha=head,
            merge_commit_sha=merge,
            merged_at=datetime.now(UTC),
            tier=1,
            risk_level="low",
            risk_score=10,
            policy_version="bench",
            bypass=n % 10 == 0,
        )
        event = store.append(engine, "bypass_merge" if record.bypass else "merge", record)
        if record.bypass:
            review = BypassReviewRecord(
                merge_seq=event.seq,
                merge_hash=event.hash,
                merged_by="bob",
                reviewer="sam",
                note="checked",
            )
            store.append(engine, "bypass_reviewed", review, repo=REPO, pr_number=n)
        listing.append({"sha": head, "parents": [{"sha": previous}]})
        listing.append({"sha": merge, "parents": [{"sha": previous}, {"sha": head}]})
        previous = merge
    return listing


def our_work(listing: list[dict[str, Any]], merges: Any, since: str) -> DeploymentDecisionRecord:
    """Everything the service does between the fetch and the append (deploy_gate's steps)."""
    tip = listing[-1]["sha"]
    parents = {str(c["sha"]): tuple(str(p["sha"]) for p in c.get("parents") or []) for c in listing}
    chain = first_parent_chain(tip, parents, since)
    facts = DeploymentFacts("production", tip, 2, "main", True, since, chain, merges)
    decision = decide_deployment(facts, EnvironmentRule())
    assert decision.approved, decision.problems
    return DeploymentDecisionRecord(
        environment="production",
        sha=tip,
        ref="main",
        deployment_id=2,
        workflow_run_id=2,
        default_branch="main",
        since_sha=since,
        state=decision.state,
        reasons=list(decision.reasons),
        merges=[
            CoveredMergeRecord(sha=m.sha, pr=m.pr, seq=m.seq, state=m.state)
            for m in decision.merges
        ],
        direct_pushes=list(decision.direct_pushes),
        comment=decision.comment(),
    )


def run(url: str, merges: int, noise: int) -> dict[str, Any]:
    upgrade(url)
    engine = make_engine(url)
    try:
        listing = seed(engine, merges, noise)
        chain = [c["sha"] for c in listing if len(c["parents"]) == 2]
        reads, works = [], []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            since = last_approved_sha(engine, REPO, "production")
            found = recorded_merges(engine, REPO, chain)
            reads.append(time.perf_counter() - start)
            assert since is not None and len(found) == merges
            start = time.perf_counter()
            record = our_work(listing, found, since)
            works.append(time.perf_counter() - start)
            assert len(record.merges) == merges
    finally:
        engine.dispose()
    read_ms = statistics.median(reads) * 1000
    work_ms = statistics.median(works) * 1000
    return {
        "merges": merges,
        "noise_events": noise,
        "store_read_ms": round(read_ms, 2),
        "our_work_ms": round(work_ms, 2),
        "ratio_work_to_read": round(work_ms / read_ms, 3),
        "target_ms": TARGET_MS,
        "ok": work_ms <= TARGET_MS,
    }


def _pg_url(base: str) -> tuple[str, sa.Engine, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), admin, schema


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--merges", type=int, default=200)
    parser.add_argument("--noise", type=int, default=2000)
    parser.add_argument("--database-url")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.database_url:
        results["given"] = run(args.database_url, args.merges, args.noise)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"] = run(f"sqlite:///{tmp}/bench.db", args.merges, args.noise)
        base = os.environ.get("COUNTERSIGN_TEST_DATABASE_URL")
        if base:
            url, admin, schema = _pg_url(base)
            try:
                results["postgresql"] = run(url, args.merges, args.noise)
            finally:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, r in results.items():
            mark = "ok" if r["ok"] else "OVER TARGET"
            print(
                f"{name}: {r['merges']} merges — our work {r['our_work_ms']} ms ({mark}, target "
                f"≤ {TARGET_MS:.0f} ms), store read {r['store_read_ms']} ms, "
                f"ratio {r['ratio_work_to_read']}"
            )
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
