"""Audit store benchmark: append throughput, merge export (JSONL) and chain verification.

    python bench/audit.py [--records N] [--database-url URL] [--json]

Without --database-url it runs on a temporary SQLite file and, when COUNTERSIGN_TEST_DATABASE_URL
is set, on a fresh schema in that PostgreSQL database too. Steps, per database:
1. append throughput through `app.store.audit.store.append` (1 writer; 4 writer processes on PostgreSQL);
2. bulk-load N merge events (chain computed in Python; executemany on SQLite, COPY on PostgreSQL);
3. export them to JSONL (records/s, peak RSS of the exporting process, RSS at 10 % vs the end);
4. baseline: a bare driver-level SELECT of the same rows streamed to `json.dumps` lines;
5. verify the chain (events/s). Steps 3-5 run in fresh processes so peak RSS is theirs alone.
Targets: export >= 50,000 records/s with flat memory, verify >= 100,000 events/s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.store.audit.chain import EventFields, canonical_json, event_hash  # noqa: E402
from app.store.audit.records import MergeRecord  # noqa: E402
from app.store.audit.stream import EVENT_COLUMNS  # noqa: E402
from app.store.db import make_engine, upgrade  # noqa: E402
from app.store.tables import EVENTS, HEAD  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "audit" / "merge_pricing.json"
START = datetime(2026, 1, 1, tzinfo=UTC)
REPOS = ("acme/catalog", "acme/infra", "acme/billing", "acme/platform")
AGENTS = ("pricing-bot", "infra-bot", "docs-bot")
EXPORT_TARGET, VERIFY_TARGET = 50_000, 100_000


def peak_rss_mb() -> float:
    """Peak RSS of this process: VmHWM (Linux), else getrusage.

    getrusage's ru_maxrss survives exec on Linux, so a child started by a big parent would report
    the parent's size; VmHWM belongs to the new address space.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- bulk load ----------------------------------------------------------------------------


def merge_rows(
    count: int, first_seq: int, prev_hash: str, merges_before: int, prev_merge: str
) -> Iterator[dict[str, Any]]:
    """Realistic merge events with their chain computed here (what append would store)."""
    template = MergeRecord.model_validate_json(FIXTURE.read_text()).model_dump(mode="json")
    for i in range(count):
        seq = first_seq + i
        sha = hashlib.sha1(str(seq).encode()).hexdigest()
        repo, agent = REPOS[seq % len(REPOS)], AGENTS[seq % len(AGENTS)]
        moment = START + timedelta(seconds=seq)
        record = dict(template)
        record.update(
            repo=repo,
            pr=seq,
            title=f"{template['title']} (batch {seq})",
            url=f"https://github.com/{repo}/pull/{seq}",
            agent_id=agent,
            run_id=f"run_{seq:08d}",
            head_sha=sha,
            merge_commit_sha=sha[::-1],
            merged_at=moment.isoformat().replace("+00:00", "Z"),
            merge_index=merges_before + i + 1,
            prev_merge_hash=prev_merge,
        )
        payload = canonical_json(record)
        fields = EventFields(seq, "merge", moment, repo, seq, sha, agent, f"run_{seq:08d}", payload)
        digest = event_hash(prev_hash, fields)
        yield {
            "seq": seq, "kind": "merge", "occurred_at": moment, "repo": repo, "pr_number": seq,
            "head_sha": sha, "agent_id": agent, "run_id": f"run_{seq:08d}", "payload": payload,
            "prev_hash": prev_hash, "hash": digest,
        }  # fmt: skip
        prev_hash = prev_merge = digest


def bulk_load(engine: sa.Engine, count: int) -> float:
    """Append `count` merges after the current head; returns seconds."""
    started = time.perf_counter()
    with engine.connect() as conn:
        head = conn.execute(sa.select(HEAD).where(HEAD.c.id == 1)).one()
    rows = merge_rows(count, int(head.seq) + 1, head.hash, int(head.merge_count), head.merge_hash)
    columns = [c.name for c in EVENTS.columns]
    last: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY audit_event ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row([row[c] for c in columns])
                    last = row
            raw.commit()
        finally:
            raw.close()
    else:
        with engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 20_000:
                    conn.execute(sa.insert(EVENTS), batch)
                    last, batch = batch[-1], []
            if batch:
                conn.execute(sa.insert(EVENTS), batch)
                last = batch[-1]
    with engine.begin() as conn:
        conn.execute(
            sa.update(HEAD)
            .where(HEAD.c.id == 1)
            .values(
                seq=last["seq"],
                hash=last["hash"],
                merge_count=int(head.merge_count) + count,
                merge_hash=last["hash"],
            )
        )
    seconds = time.perf_counter() - started
    # Refresh planner statistics (and PostgreSQL hint bits / visibility map), as autovacuum would
    # after a real day of appends, so the first export does not pay for the bulk load.
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(
            "VACUUM ANALYZE audit_event" if engine.dialect.name == "postgresql" else "ANALYZE"
        )
    return seconds


