"""Waivers in the scorecards: per agent, per rule, and on the rule class's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.agentops.facts import EvaluationFact, WaiverFact
from app.agentops.scorecard import Window, scorecards

T0 = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(days=30))


def waiver(seq: int, rule: str, *, agent: str = "pricing-bot", days: int = 1) -> WaiverFact:
    return WaiverFact(seq, T0 + timedelta(days=days), agent, "acme/shop", seq, rule)


def test_waivers_count_per_agent_per_rule_and_per_class() -> None:
    facts = [
        EvaluationFact(
            1, T0, "pricing-bot", "acme/shop", 1, "h", "success", False, frozenset({"pricing"})
        ),
        waiver(2, "pricing.large-change"),
        waiver(3, "pricing.large-change"),
        waiver(4, "terraform.delete-stateful"),
        waiver(5, "pricing.large-change", days=40),  # outside the window
        waiver(6, "pricing.large-change", agent="infra-bot"),
    ]
    cards = {(c.agent_id, c.rule_class): c for c in scorecards(facts, WINDOW)}
    agent = cards[("pricing-bot", None)]
    assert agent.waivers == 3
    assert agent.waivers_by_rule == {"pricing.large-change": 2, "terraform.delete-stateful": 1}
    assert cards[("pricing-bot", "pricing")].waivers_by_rule == {"pricing.large-change": 2}
    assert cards[("pricing-bot", "terraform")].waivers == 1  # a class only a waiver names
    assert cards[("infra-bot", None)].waivers == 1
