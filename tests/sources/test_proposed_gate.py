"""The gate as proposed: deployed files with the proposal's over them; errors name its files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import RuleLoadError
from app.sources.proposed_gate import load_proposed

ROOT = Path(__file__).resolve().parents[2]


def test_proposed_files_replace_and_remove_deployed_ones() -> None:
    shipped = load_proposed(ROOT / "risk_rules", ROOT / "policies", {})
    assert shipped.rules.get("pricing.change") is not None
    text = (ROOT / "risk_rules" / "pricing.yaml").read_bytes()
    gate = load_proposed(
        ROOT / "risk_rules",
        ROOT / "policies",
        {
            "risk_rules/pricing.yaml": text.replace(
                b"id: pricing.change\n", b"id: pricing.moved\n"
            ),
            "risk_rules/sql.yaml": None,
            "risk_rules/nested/ignored.yaml": b"not: [valid",
            "README.md": b"outside both folders",
        },
    )
    assert gate.rules.get("pricing.change") is None and gate.rules.get("pricing.moved")
    assert not any(r.id.startswith("sql.") for r in gate.rules.rules)
    assert gate.rules.digest != shipped.rules.digest


def test_a_broken_proposed_rule_names_the_proposed_file() -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_proposed(ROOT / "risk_rules", ROOT / "policies", {"risk_rules/new.yaml": b"rules: [1"})
    assert caught.value.file == "risk_rules/new.yaml"
