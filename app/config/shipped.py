"""The folders that travel with the package, and the two settings that point elsewhere.

`countersign analyze` needs only `COUNTERSIGN_RULES_DIR` and `COUNTERSIGN_POLICIES_DIR`. Building
the deployment `Settings` for them imported pydantic-settings, about a quarter of the command's
start-up, so `gate_dir` reads the one variable the way pydantic-settings does (the prefixed name
in any letter case, unset meaning the shipped folder); `Settings` uses the same defaults, and a
test holds the two to the same answers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

PACKAGE_DIR = Path(__file__).resolve().parents[1]
ENV_PREFIX = "COUNTERSIGN_"
SHIPPED = {"rules_dir": "risk_rules", "policies_dir": "policies"}


def shipped_dir(name: str) -> Path:
    """A folder that travels with the package: the repo checkout (editable) or the wheel copy."""
    wheel_copy = PACKAGE_DIR / "_shipped" / name
    if wheel_copy.exists():
        return wheel_copy
    return PACKAGE_DIR.parent / name


def gate_dir(
    setting: Literal["rules_dir", "policies_dir"], environ: Mapping[str, str] | None = None
) -> Path:
    """`COUNTERSIGN_RULES_DIR` / `COUNTERSIGN_POLICIES_DIR` (any case), else the shipped folder."""
    wanted = (ENV_PREFIX + setting).lower()
    found = None
    for name, value in (os.environ if environ is None else environ).items():
        if name.lower() == wanted:
            found = value  # the last one wins, as in pydantic-settings
    return Path(found) if found is not None else shipped_dir(SHIPPED[setting])
