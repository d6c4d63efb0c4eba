"""Cedar decisions and the whole "rules + policy" step for a 1,000-change report.

(a) µs per `propose` decision with pre-parsed PolicySet/Schema/Entities (ours) vs passing the raw
policy, schema and entity strings to cedarpy on every call (baseline), same requests, same run.
(b) rules + summary + Cedar for a 1,000-change report (target ≤ 200 ms).
Usage: `python bench/policy.py`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cedarpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.config.settings import shipped_dir
from app.policy import PolicyEngine, ProposeSummary, summarize
from app.risk import evaluate_rules, load_rule_pack


def per_decision(engine: PolicyEngine, n: int = 2000) -> dict[str, float]:
    summary = ProposeSummary(
        kinds=frozenset({"terraform"}),
        ops=frozenset({"update"}),
        max_severity="low",
        change_count=3,
    )
    t0 = time.perf_counter()
    for _ in range(n):
        engine.decide_propose("infra-bot", "acme/infra", summary)
    ours = (time.perf_counter() - t0) / n * 1e6
    entities = json.loads(str(engine.entities))
    request: dict[str, Any] = {
        "principal": {"type": "Agent", "id": "infra-bot"},
        "action": {"type": "Action", "id": "propose"},
        "resource": {"type": "Repository", "id": "acme/infra"},
        "context": summary.context(repo_allowed=True),
    }
    m = max(200, n // 10)
    t0 = time.perf_counter()
    for _ in range(m):
        cedarpy.is_authorized(request, engine._policy_text, entities, engine._schema_text)
    raw = (time.perf_counter() - t0) / m * 1e6
    return {"ours_us": ours, "raw_strings_us": raw}


def report_step(engine: PolicyEngine) -> dict[str, float]:
    from risk import changes as make_changes  # type: ignore[import-not-found]

    pack = load_rule_pack(shipped_dir("risk_rules"))
    changes = make_changes(1000)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        findings = evaluate_rules(pack, changes, is_agent=True, author="infra-bot[bot]")
        engine.decide_propose("infra-bot", "acme/infra", summarize(changes, findings))
        times.append(time.perf_counter() - t0)
    return {"rules_plus_policy_ms": statistics.median(times) * 1000, "changes": len(changes)}


def run() -> dict[str, float]:
    engine = PolicyEngine.load(shipped_dir("policies"))
    out = per_decision(engine)
    try:
        out.update(report_step(engine))
    except ImportError as error:  # bench/risk.py provides the change generator
        out["report_error"] = str(error)  # type: ignore[assignment]
    return out


if __name__ == "__main__":
    res = run()
    print(f"propose decision, pre-parsed (ours): {res['ours_us']:8.1f} µs")
    print(f"propose decision, raw strings:       {res['raw_strings_us']:8.1f} µs")
    print(f"ratio raw/ours:                      {res['raw_strings_us'] / res['ours_us']:8.1f}x")
    if "rules_plus_policy_ms" in res:
        print(f"1,000-change report, rules + policy: {res['rules_plus_policy_ms']:8.1f} ms")
