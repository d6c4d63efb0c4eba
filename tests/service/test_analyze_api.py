"""`POST /api/analyze` over real HTTP: only registered agents' tokens, capped, rate-limited, bounded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing

from app.demo.stack import LocalStack
from tests.service._agent_tokens import policies_with_tokens, sha256_ref
from tests.stacks import session_key_pair

pytestmark = pytest.mark.e2e

PRICING = "pf_pricing_5d1e0f7a9b3c4d2e8f6a1b0c"
DOCS = "pf_docs_0a9b8c7d6e5f4a3b2c1d0e9f"
BEFORE = '{"plans": [{"sku": "pro", "price": 49.0}]}\n'
AFTER = '{"plans": [{"sku": "pro", "price": 29.4}]}\n'
PRICE_CUT = {
    "diff": f"--- a/catalog/plans.json\n+++ b/catalog/plans.json\n@@ -1 +1 @@\n-{BEFORE}+{AFTER}",
    "files": {"catalog/plans.json": {"base": BEFORE, "head": AFTER}},
    "repo": "acme/shop",
    "body": "Cut the pro plan price.\n\nAgent-Run-Id: run_7f3a",
}


def new_files(count: int, *, lines: int = 1) -> str:
    return "".join(
        f"--- /dev/null\n+++ b/docs/page{i}.md\n@@ -0,0 +1,{lines} @@\n"
        + "".join(f"+line {n}\n" for n in range(lines))
        for i in range(count)
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("analyze")
    policies = policies_with_tokens(
        tmp / "policies",
        {
            "pricing-bot": f'api_tokens: ["{sha256_ref(PRICING)}"]',
            "docs-bot": f'api_tokens: ["{sha256_ref(DOCS)}"]\n'
            "api_rate_limit: {per_minute: 0.5, burst: 2}",
        },
    )
    with LocalStack(
        f"sqlite:///{tmp / 'api.db'}",
        key_pair=session_key_pair(),
        role="web",
        policies_dir=policies,
        log_level="INFO",  # analyze.call lines are INFO
        analyze_max_bytes=64 * 1024,
        analyze_max_files=5,
        analyze_rate_per_minute=600,
        analyze_burst=100,
    ) as s:
        yield s


def analyze(stack: LocalStack, token: str | None, **kwargs: Any) -> httpx.Response:
    headers = bearer(token) if token else {}
    headers.update(kwargs.pop("headers", {}))
    return httpx.post(f"{stack.url}/api/analyze", headers=headers, timeout=60, **kwargs)


def test_the_token_decides_the_agent(stack: LocalStack) -> None:
    response = analyze(stack, PRICING, json=PRICE_CUT)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["schema_version"] == 1
    assert report["agent"]["id"] == "pricing-bot"
    assert report["agent"]["author"] == "pricing-bot[bot]"
    assert report["agent"]["run_id"] == "run_7f3a"
    assert report["changes"][0]["facts"]["price_delta_pct"] == -40.0
    assert report["tier"] == 2
    same = analyze(stack, PRICING, json={**PRICE_CUT, "author": "pricing-bot[bot]"})
    assert same.status_code == 200 and same.json()["agent"]["id"] == "pricing-bot"


def test_a_token_cannot_claim_another_agent(stack: LocalStack) -> None:
    response = analyze(stack, PRICING, json={**PRICE_CUT, "author": "infra-bot[bot]"})
    assert response.status_code == 403
    assert "belongs to agent 'pricing-bot'" in response.json()["detail"]
    human = analyze(stack, PRICING, json={**PRICE_CUT, "author": "alice"})
    assert human.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("pf_wrong_0000000000000000000000"),
        bearer(PRICING + "x"),
        {"Authorization": f"Basic {PRICING}"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "wrong", "extended", "basic-scheme", "empty"],
)
def test_missing_or_wrong_token_is_401(stack: LocalStack, headers: dict[str, str]) -> None:
    response = analyze(stack, None, json=PRICE_CUT, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "agent token" in response.json()["detail"]


def test_oversized_body_is_413_by_length_and_while_streaming(stack: LocalStack) -> None:
    big = json.dumps({"diff": new_files(1, lines=20_000)}).encode()
    assert len(big) > 64 * 1024
    declared = analyze(stack, PRICING, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert "COUNTERSIGN_ANALYZE_MAX_BYTES" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = analyze(stack, PRICING, content=chunks())
    assert streamed.status_code == 413


def test_too_many_files_is_413_with_the_setting_named(stack: LocalStack) -> None:
    in_diff = analyze(stack, PRICING, json={"diff": new_files(6)})
    assert in_diff.status_code == 413
    assert "the diff changes 6 files, over 5" in in_diff.json()["detail"]
    listed = {f"docs/f{i}.md": {"head": "x\n"} for i in range(6)}
    in_files = analyze(stack, PRICING, json={"diff": new_files(1), "files": listed})
    assert in_files.status_code == 413
    assert "COUNTERSIGN_ANALYZE_MAX_FILES" in in_files.json()["detail"]
    assert analyze(stack, PRICING, json={"diff": new_files(5)}).status_code == 200


def test_bad_bodies_are_400_and_422(stack: LocalStack) -> None:
    not_json = analyze(stack, PRICING, content=b"{nope", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400
    nested = analyze(stack, PRICING, content=b"[" * 20_000 + b"]" * 20_000)
    assert nested.status_code == 400 and "nested" in nested.json()["detail"]
    bad_utf8 = analyze(stack, PRICING, content=b'{"diff": "\xff\xfe"}')
    assert bad_utf8.status_code == 400
    no_diff = analyze(stack, PRICING, json={"files": {}})
    assert no_diff.status_code == 422 and "diff" in no_diff.json()["detail"]
    assert analyze(stack, PRICING, json={"diff": "not a diff"}).status_code == 422


def test_over_the_agents_rate_is_429_with_retry_after(stack: LocalStack) -> None:
    # docs-bot: burst 2, then one call every 120 s (its api_rate_limit in agents.yaml).
    statuses = [analyze(stack, DOCS, json={"diff": new_files(1)}).status_code for _ in range(2)]
    assert statuses == [200, 200]
    refused = analyze(stack, DOCS, json={"diff": new_files(1)})
    assert refused.status_code == 429
    assert re.fullmatch(r"\d+", refused.headers["retry-after"])
    assert 60 <= int(refused.headers["retry-after"]) <= 120
    assert "docs-bot" in refused.json()["detail"]
    # Another agent's token has its own bucket.
    assert analyze(stack, PRICING, json={"diff": new_files(1)}).status_code == 200


def test_each_call_is_counted_by_agent_and_outcome(stack: LocalStack) -> None:
    with structlog.testing.capture_logs() as logs:
        analyze(stack, None, json=PRICE_CUT)
        analyze(stack, PRICING, json=PRICE_CUT)
    calls = [e for e in logs if e["event"] == "analyze.call"]
    assert [(c["agent"], c["outcome"], c["status"]) for c in calls] == [
        ("-", "unauthorized", 401),
        ("pricing-bot", "ok", 200),
    ]
    assert re.fullmatch(r"[0-9a-f]{12}", calls[1]["fingerprint"])
    assert calls[1]["bytes"] > 0 and PRICING not in str(calls)
    metrics = httpx.get(f"{stack.url}/metrics", timeout=30).text
    counted = {
        (m["agent"], m["outcome"]): float(m["n"])
        for m in re.finditer(
            r'countersign_analyze_requests_total\{agent="(?P<agent>[^"]+)",'
            r'outcome="(?P<outcome>[^"]+)"\} (?P<n>[\d.]+)',
            metrics,
        )
    }
    assert counted[("-", "unauthorized")] >= 1
    assert counted[("pricing-bot", "ok")] >= 1


def slow_terraform(resources: int) -> dict[str, Any]:
    """Many resources in one new module: evaluation time grows with them (slow by construction)."""
    head = "".join(
        f'resource "aws_s3_bucket" "logs_{i}" {{\n  bucket = "acme-logs-{i}"\n'
        f'  tags = {{ team = "platform", index = "{i}" }}\n}}\n'
        for i in range(resources)
    )
    lines = head.splitlines()
    diff = f"--- /dev/null\n+++ b/infra/logs.tf\n@@ -0,0 +1,{len(lines)} @@\n" + "".join(
        f"+{line}\n" for line in lines
    )
    return {"diff": diff, "files": {"infra/logs.tf": {"head": head}}, "repo": "acme/infra"}


def test_an_evaluation_past_the_deadline_is_503_with_retry_after(tmp_path: Path) -> None:
    token = "pf_infra_7c2d9e4f1a6b3c8d0e5f2a7b"
    policies = policies_with_tokens(
        tmp_path / "policies", {"infra-bot": f'api_tokens: ["{sha256_ref(token)}"]'}
    )
    with LocalStack(
        f"sqlite:///{tmp_path / 'api.db'}",
        key_pair=session_key_pair(),
        role="web",
        policies_dir=policies,
        analyze_deadline_seconds=0.01,
        analyze_concurrency=1,
    ) as stack:
        # ~300 resources take hundreds of milliseconds to evaluate: far past a 10 ms deadline.
        response = analyze(stack, token, json=slow_terraform(300))
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert "did not finish within 0.01 s" in response.json()["detail"]
        assert stack.runtime is not None and stack.runtime.analyze_guard is not None
        runner = stack.runtime.analyze_guard.runner
        assert runner.in_flight <= 1
        stack.sim.wait_for(lambda: runner.in_flight == 0, 60, "the overrunning evaluation to end")
