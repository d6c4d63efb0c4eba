"""`make soak` keeps working: the script end to end at a tiny size (no PostgreSQL restart: other
tests share the cluster), and its RSS trend on known samples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from soak_run import RssSampler  # noqa: E402


def test_rss_growth_ignores_warm_up_and_short_lives() -> None:
    sampler = RssSampler.__new__(RssSampler)
    warm = [(float(t), 50.0 + t) for t in range(30)]  # imports: fast growth, not judged
    flat = [(float(t), 150.0) for t in range(30, 130)]
    leak = [(float(t), 150.0 + (t - 30)) for t in range(30, 130)]
    sampler.samples = {"flat": warm + flat, "leak": warm + leak, "killed early": warm[:25]}
    growth = sampler.growth()
    assert set(growth) == {"flat", "leak"}
    assert growth["flat"][0] == 0
    assert growth["leak"][0] > 25


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_soak_runs_end_to_end_at_a_tiny_size(tmp_path: Path) -> None:
    if not os.environ.get("COUNTERSIGN_TEST_DATABASE_URL"):
        pytest.skip("COUNTERSIGN_TEST_DATABASE_URL is not set")
    report = tmp_path / "soak.md"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--deliveries", "12", "--prs", "3",
         "--web", "1", "--workers", "2", "--kill-every", "5", "--no-pg-restart",
         "--drain-seconds", "300", "--report", str(report)],
        capture_output=True, text=True, timeout=540, check=False, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    text = report.read_text()
    assert "all checks passed" in text
    assert "12 deliveries, 1 web + 2 worker processes" in text
