"""The risk engine: declarative rules (YAML + CEL) turn semantic changes into findings and a tier.

Pure: no GitHub, HTTP or database. `load_rule_pack` once, then `evaluate` per change set.
"""

from __future__ import annotations

from app.risk.engine import evaluate, evaluate_rules
from app.risk.examples import ExampleResult, run_examples
from app.risk.rules import Rule, RulePack, load_rule_file, load_rule_pack
from app.risk.score import default_tier, risk_summary, score_of, tier_for

__all__ = [
    "ExampleResult",
    "Rule",
    "RulePack",
    "default_tier",
    "evaluate",
    "evaluate_rules",
    "load_rule_file",
    "load_rule_pack",
    "risk_summary",
    "run_examples",
    "score_of",
    "tier_for",
]
