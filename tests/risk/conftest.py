"""Shared pieces for the risk tests: the shipped pack, realistic change sets, rule-file writers."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.models import Change
from app.risk import RulePack, load_rule_pack

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "risk_rules"
FIXTURES = ROOT / "tests" / "fixtures" / "risk"


@pytest.fixture(scope="session")
def default_pack() -> RulePack:
    return load_rule_pack(RULES_DIR)


@pytest.fixture
def change_set() -> Callable[[str], tuple[list[Change], dict[str, Any]]]:
    """A fixture file's changes (validated as Change) and its PR metadata."""

    def load(name: str) -> tuple[list[Change], dict[str, Any]]:
        data = json.loads((FIXTURES / name).read_text())
        changes = [Change.model_validate(c) for c in data["changes"]]
        return changes, {"is_agent": data["is_agent"], "author": data["author"]}

    return load


@pytest.fixture
def rule_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a rule file (dedented) into a fresh rules folder and return the file's path."""

    def write(text: str, name: str = "custom.yaml") -> Path:
        path = tmp_path / "rules" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write
