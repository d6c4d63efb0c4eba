"""Benchmark: peak memory of the service while it takes one, then two concurrent, ~62 MiB plan
uploads on loopback (`POST /api/plans/...`, upload-token auth, the GitHub simulator as GitHub).

The service runs in a child process (a `LocalStack`: web, worker and simulator, SQLite in a
temporary directory) built from `--code` (default: this checkout), so the code before a change
can be measured with the same script from a `git archive` of it. The parent generates the plan
(bench/plan.py's resources), warms the route with a small upload, reads the child's `VmHWM`
(peak resident set, /proc) and posts the big body `--concurrent` times at once. A fresh child per
measurement, so each peak is its own. Loopback only, bounded: two uploads per measurement.

    python bench/plan_upload.py [--mib 62] [--concurrent 1 2] [--code DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.plan import make_plan  # noqa: E402

TOKEN = "bench-upload-token-0123456789abcdef"
REPO = "acme/platform"
CHILD = """
import sys
from app.demo.stack import LocalStack
from app.sim.scenario import apply_setup
setup = {"org": "acme", "users": ["bob"], "teams": {"platform": ["bob"]},
         "repos": {"acme/platform": {"admins": ["bob"], "files": {"README.md": "x"}}},
         "install": True}
with LocalStack(sys.argv[1], plan_upload_tokens={"acme/platform": sys.argv[2]},
                log_level="ERROR") as stack:
    apply_setup(stack.sim, setup)
    stack.sim.wait_idle()
    print(stack.url, flush=True)
    sys.stdin.readline()
"""


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def body_of(mib: float) -> bytes:
    """`{"dir": …, "plan": …}` of about `mib` MiB (2,000 resources make ~18.3 MB)."""
    resources = max(10, int(mib * 2**20 / 18.3e6 * 2000))
    return b'{"dir": "infra/prod", "plan": ' + make_plan(resources) + b"}"


def post(url: str, sha: str, body: bytes, out: list[int]) -> None:
    answer = httpx.post(
        f"{url}/api/plans/{REPO}/{sha}",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        content=body,
        timeout=600,
    )
    out.append(answer.status_code)


def measure(code: Path, body: bytes, concurrent: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(code)}
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, f"sqlite:///{tmp}/bench.db", TOKEN],
            cwd=code,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None and child.stdin is not None
            url = child.stdout.readline().strip()
            small = b'{"dir": "infra/prod", "plan": ' + make_plan(5) + b"}"
            warm: list[int] = []
            post(url, "f" * 40, small, warm)
            time.sleep(1.0)  # the worker's re-evaluation of the warm-up settles
            base = status_kib(child.pid, "VmHWM")
            codes: list[int] = []
            threads = [
                threading.Thread(target=post, args=(url, f"{i:x}" * 40, body, codes))
                for i in range(1, concurrent + 1)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - started
            peak = status_kib(child.pid, "VmHWM")
            return {
                "concurrent": concurrent,
                "statuses": sorted(warm + codes),  # type: ignore[dict-item]
                "baseline_mib": base / 1024,
                "peak_mib": peak / 1024,
                "added_mib": (peak - base) / 1024,
                "seconds": seconds,
            }
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=float, default=62.0)
    parser.add_argument("--concurrent", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--code", type=Path, default=ROOT)
    args = parser.parse_args()
    body = body_of(args.mib)
    print(f"body {len(body) / 2**20:.1f} MiB, code {args.code}", flush=True)
    for n in args.concurrent:
        print(json.dumps(measure(args.code, body, n)), flush=True)


if __name__ == "__main__":
    main()
