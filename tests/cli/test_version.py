"""`countersign --version` names the version and the revision it was built from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "app.cli.main", "--version"]
ROOT = Path(__file__).resolve().parents[2]


def run(env: dict[str, str]) -> str:
    done = subprocess.run(CLI, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return done.stdout.strip()


def test_the_image_revision_wins() -> None:
    env = {**os.environ, "COUNTERSIGN_REVISION": "0123abcd"}
    assert run(env) == "countersign 0.1.0 (revision 0123abcd)"


def test_a_checkout_names_its_git_head() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COUNTERSIGN_REVISION"}
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert run(env) == f"countersign 0.1.0 (revision {head})"
