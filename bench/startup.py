"""Benchmark: `countersign analyze` of a one-file change, start to finish, as a user runs it.

Baselines in the same run: the Python interpreter alone (`python -c pass`), importing the
package (`python -c "import app"`) and `git diff` of the same change. We report the minimum and
median wall and CPU time (user + system, children included) of N runs of each, with the
rule-parse cache warm (the normal case: it is filled by the first run) and cold
(`COUNTERSIGN_CACHE_DIR` pointing at an empty folder each time).

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TF = 'resource "aws_s3_bucket" "logs" {{\n  bucket = "{name}"\n}}\n'


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def make_repo(folder: Path) -> Path:
    repo = folder / "repo"
    (repo / "infra").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "infra" / "main.tf").write_text(TF.format(name="acme-logs"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    (repo / "infra" / "main.tf").write_text(TF.format(name="acme-logs-2"))
    git(repo, "commit", "-qam", "head")
    return repo


def timed(
    cmd: list[str], runs: int, env: dict[str, str] | None = None, fresh: bool = False
) -> tuple[float, float, float, float]:
    """Median wall, median CPU (user + system of the child and its children), minimum wall and
    minimum CPU: on a shared, busy machine the CPU figures are the steadier, the minimum the
    least disturbed."""
    walls, cpus = [], []
    for _ in range(runs):
        run_env = dict(env or os.environ)
        if fresh:
            run_env["COUNTERSIGN_CACHE_DIR"] = tempfile.mkdtemp(prefix="cs-bench-cache-")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=run_env)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus), min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    countersign = str(Path(sys.executable).with_name("countersign"))
    with tempfile.TemporaryDirectory() as folder:
        repo = make_repo(Path(folder))
        env = {**os.environ, "COUNTERSIGN_CACHE_DIR": str(Path(folder) / "cache")}
        analyze = [
            countersign,
            "analyze",
            "--repo",
            str(repo),
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
        ]
        # Bytecode as an installed package has it (pip compiles on install): a checkout run with
        # PYTHONDONTWRITEBYTECODE=1 would otherwise compile app/ again on every start.
        app_dir = subprocess.run(
            [sys.executable, "-c", "import app, os; print(os.path.dirname(app.__file__))"],
            check=True, capture_output=True, text=True, env=env,
        ).stdout.strip()  # fmt: skip
        subprocess.run([sys.executable, "-m", "compileall", "-q", app_dir], check=True)
        subprocess.run(analyze, check=True, capture_output=True, env=env)  # fill the cache
        python = timed([sys.executable, "-c", "pass"], args.runs)
        package = timed([sys.executable, "-c", "import app"], args.runs, env)
        diff = timed(["git", "-C", str(repo), "diff", "HEAD~1", "HEAD"], args.runs)
        warm = timed(analyze, args.runs, env)
        cold = timed(analyze, max(3, args.runs // 3), env, fresh=True)
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load:.1f}; app: {app_dir}")  # fmt: skip
    print("                                  median wall   median CPU     min wall    min CPU")
    for label, (wall, cpu, min_wall, min_cpu) in (
        ("python -c pass (baseline)", python),
        ('python -c "import app" (baseline)', package),
        ("git diff of the change (baseline)", diff),
        ("countersign analyze, warm cache", warm),
        ("countersign analyze, cold cache", cold),
    ):
        print(
            f"{label:34}{wall * 1000:8.0f} ms {cpu * 1000:9.0f} ms "
            f"{min_wall * 1000:9.0f} ms {min_cpu * 1000:7.0f} ms"
        )
    print(f"warm analyze / python: {warm[0] / python[0]:.1f}x wall, {warm[1] / python[1]:.1f}x CPU")


if __name__ == "__main__":
    main()
