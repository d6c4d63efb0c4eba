"""Run every request fixture in ALLOW/ and DENY/ (cedar-examples layout) through our engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config.settings import shipped_dir
from app.policy import ApprovalSubject, PolicyEngine, ProposeSummary

HERE = Path(__file__).parent
CASES = sorted((HERE / "ALLOW").glob("*.json")) + sorted((HERE / "DENY").glob("*.json"))


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load(shipped_dir("policies"))


def decide(engine: PolicyEngine, case: dict[str, object]) -> tuple[bool, tuple[str, ...]]:
    if case["action"] == "propose":
        s = dict(case["summary"])  # type: ignore[call-overload]
        summary = ProposeSummary(
            kinds=frozenset(s.get("kinds", [])),
            ops=frozenset(s.get("ops", [])),
            max_severity=s.get("max_severity", "info"),
            max_price_delta_pct=float(s.get("max_price_delta_pct", 0.0)),
            environments=frozenset(s.get("environments", [])),
            touches_governance=bool(s.get("touches_governance", False)),
            deletes=bool(s.get("deletes", False)),
            change_count=1,
        )
        result = engine.decide_propose(str(case["agent"]), str(case["repo"]), summary)
        assert result.errors == ()
        return result.decision == "allow", result.reasons
    pr = ApprovalSubject(**case["pr"])  # type: ignore[arg-type]
    return engine.may_approve(str(case["login"]), is_bot=bool(case["is_bot"]), pr=pr)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(engine: PolicyEngine, path: Path) -> None:
    case = json.loads(path.read_text())
    allowed, reasons = decide(engine, case)
    assert allowed is (path.parent.name == "ALLOW"), reasons
    for reason in case.get("reasons", []):
        assert reason in reasons


def test_every_scenario_folder_is_populated() -> None:
    assert len(list((HERE / "ALLOW").glob("*.json"))) >= 6
    assert len(list((HERE / "DENY").glob("*.json"))) >= 6
