"""`countersign --version`: the package version and the git revision it was built from.

An image records its revision at build time (`REVISION` build arg → `COUNTERSIGN_REVISION`), so
a running container can say which commit it is without a `.git`. A source checkout asks git; a
wheel installed anywhere else says "unknown" rather than guessing.
"""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

REVISION_ENV = "COUNTERSIGN_REVISION"


def package_version() -> str:
    """The installed distribution's version (pyproject's `version`)."""
    try:
        return metadata.version("countersign")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_revision() -> str:
    """The git revision: the image's build arg, else the checkout this code runs from."""
    recorded = os.environ.get(REVISION_ENV, "").strip()
    if recorded and recorded != "unknown":
        return recorded
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / ".git").exists():
        return "unknown"
    try:
        done = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def version_line() -> str:
    """What `countersign --version` prints."""
    return f"countersign {package_version()} (revision {build_revision()})"
