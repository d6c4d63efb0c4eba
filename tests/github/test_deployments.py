"""The deployment protection rule's payload: the run to answer is read from the callback URL, and
only a run of the event's own repository is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from app.github.deployments import ProtectionRuleRequest

API = "https://api.github.com/repos"


def payload(callback: str, **extra: Any) -> dict[str, Any]:
    return {
        "action": "requested",
        "environment": "production",
        "deployment_callback_url": callback,
        "deployment": {"id": 7, "sha": "a" * 40, "ref": "main"},
        **extra,
    }


@pytest.mark.parametrize(
    ("callback", "run_id"),
    [
        (f"{API}/acme/shop/actions/runs/42/deployment_protection_rule", 42),
        (f"{API}/ACME/Shop/actions/runs/42/deployment_protection_rule", 42),
        (f"{API}/acme/other/actions/runs/42/deployment_protection_rule", None),
        (f"{API}/acme/shop/actions/runs/42/pending_deployments", None),
        ("https://evil.example/acme/shop/actions/runs/x/deployment_protection_rule", None),
    ],
)
def test_the_run_is_taken_from_a_callback_of_the_same_repository(
    callback: str, run_id: int | None
) -> None:
    request = ProtectionRuleRequest.of(payload(callback))
    assert request is not None
    assert request.run_id("acme/shop") == run_id


def test_a_payload_without_a_deployment_is_not_a_request() -> None:
    data = payload(f"{API}/acme/shop/actions/runs/42/deployment_protection_rule")
    del data["deployment"]
    assert ProtectionRuleRequest.of(data) is None
