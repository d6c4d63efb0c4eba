"""Benchmark: a 2,000-resource Terraform plan (about 20 MB of `terraform show -json`) analyzed.

Baseline in the same run: `json.loads` of the same bytes (what any reader pays). Each run is a
fresh child process with the modules already imported (start-up is bench/startup.py's figure):
wall time of load (`json.loads` + format checks), canonical digest and analysis, the median of
runs alternated with the baseline's; peak RSS (`ru_maxrss`) of each, and the peak of Python
allocations (tracemalloc) in one extra run, since tracing slows the run it measures.

    python bench/plan.py [--resources 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def attributes(i: int, engine: str) -> dict[str, Any]:
    """An aws_db_instance-sized attribute set (~8 KB of JSON), as real plans carry."""
    return {
        "allocated_storage": 100 + i % 7,
        "engine": engine,
        "engine_version": "16.3",
        "identifier": f"db-{i:05d}",
        "instance_class": "db.r6g.large",
        "password": f"secret-{i}",
        "parameter_group_name": f"pg-{i % 13}",
        "tags": {f"tag{k}": f"value-{i}-{k}" for k in range(20)},
        "vpc_security_group_ids": [f"sg-{i:08x}{k}" for k in range(6)],
        "ingress": [
            {"cidr_blocks": [f"10.{k}.0.0/16"], "from_port": 5432, "to_port": 5432, "protocol": "tcp",
             "description": "x" * 120}
            for k in range(12)
        ],
        "policy": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": f"S{k}", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": f"arn:aws:s3:::bucket-{i}/{k}/*"} for k in range(10)]}),
        "description": "y" * 600,
    }  # fmt: skip


def make_plan(count: int) -> bytes:
    changes = []
    for i in range(count):
        actions = [["update"], ["delete", "create"], ["delete"], ["create"], ["no-op"]][i % 5]
        before = None if actions == ["create"] else attributes(i, "mysql")
        after = None if actions == ["delete"] else attributes(i, "postgres")
        changes.append(
            {
                "address": f"module.fleet[{i // 100}].aws_db_instance.this[{i % 100}]",
                "module_address": f"module.fleet[{i // 100}]",
                "mode": "managed",
                "type": "aws_db_instance",
                "name": "this",
                "index": i % 100,
                "change": {
                    "actions": actions,
                    "before": before,
                    "after": after,
                    "after_unknown": {"id": True, "arn": True, "endpoint": True},
                    "before_sensitive": {"password": True},
                    "after_sensitive": {"password": True},
                    "replace_paths": [["engine"]] if actions == ["delete", "create"] else None,
                },
            }
        )
    plan = {"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": changes,
            "errored": False, "complete": True}  # fmt: skip
    return json.dumps(plan).encode()


CHILD = """
import gc, json, resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
from app.semdiff.terraform.plan.merge import plan_digest
from app.semdiff.terraform.plan.read import analyze_plan, load_plan
data = open({path!r}, "rb").read()
gc.collect()
mode = {mode!r}
if mode == "memory":
    tracemalloc.start()
c0 = time.process_time()
t0 = time.perf_counter()
if mode == "parse":
    json.loads(data)
    t1 = t2 = t3 = time.perf_counter()
    n = 0
else:
    plan = load_plan(data, "plan.json")
    t1 = time.perf_counter()
    digest = plan_digest(plan)
    t2 = time.perf_counter()
    n = len(analyze_plan(plan, "infra/prod"))
    t3 = time.perf_counter()
cpu = time.process_time() - c0
traced = tracemalloc.get_traced_memory()[1] if mode == "memory" else 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": t3 - t0, "cpu": cpu, "load": t1 - t0, "digest": t2 - t1, "analyze": t3 - t2,
                  "peak_mib": peak / 1024, "traced_mib": traced / 2**20, "changes": n}}))
"""


def run_child(mode: str, path: Path) -> dict[str, Any]:
    code = CHILD.format(root=str(ROOT), path=str(path), mode=mode)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"countersign-bench-plan-{args.resources}.json"
    data = make_plan(args.resources)
    path.write_bytes(data)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"plan: {args.resources:,} resource changes, {len(data) / 1e6:.1f} MB")
    # Alternate the two so a change in the machine's load hits both alike.
    parse, ours = [], []
    for _ in range(args.runs):
        parse.append(run_child("parse", path))
        ours.append(run_child("analyze", path))
    memory = run_child("memory", path)
    base = statistics.median(r["seconds"] for r in parse)
    total = statistics.median(r["seconds"] for r in ours)
    print(f"json.loads only (baseline)     median {base:.3f} s, "
          f"peak RSS {max(r['peak_mib'] for r in parse):.0f} MiB")  # fmt: skip
    print(f"load + digest + analyze (ours) median {total:.3f} s ({total / base:.1f}x json.loads), "
          f"peak RSS {max(r['peak_mib'] for r in ours):.0f} MiB, {ours[0]['changes']:,} changes")  # fmt: skip
    cpu_base = statistics.median(r["cpu"] for r in parse)
    cpu_ours = statistics.median(r["cpu"] for r in ours)
    print(f"  CPU time: ours {cpu_ours:.3f} s, baseline {cpu_base:.3f} s "
          f"({cpu_ours / cpu_base:.1f}x)")  # fmt: skip
    split = {k: statistics.median(r[k] for r in ours) for k in ("load", "digest", "analyze")}
    print("  of which: " + ", ".join(f"{k} {v:.3f} s" for k, v in split.items()))
    ours_runs = ", ".join(f"{r['seconds']:.3f}" for r in ours)
    parse_runs = ", ".join(f"{r['seconds']:.3f}" for r in parse)
    print(f"  runs: {ours_runs} s (baseline {parse_runs} s)")
    print(f"peak memory traced (tracemalloc, one run): {memory['traced_mib']:.0f} MiB "
          f"(plan bytes {len(data) / 2**20:.0f} MiB not counted: read before tracing)")  # fmt: skip
    path.unlink()


if __name__ == "__main__":
    main()
