"""Replay benchmark: `countersign replay` over 10,000 stored evaluations.

    python bench/replay.py [--evaluations N] [--runs R] [--json]

Stores N evaluation events (real reports of the pipeline: price changes by an agent at tiers 1
and 2, a human's price change, a docs change; each PR its own, so the latest per PR is all N)
with a merge record for every other one, in a temporary SQLite file and, when
COUNTERSIGN_TEST_DATABASE_URL is set, in a fresh PostgreSQL schema too. Measured (median of R):
- read: `app.store.audit.replay_source.load` (latest per PR, merge records attached) alone;
- replay: read, then judge every evaluation with a tightened pricing rule
  (`app.gate.replay_report.run_replay` + `summarize`), as `countersign replay` does.
Target: replay of 10,000 evaluations <= 10 s; the ratio replay/read says what judging costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

from app.core.models import FileDiff  # noqa: E402
from app.core.snapshot import PullRequestSnapshot  # noqa: E402
from app.gate.pipeline import Gatekeeper, evaluate_snapshot  # noqa: E402
from app.gate.replay import Proposal  # noqa: E402
from app.gate.replay_report import run_replay, summarize  # noqa: E402
from app.store.audit.chain import EventFields, canonical_json, event_hash  # noqa: E402
from app.store.audit.records import EvaluationRecord  # noqa: E402
from app.store.audit.replay_source import Window, load  # noqa: E402
from app.store.db import make_engine, upgrade  # noqa: E402
from app.store.tables import EVENTS, HEAD  # noqa: E402
from bench.audit import _drop_schema, _pg_schema_url  # noqa: E402

TARGET_SECONDS = 10.0
START = datetime(2026, 11, 1, tzinfo=UTC)
REPOS = ("acme/catalog", "acme/billing", "acme/platform", "acme/shop")
CATALOG = '{"plans": [{"sku": "pro", "price": 49.0}, {"sku": "team", "price": 99.0}]}\n'
CONFIG = b'paths:\n  "catalog/**.json": {kind: pricing, key: sku, price_fields: [price]}\n'
MEDIUM = 'severity: medium\n    message: "Price of {address} changes: {facts.moves_text}."'


def _snapshot(author: str, files: dict[str, tuple[str, str]]) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repo="acme/catalog",
        number=1,
        author=author,
        author_is_bot=author.endswith("[bot]"),
        body="Bench.\n\nAgent-Run-Id: run_bench",
        head_sha="c" * 40,
        files=tuple(
            FileDiff(path=p, base=b.encode(), head=h.encode()) for p, (b, h) in files.items()
        ),
        config_text=CONFIG,
    )


def reports(gate: Gatekeeper, variants: int = 10) -> list[dict[str, Any]]:
    """Real reports: what the pipeline recorded for a few kinds of PR, each at `variants`
    prices (so Cedar sees as many distinct price moves)."""
    shapes = []
    for v in range(variants):
        trim = CATALOG.replace("49.0", f"{47.0 - v * 0.3:.1f}")
        cut = CATALOG.replace("49.0", f"{29.4 - v:.1f}").replace("99.0", f"{95.0 - v:.1f}")
        shapes += [
            _snapshot("pricing-bot[bot]", {"catalog/plans.json": (CATALOG, trim)}),
            _snapshot("pricing-bot[bot]", {"catalog/plans.json": (CATALOG, cut)}),
            _snapshot("alice", {"catalog/plans.json": (CATALOG, trim)}),
            _snapshot("docs-bot[bot]", {"README.md": ("# a\n", f"# a\nMore {v}.\n")}),
        ]
    return [evaluate_snapshot(s, gate).report.model_dump(mode="json") for s in shapes]


def _distinct(report: dict[str, Any], i: int) -> dict[str, Any]:
    """The template with this PR's own object names (no two evaluations judge the same change)."""
    text = json.dumps(report).replace('"sku:', f'"sku{i}:')
    return json.loads(text)  # type: ignore[no-any-return]