# --- child processes (fresh RSS) -----------------------------------------------------------


def child_export(url: str, out: str, total: int) -> dict[str, Any]:
    from app.store.audit.export import export_merges

    engine = make_engine(url)
    rss_early: list[float] = []

    def progress(done: int) -> None:
        if not rss_early and done >= total // 10:
            rss_early.append(current_rss_mb())

    started = time.perf_counter()
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for line in export_merges(engine, progress=progress):
            handle.write(line)
            count += 1
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"records": count - 2, "seconds": seconds, "peak_rss_mb": peak_rss_mb(),
            "rss_at_10pct_mb": rss_early[0] if rss_early else None, "rss_end_mb": current_rss_mb()}  # fmt: skip


def child_baseline(url: str, out: str) -> dict[str, Any]:
    """The floor: driver rows straight to json.dumps lines, no chain or record logic."""
    engine = make_engine(url)
    query = (
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_event "
        "WHERE kind IN ('merge', 'bypass_merge') ORDER BY seq"
    )
    names = EVENT_COLUMNS
    raw = engine.raw_connection()
    started = time.perf_counter()
    count = 0
    try:
        if engine.dialect.name == "postgresql":
            cursor = raw.cursor(name="bench_baseline")  # type: ignore[call-arg]
            cursor.itersize = 5_000
        else:
            cursor = raw.cursor()
        cursor.execute(query)
        with open(out, "w", encoding="utf-8") as handle:
            for row in cursor:
                handle.write(json.dumps(dict(zip(names, row, strict=True)), default=str) + "\n")
                count += 1
        cursor.close()
    finally:
        raw.close()
        engine.dispose()
    return {
        "records": count,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
    }


def child_verify(url: str, out: str | None) -> dict[str, Any]:
    from app.store.audit.verify import verify_chain, verify_export

    engine = make_engine(url)
    started = time.perf_counter()
    result = verify_chain(engine)
    seconds = time.perf_counter() - started
    engine.dispose()
    report = {
        "ok": result.ok,
        "events": result.count,
        "seconds": seconds,
        "reason": result.reason,
        "peak_rss_mb": peak_rss_mb(),
    }
    if out:
        started = time.perf_counter()
        exported = verify_export(Path(out))
        report["export_file"] = {
            "ok": exported.ok,
            "records": exported.count,
            "seconds": time.perf_counter() - started,
        }
    return report


def child_append(url: str, count: int, start_at: float) -> dict[str, Any]:
    from app.store.audit.store import append

    engine = make_engine(url)
    template = MergeRecord.model_validate_json(FIXTURE.read_text())
    while time.time() < start_at:
        time.sleep(0.005)
    started = time.time()
    for i in range(count):
        if i % 4 == 0:
            append(engine, "merge", template)
        else:
            append(
                engine,
                "evaluation",
                {"conclusion": "success", "i": i},
                repo="acme/catalog",
                pr_number=i,
            )
    finished = time.time()
    engine.dispose()
    return {"count": count, "started": started, "finished": finished}


