"""An AI model price table whose records keep their prices in a nested map (issue #24 recall).

A faithful re-creation of pydantic/genai-prices' `prices/providers/openai.yml` (MIT) at
810d9d3837 ("Update OpenAI gpt-5.6 family prices"): an `extractors` list beside the `models`
records, prices per million tokens under `prices:`, some as `{base, tiers}`.
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")
PATH = "prices/providers/openai.yml"

BOOK = """name: OpenAI
id: openai
extractors:
  - api_flavor: chat
    root: usage
    mappings:
      - path: prompt_tokens
        dest: input_tokens
models:
  - id: babbage
    match:
      equals: babbage
    prices:
      input_mtok: 0.5
      output_mtok: 0.5

  - id: gpt-5.6-luna
    name: GPT-5.6 Luna
    prices_checked: %(checked)s
    prices:
      input_mtok:
        base: %(input)s
        tiers:
          - start: 272000
            price: %(input_tier)s
      output_mtok:
        base: %(output)s
        tiers:
          - start: 272000
            price: 9
"""
BASE = {"checked": "2026-07-10", "input": "1", "input_tier": "2", "output": "6"}


def _run(**edit: str) -> tuple[list, list]:
    head = {**BASE, **edit}
    diff = FileDiff(path=PATH, base=(BOOK % BASE).encode(), head=(BOOK % head).encode())
    changes = analyze_files([diff], RepoConfig(), [])
    return changes, evaluate_rules(PACK, changes, is_agent=True, author="bot[bot]")


def test_nested_price_cut_is_found_and_every_move_named() -> None:
    changes, findings = _run(input="0.2", input_tier="0.4", output="1.2")
    (change,) = changes
    assert (change.kind, change.address) == ("pricing", "id:gpt-5.6-luna")
    lines = (BOOK % BASE).splitlines()
    assert change.line == lines.index("  - id: gpt-5.6-luna") + 1
    paths = {f.path: (f.before, f.after) for f in change.fields}
    assert paths["prices.input_mtok"] == (1, 0.2)
    assert paths["prices.output_mtok"] == (6, 1.2)
    assert "prices.input_mtok.base" not in paths, "the base price shows once, as the price"
    assert "prices.input_mtok.tiers" in paths, "tier edits stay visible"
    (large,) = [f for f in findings if f.rule == "pricing.large-change"]
    assert large.severity == "high"
    assert "prices.input_mtok 1.00 → 0.20 (-80 %)" in large.message
    assert "prices.output_mtok 6.00 → 1.20 (-80 %)" in large.message


def test_a_checked_date_alone_moves_no_price() -> None:
    changes, findings = _run(checked="2026-07-30")
    assert [c.kind for c in changes] == ["pricing"]
    assert changes[0].facts["max_delta_pct"] is None
    assert not [f for f in findings if f.severity in ("high", "critical")]