def rows(count: int, templates: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """N evaluations (one per PR) and a merge record after every other one, chained."""
    prev, seq = "0" * 64, 0
    for i in range(count):
        repo, pr, sha = REPOS[i % len(REPOS)], i + 1, f"{i:040x}"
        report = _distinct(templates[i % len(templates)], i)
        moment = START + timedelta(seconds=i)
        payload = EvaluationRecord(
            report=report, head_sha=sha, policy_version="v", conclusion="success"
        ).model_dump(mode="json")
        events: list[tuple[str, dict[str, Any]]] = [("evaluation", payload)]
        if i % 2 == 0:
            events.append(("merge", _merge(repo, pr, sha, report, moment)))
        for kind, data in events:
            seq += 1
            text = canonical_json(data)
            fields = EventFields(seq, kind, moment, repo, pr, sha, None, None, text)
            digest = event_hash(prev, fields)
            yield {
                "seq": seq, "kind": kind, "occurred_at": moment, "repo": repo, "pr_number": pr,
                "head_sha": sha, "agent_id": None, "run_id": None, "payload": text,
                "prev_hash": prev, "hash": digest,
            }  # fmt: skip
            prev = digest


def _merge(
    repo: str, pr: int, sha: str, report: dict[str, Any], moment: datetime
) -> dict[str, Any]:
    return {
        "repo": repo,
        "pr": pr,
        "title": "Bench",
        "url": f"https://github.com/{repo}/pull/{pr}",
        "head_sha": sha,
        "merged_at": moment.isoformat(),
        "tier": report["tier"] if report["tier"] != "blocked" else 3,
        "risk_level": report["risk"]["level"],
        "risk_score": report["risk"]["score"],
        "approvals": [{"login": "alice", "teams": ["@acme/finance"]}],
        "policy_version": "v",
    }


def fill(url: str, count: int, templates: list[dict[str, Any]]) -> sa.Engine:
    upgrade(url)
    engine = make_engine(url)
    last: dict[str, Any] = {}
    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        for row in rows(count, templates):
            batch.append(row)
            if len(batch) == 5_000:
                conn.execute(sa.insert(EVENTS), batch)
                last, batch = batch[-1], []
        if batch:
            conn.execute(sa.insert(EVENTS), batch)
            last = batch[-1]
        conn.execute(
            sa.update(HEAD).where(HEAD.c.id == 1).values(seq=last["seq"], hash=last["hash"])
        )
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(
            "VACUUM ANALYZE audit_event" if engine.dialect.name == "postgresql" else "ANALYZE"
        )
    return engine


def median_seconds(step: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (the machine may be shared)."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def measure(engine: sa.Engine, proposal: Proposal, count: int, runs: int) -> dict[str, Any]:
    window = Window(limit=count)
    loaded = load(engine, window, "https://github.com")
    assert len(loaded.stored) == count, len(loaded.stored)

    def replay() -> None:
        results, _ = run_replay(load(engine, window, "https://github.com").stored, proposal)
        summary = summarize(results)
        assert summary.judged == count and summary.tier_up > 0

    read, read_cpu = median_seconds(lambda: load(engine, window, "https://github.com"), runs)
    total, total_cpu = median_seconds(replay, runs)
    results, _ = run_replay(loaded.stored, proposal)
    summary = summarize(results)
    return {
        "database": engine.dialect.name,
        "evaluations": count,
        "read_s": round(read, 3),
        "replay_s": round(total, 3),
        "ratio": round(total / read, 1),
        "read_cpu_s": round(read_cpu, 3),
        "replay_cpu_s": round(total_cpu, 3),
        "load_average": round(os.getloadavg()[0], 1),
        "per_evaluation_ms": round(total / count * 1000, 3),
        "changed": len(summary.changed),
        "merges_approvals_short": summary.approvals_short,
        "target_met": total <= TARGET_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--evaluations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shipped = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")
    templates = reports(shipped)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules"
        shutil.copytree(ROOT / "risk_rules", rules)
        text = (rules / "pricing.yaml").read_text()
        (rules / "pricing.yaml").write_text(text.replace(MEDIUM, MEDIUM.replace("medium", "high")))
        proposal = Proposal(gate=Gatekeeper.load(rules, ROOT / "policies"))
        engine = fill(f"sqlite:///{tmp}/bench.db", args.evaluations, templates)
        results.append(measure(engine, proposal, args.evaluations, args.runs))
        engine.dispose()
        base = os.environ.get("COUNTERSIGN_TEST_DATABASE_URL")
        if base:
            url, schema = _pg_schema_url(base)
            try:
                engine = fill(url, args.evaluations, templates)
                results.append(measure(engine, proposal, args.evaluations, args.runs))
                engine.dispose()
            finally:
                _drop_schema(base, schema)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(
            f"{r['database']}: {r['evaluations']:,} evaluations: read {r['read_s']:.2f} s, "
            f"read + replay {r['replay_s']:.2f} s (x{r['ratio']} the read, "
            f"{r['per_evaluation_ms']:.2f} ms each; CPU of this process: read "
            f"{r['read_cpu_s']:.2f} s, replay {r['replay_cpu_s']:.2f} s; load average "
            f"{r['load_average']:g}); {r['changed']:,} would change, "
            f"{r['merges_approvals_short']:,} merges short of approvals; "
            f"target <= {TARGET_SECONDS:g} s {'met' if r['target_met'] else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
