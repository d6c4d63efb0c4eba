"""A model price table as LLM gateways publish it (issue #24).

A faithful re-creation of BerriAI/litellm's `model_prices_and_context_window.json` shape (MIT)
as a bot republishes it: `{model: record}` with per-token prices, a `sample_spec` record and a
top-level `"last_updated"` scalar beside the records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.config.repo import PathRule, RepoConfig
from app.core.models import Change, FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files
from app.semdiff.pricing.analyzer import analyze

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")
PATH = "model_prices_and_context_window.json"

BASE: dict[str, Any] = {
    "last_updated": "2026-11-30T00:00:00Z",
    "sample_spec": {
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
        "max_tokens": "LEGACY parameter. set to max_output_tokens if provider specifies it.",
    },
    "gemini/gemini-2.0-flash-lite": {
        "input_cost_per_token": 1.5e-07,
        "output_cost_per_token": 6e-07,
        "litellm_provider": "gemini",
        "max_input_tokens": 1048576,
        "mode": "chat",
    },
    "azure_ai/new-model": {
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "litellm_provider": "azure_ai",
        "mode": "chat",
    },
}


def edited(**prices: tuple[str, str, float]) -> dict[str, Any]:
    head = json.loads(json.dumps(BASE))
    head["last_updated"] = "2026-12-01T00:00:00Z"
    for model, field, value in prices.values():
        head[model][field] = value
    return head


def run(head: dict[str, Any], rule: PathRule | None = None) -> list[Change]:
    diff = FileDiff(
        path=PATH,
        base=json.dumps(BASE, indent=4).encode(),
        head=json.dumps(head, indent=4).encode(),
    )
    if rule is not None:
        return analyze(diff, rule)
    return analyze_files([diff], RepoConfig(), [])


def test_a_scalar_beside_the_records_is_a_book_setting() -> None:
    changes = run(edited(a=("gemini/gemini-2.0-flash-lite", "output_cost_per_token", 2.4e-06)))
    assert {c.kind for c in changes} == {"pricing"}
    book = [c for c in changes if c.facts.get("book_settings")]
    assert [(f.path, f.after) for f in book[0].fields] == [("last_updated", "2026-12-01T00:00:00Z")]
    configured = run(edited(), PathRule(kind="pricing"))
    assert [c.address for c in configured] == [PATH]


def test_every_move_of_a_record_is_named_readably() -> None:
    head = edited(
        a=("gemini/gemini-2.0-flash-lite", "input_cost_per_token", 3.75e-08),
        b=("gemini/gemini-2.0-flash-lite", "output_cost_per_token", 2.4e-06),
    )
    (change,) = [c for c in run(head) if c.address == "key:gemini/gemini-2.0-flash-lite"]
    assert change.facts["moves_text"] == (
        "output_cost_per_token 0.60 → 2.40 per 1M tokens (+300 %); "
        "input_cost_per_token 0.15 → 0.0375 per 1M tokens (-75 %)"
    )
    assert [m["delta_pct"] for m in change.facts["moves"]] == [300.0, -75.0]
    assert change.facts["moves"][1]["before"] == "0.00000015"  # exact amounts stay in the facts
    (finding,) = evaluate_rules(PACK, [change], is_agent=True, author="bot[bot]")
    assert finding.rule == "pricing.large-change"
    assert "-75 %" in finding.message and "+300 %" in finding.message


def test_a_price_from_zero_is_a_move() -> None:
    head = edited(a=("azure_ai/new-model", "input_cost_per_token", 2.5e-06))
    (change,) = [c for c in run(head) if c.address == "key:azure_ai/new-model"]
    assert change.facts["moves"] == [
        {"field": "input_cost_per_token", "before": "0.00", "after": "0.0000025", "delta_pct": None}
    ]
    findings = evaluate_rules(PACK, [change], is_agent=True, author="bot[bot]")
    assert [(f.rule, f.severity) for f in findings] == [("pricing.large-change", "high")]
    assert "0.00 → 2.50 per 1M tokens (from 0)" in findings[0].message


def test_a_zero_price_added_to_a_free_model_is_not_non_positive() -> None:
    # AgentOps-AI/tokencost 23b960f95f (MIT): free experimental Gemini models gain a
    # `cache_read_input_token_cost: 0.0`; their prices were 0 and stay 0.
    head = edited(a=("azure_ai/new-model", "cache_read_input_token_cost", 0.0))
    (change,) = [c for c in run(head) if c.address == "key:azure_ai/new-model"]
    assert change.facts["non_positive_moves"] == []
    rules = {f.rule for f in evaluate_rules(PACK, [change], is_agent=True, author="bot[bot]")}
    assert "pricing.non-positive" not in rules


def test_a_price_cut_to_zero_is_non_positive_whichever_field() -> None:
    head = edited(a=("gemini/gemini-2.0-flash-lite", "output_cost_per_token", 0.0))
    (change,) = [c for c in run(head) if c.address == "key:gemini/gemini-2.0-flash-lite"]
    assert change.facts["non_positive_moves"] == ["output_cost_per_token"]
    findings = evaluate_rules(PACK, [change], is_agent=True, author="bot[bot]")
    assert ("pricing.non-positive", "critical") in {(f.rule, f.severity) for f in findings}


def test_a_new_record_at_zero_is_an_addition_not_a_give_away() -> None:
    # tokencost 23b960f95f: `azure_ai/cohere-rerank-v3.5` is billed per query (0.002) with
    # per-token prices of 0.0; 27fc836532: Vertex's free Llama MaaS previews.
    head = edited()
    head["azure_ai/cohere-rerank-v3.5"] = {
        "input_cost_per_token": 0.0,
        "input_cost_per_query": 0.002,
        "output_cost_per_token": 0.0,
        "litellm_provider": "azure_ai",
        "mode": "rerank",
    }
    (change,) = [c for c in run(head) if c.address == "key:azure_ai/cohere-rerank-v3.5"]
    rules = {f.rule for f in evaluate_rules(PACK, [change], is_agent=True, author="bot[bot]")}
    assert rules == {"pricing.record-added"}
