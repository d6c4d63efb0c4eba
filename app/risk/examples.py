"""`countersign rules test`: run every rule's own examples, as a rule author's unit tests.

Each `match` example must match its rule and each `no_match` example must not. Only the rule
itself is tested (its `match` and `when`), not supersession or fallback order, so an example
says what the rule recognises, independently of the rest of the pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.risk.celenv import WhenError, pr_view
from app.risk.engine import LazyContext, match_rule
from app.risk.rules import RulePack

Outcome = Literal["match", "no_match", "error"]


@dataclass(frozen=True)
class ExampleResult:
    rule: str
    index: int
    expected: Outcome
    actual: Outcome
    ok: bool
    error: str | None = None


def run_examples(pack: RulePack) -> list[ExampleResult]:
    results: list[ExampleResult] = []
    for rule in pack.rules:
        for example in rule.examples:
            expected: Outcome = "match" if example.expected else "no_match"
            context = LazyContext(example.change, pr_view(example.pr.is_agent, example.pr.author))
            try:
                matched, _ = match_rule(rule, example.change, context)
            except WhenError as exc:
                results.append(
                    ExampleResult(rule.id, example.index, expected, "error", False, str(exc))
                )
                continue
            actual: Outcome = "match" if matched else "no_match"
            results.append(
                ExampleResult(rule.id, example.index, expected, actual, actual == expected)
            )
    return results
