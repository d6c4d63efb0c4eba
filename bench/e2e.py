"""PR opened → `countersign` check completed, end to end against the GitHub simulator.

The real service (uvicorn, SQLite, one worker) and the simulator run on 127.0.0.1; an agent opens a
50-file mixed PR (Terraform, Kubernetes, pricing, text). We time from `open_pr` (which sends the
signed webhook) to the completed check run, and count the GitHub API calls the service made for it
(from the simulator's request log). Baseline in the same run: fetching the same PR snapshot alone
(the same githubkit client and calls, no evaluation, no publishing), so the ratio shows what
evaluating and publishing add on top of reading the PR from GitHub.
Usage: `python bench/e2e.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from semdiff import k8s, pricing_json, text, tf  # type: ignore[import-not-found]

from app.demo.stack import LocalStack
from app.sim.scenario import apply_setup

SETUP = {
    "org": "acme",
    "users": ["alice", {"login": "infra-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice"]},
    "repos": {"acme/infra": {"files": {".github/CODEOWNERS": "* @acme/platform\n"}}},
    "install": True,
}


def pr_files(n: int, variant: int) -> dict[str, str]:
    files: dict[str, str] = {}
    for i in range(n):
        bucket = i % 4
        if bucket == 0:
            files[f"infra/svc{i}/main.tf"] = "\n".join(
                tf(i * 3 + k, "t3.large" if variant else "t3.medium") for k in range(3)
            )
        elif bucket == 1:
            files[f"k8s/svc{i}.yaml"] = k8s(
                i, f"registry.acme.io/app:1.{4 + variant}.0", 3 + variant
            )
        elif bucket == 2:
            files[f"catalog/plans-{i}.json"] = pricing_json(i, -1.0 * variant)
        else:
            files[f"docs/svc{i}.md"] = text(i, "More.\n" * variant)
    return files


def run(runs: int = 5, n_files: int = 50) -> dict[str, float]:
    seconds: list[float] = []
    calls: list[int] = []
    with tempfile.TemporaryDirectory() as tmp, LocalStack(f"sqlite:///{tmp}/e2e.db") as stack:
        apply_setup(stack.sim, SETUP)
        base = pr_files(n_files, 0)
        # Put the base files on main, then open PRs that change all of them.
        stack.sim.open_pr("acme/infra", "alice", "seed", base, title="seed", body="")
        seed = stack.sim.pr("acme/infra#1")
        stack.sim.wait_idle()
        stack.sim.merge(seed, by="alice", admin=True)
        stack.sim.wait_idle()
        time.sleep(0.5)
        for r in range(runs + 1):
            stack.sim.requests.clear()
            t0 = time.perf_counter()
            pr = stack.sim.open_pr(
                "acme/infra",
                "infra-bot[bot]",
                f"agent/change-{r}",
                pr_files(n_files, 1 + r % 2),
                title=f"Change {r}",
                body=f"Scale.\n\nAgent-Run-Id: run_bench_{r}",
            )

            def done(pr: object = pr) -> bool:
                run = stack.sim.latest_check(pr)  # type: ignore[arg-type]
                return run is not None and run.status == "completed"

            stack.sim.wait_for(done, 60, "the check run")
            elapsed = time.perf_counter() - t0
            stack.sim.wait_idle()
            made = [
                c for c in stack.sim.requests if not c.startswith(("GET /app/hook", "GET /_sim"))
            ]
            if r == 0:
                continue  # warm-up: first token, parser and CEL caches
            seconds.append(elapsed)
            calls.append(len(made))
            last_calls = made
        from app.github.client import CallLog, GitHubApp
        from app.github.snapshot_fetch import fetch_snapshot

        client_app = GitHubApp(4242, stack.private_key, base_url=stack.sim_server.api_url)
        inst = stack.sim.world.installation_for("acme/infra")
        assert inst is not None
        client = client_app.installation(inst.id, CallLog())
        fetch_snapshot(client, "acme/infra", pr.number)  # token + warm-up
        fetches = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fetch_snapshot(client, "acme/infra", pr.number)
            fetches.append(time.perf_counter() - t0)
    return {
        "fetch_only_s": statistics.median(fetches),
        "files": n_files,
        "runs": runs,
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "api_calls": statistics.median(calls),
        "calls": last_calls,  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=50)
    args = parser.parse_args()
    res = run(args.runs, args.files)
    print(f"{res['files']}-file mixed PR, {res['runs']} runs after a warm-up")
    print(
        f"  PR opened → check completed: median {res['median_s'] * 1000:.0f} ms, max {res['max_s'] * 1000:.0f} ms"
    )
    print(f"  baseline, fetching the PR snapshot alone: {res['fetch_only_s'] * 1000:.0f} ms")
    print(f"  ratio end-to-end / fetch-only: {res['median_s'] / res['fetch_only_s']:.2f}x")
    print(f"  GitHub API calls per evaluation: {res['api_calls']:.0f}")
    for call in res["calls"]:  # type: ignore[attr-defined]
        print(f"    {call}")


if __name__ == "__main__":
    main()