def spawn(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def append_throughput(url: str, writers: int, per_writer: int) -> dict[str, Any]:
    start_at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", "append", url, str(per_writer), repr(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(writers)
    ]
    reports = [json.loads((p.communicate()[0] or "{}").strip().splitlines()[-1]) for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError("an append writer failed")
    span = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    total = writers * per_writer
    return {"writers": writers, "events": total, "seconds": span, "events_per_s": total / span}


# --- orchestration -------------------------------------------------------------------------


def run(url: str, records: int = 1_000_000, append_events: int = 2_000) -> dict[str, Any]:
    """Run every step on `url` (a fresh, empty database) and return the measurements."""
    upgrade(url)
    engine = make_engine(url)
    dialect = engine.dialect.name
    results: dict[str, Any] = {"database": dialect, "records": records}
    results["append_1_writer"] = append_throughput(url, 1, append_events)
    if dialect == "postgresql":
        results["append_4_writers"] = append_throughput(url, 4, append_events // 4)
    load_seconds = bulk_load(engine, records)
    results["bulk_load"] = {
        "records": records,
        "seconds": load_seconds,
        "records_per_s": records / load_seconds,
    }
    engine.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "merges.jsonl")
        total_merges = records + append_events // 4 * (2 if dialect == "postgresql" else 1)
        export = spawn("export", url, out, str(total_merges))
        export["records_per_s"] = export["records"] / export["seconds"]
        export["file_mb"] = os.path.getsize(out) / 2**20
        results["export_jsonl"] = export
        verify = spawn("verify", url, out)
        verify["events_per_s"] = verify["events"] / verify["seconds"]
        if "export_file" in verify:
            f = verify["export_file"]
            f["records_per_s"] = f["records"] / f["seconds"]
        results["verify"] = verify
        baseline = spawn("baseline", url, out)
        baseline["records_per_s"] = baseline["records"] / baseline["seconds"]
        results["baseline_select_json"] = baseline
    results["targets"] = {
        "export_records_per_s": {
            "target": EXPORT_TARGET,
            "met": results["export_jsonl"]["records_per_s"] >= EXPORT_TARGET,
        },
        "verify_events_per_s": {
            "target": VERIFY_TARGET,
            "met": results["verify"]["events_per_s"] >= VERIFY_TARGET,
        },
    }
    return results


def _pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    url = sa.engine.make_url(make_engine(base).url).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    return url.render_as_string(hide_password=False), schema


def _drop_schema(base: str, schema: str) -> None:
    admin = make_engine(base, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


def _print(results: dict[str, Any]) -> None:
    r = results
    print(f"== {r['database']}: {r['records']:,} merge records")
    for key in ("append_1_writer", "append_4_writers"):
        if key in r:
            a = r[key]
            print(
                f"append ({a['writers']} writer(s)): {a['events_per_s']:,.0f} events/s ({a['events']} events)"
            )
    print(f"bulk load: {r['bulk_load']['records_per_s']:,.0f} records/s")
    e, b, v = r["export_jsonl"], r["baseline_select_json"], r["verify"]
    print(
        f"export JSONL: {e['records_per_s']:,.0f} records/s, {e['file_mb']:,.0f} MB, peak RSS {e['peak_rss_mb']:.0f} MB "
        f"(RSS at 10 %: {e['rss_at_10pct_mb'] or 0:.0f} MB, at end: {e['rss_end_mb']:.0f} MB)"
    )
    print(
        f"baseline SELECT -> json.dumps: {b['records_per_s']:,.0f} records/s, peak RSS {b['peak_rss_mb']:.0f} MB"
    )
    print(
        f"verify chain: {v['events_per_s']:,.0f} events/s ({v['events']:,} events, ok={v['ok']}), peak RSS {v['peak_rss_mb']:.0f} MB"
    )
    if "export_file" in v:
        print(
            f"verify export file: {v['export_file']['records_per_s']:,.0f} records/s (ok={v['export_file']['ok']})"
        )
    for name, target in r["targets"].items():
        print(f"target {name} >= {target['target']:,}: {'met' if target['met'] else 'NOT met'}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        step, args = sys.argv[2], sys.argv[3:]
        if step == "export":
            print(json.dumps(child_export(args[0], args[1], int(args[2]))))
        elif step == "baseline":
            print(json.dumps(child_baseline(args[0], args[1])))
        elif step == "verify":
            print(json.dumps(child_verify(args[0], args[1] if len(args) > 1 else None)))
        elif step == "append":
            print(json.dumps(child_append(args[0], int(args[1]), float(args[2]))))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="merge records to export (default 1,000,000)"
    )
    parser.add_argument(
        "--append-events", type=int, default=2_000, help="events for the append throughput test"
    )
    parser.add_argument(
        "--database-url", help="an empty database (default: temp SQLite, plus PostgreSQL if set)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    options = parser.parse_args()
    all_results = []
    if options.database_url:
        all_results.append(run(options.database_url, options.records, options.append_events))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            all_results.append(
                run(f"sqlite:///{tmp}/bench.db", options.records, options.append_events)
            )
        base = os.environ.get("COUNTERSIGN_TEST_DATABASE_URL")
        if base:
            url, schema = _pg_schema_url(base)
            try:
                all_results.append(run(url, options.records, options.append_events))
            finally:
                _drop_schema(base, schema)
    for results in all_results:
        print(json.dumps(results, indent=2, default=str)) if options.json else _print(results)


if __name__ == "__main__":
    main()
