"""rapidyaml's C++ error lines stay off `countersign analyze`'s stderr; everything else is kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.stderr_filter import filtered_stderr
from app.core.yaml_fast import is_parser_noise

NOISE = (
    "line=2 col=1 (6B): ERROR: [parse] missing terminating ]\n"
    "/project/cpp/src/c4/yml/parse_engine.def.hpp:5683: (detected here)\n"
    "/project/cpp/src/c4/yml/emit.def.hpp:1372: ERROR: [visit] max depth exceeded\n"
    "/project/cpp/src/c4/yml/emit.def.hpp:1372: ERROR: (node=66 tree=0x55f7e08d4cd0)\n"
)


def test_noise_is_dropped_and_other_lines_kept_in_order(capfd: pytest.CaptureFixture[str]) -> None:
    with filtered_stderr(is_parser_noise):
        os.write(2, b"first\n" + NOISE.encode() + b"second\n")
        os.write(2, b"third\n")
    assert capfd.readouterr().err == "first\nsecond\nthird\n"


def test_a_block_that_raises_still_restores_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    def fail_inside() -> None:
        with filtered_stderr(is_parser_noise):
            os.write(2, b"kept\n" + NOISE.encode())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_inside()
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "kept\nafter\n"


def test_analyze_of_invalid_yaml_prints_no_parser_noise(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.com"}  # fmt: skip

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)

    git("init", "-q", "-b", "main")
    (repo / "README.md").write_text("x\n")
    git("add", "-A")
    git("commit", "-qm", "base")
    (repo / "bad.yaml").write_text("a: [1\n")
    git("add", "-A")
    git("commit", "-qm", "head")
    run = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "analyze", "--repo", str(repo),
         "--base", "HEAD~1", "--head", "HEAD"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "analysis.unparseable" in run.stdout  # the ruamel message reached the report
    assert "ERROR: [parse]" not in run.stderr and "detected here" not in run.stderr
