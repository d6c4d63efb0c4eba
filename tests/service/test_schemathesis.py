"""Property-based API testing with schemathesis against our own `/openapi.json`: no 5xx, and every
response conforms to the documented schema (status codes, content types, bodies).

schemathesis' pytest plugin does not load under pytest 9.2, so each operation's hypothesis
strategy is driven directly (bounded examples per operation).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from app.demo.stack import LocalStack
from tests.examples import examples
from tests.service._agent_tokens import policies_with_tokens, sha256_ref
from tests.stacks import session_key_pair

pytestmark = pytest.mark.e2e
AGENT_TOKEN = "pf_schemathesis_3e7a1c9d5b2f8e4a"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    policies = policies_with_tokens(
        tmp / "policies", {"docs-bot": f'api_tokens: ["{sha256_ref(AGENT_TOKEN)}"]'}
    )
    # A rate high enough that generated cases reach the evaluation, not only the 429.
    with LocalStack(
        f"sqlite:///{tmp / 'api.db'}",
        key_pair=session_key_pair(),
        role="web",
        policies_dir=policies,
        analyze_rate_per_minute=6000,
        analyze_burst=1000,
    ) as s:
        yield s


def operations(stack: LocalStack) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{stack.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_is_covered(stack: LocalStack) -> None:
    paths = {op.path for op in operations(stack)}
    assert {
        "/webhooks/github",
        "/api/analyze",
        "/api/audit/merges",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= paths


def conforms(operation: schemathesis.APIOperation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples(25), deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        # `diff` must be a unified diff, which a JSON schema cannot say: our documented 422 for
        # a schema-valid non-diff is correct, so that one "positive data" check is excluded.
        case.call_and_validate(
            headers=headers, excluded_checks=[schemathesis.checks.positive_data_acceptance]
        )

    check()


@pytest.mark.parametrize("authorized", [False, True], ids=["anonymous", "with-token"])
def test_api_conforms(stack: LocalStack, authorized: bool) -> None:
    for operation in operations(stack):
        # The pre-flight API takes an agent's token; the audit API the audit token.
        token = AGENT_TOKEN if operation.path == "/api/analyze" else stack.audit_token
        conforms(operation, {"Authorization": f"Bearer {token}"} if authorized else {})
