"""Benchmark: a 2,000-resource Terraform plan (about 20 MB of `terraform show -json`) analyzed.

Baseline in the same run: `json.loads` of the same bytes (what any reader pays). Reports wall
time (median of runs) and peak memory of each, measured in a fresh child process with
`ru_maxrss` so allocator reuse between runs does not hide it.

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
import json, resource, sys, time
sys.path.insert(0, {root!r})
data = open({path!r}, "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if {mode!r} == "parse":
    json.loads(data)
    n = 0
else:
    from app.semdiff.plans import read_plan
    from app.semdiff.terraform_plan import analyze_plan
    plan = read_plan(data, "infra/prod", "plan.json")
    n = len(analyze_plan(plan.plan, plan.dir))
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "peak_mib": peak / 1024, "growth_mib": (peak - base) / 1024, "changes": n}}))
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
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"plan: {args.resources:,} resource changes, {len(data) / 1e6:.1f} MB")
    for mode in ("parse", "analyze"):
        runs = [run_child(mode, path) for _ in range(args.runs)]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_mib"] for r in runs)
        label = "json.loads only (baseline)" if mode == "parse" else "read + analyze (ours)"
        print(f"{label:28} median {seconds:.3f} s, peak RSS {peak:.0f} MiB"
              + (f", {runs[0]['changes']:,} changes" if mode == "analyze" else ""))  # fmt: skip
    path.unlink()


if __name__ == "__main__":
    main()
