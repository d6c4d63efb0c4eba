"""`countersign analyze` reads its two folders without building `Settings`; both must agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.settings import Settings
from app.config.shipped import gate_dir, shipped_dir


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"COUNTERSIGN_RULES_DIR": "/srv/rules", "COUNTERSIGN_POLICIES_DIR": "/srv/policies"},
        {"countersign_rules_dir": "/srv/lower"},
        {"COUNTERSIGN_POLICIES_DIR": ""},
    ],
)
def test_gate_dirs_match_the_settings(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("COUNTERSIGN_RULES_DIR", "COUNTERSIGN_POLICIES_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert gate_dir("rules_dir") == settings.rules_dir
    assert gate_dir("policies_dir") == settings.policies_dir


def test_unset_means_the_shipped_folders() -> None:
    assert gate_dir("rules_dir", {}) == shipped_dir("risk_rules")
    assert (gate_dir("policies_dir", {}) / "agents.yaml").is_file()
    assert gate_dir("rules_dir", {"COUNTERSIGN_RULES_DIR": "x"}) == Path("x")
