"""`POST /webhooks/github` and the ops/audit endpoints, over real HTTP (DESIGN.md "HTTP")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.demo.stack import LocalStack
from app.github.webhooks import sign
from app.store import inbox
from app.store.audit.store import append
from tests.stacks import fresh, local_stack

PAYLOAD = {
    "action": "opened",
    "number": 1,
    "pull_request": {"number": 1, "head": {"sha": "a" * 40}, "state": "open"},
    "repository": {"full_name": "acme/platform", "id": 1},
    "installation": {"id": 999},
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url, role="web") as s:  # no worker: we look at what was stored
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, processed=False)


def post(
    stack: LocalStack,
    body: bytes,
    *,
    event: str = "pull_request",
    delivery: str | None = None,
    signature: str | None = "auto",
    content_type: str = "application/json",
) -> httpx.Response:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "Content-Type": content_type,
    }
    if signature == "auto":
        headers["X-Hub-Signature-256"] = sign(stack.webhook_secret, body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(f"{stack.url}/webhooks/github", content=body, headers=headers, timeout=30)


def test_accepts_and_stores_once(stack: LocalStack) -> None:
    body = json.dumps(PAYLOAD).encode()
    delivery = str(uuid.uuid4())
    first = post(stack, body, delivery=delivery)
    assert (first.status_code, first.json()["outcome"]) == (202, "accepted")
    again = post(stack, body, delivery=delivery)
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert stack.runtime is not None
    stored = inbox.get_delivery(stack.runtime.engine, delivery)
    assert stored is not None and stored.repo == "acme/platform" and stored.pr_number == 1
    assert inbox.queue_depth(stack.runtime.engine) == 1


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha1=0123", "sha256=" + "0" * 64, "sha256=nothex"],
)
def test_bad_signatures_are_401_and_recorded(stack: LocalStack, signature: str | None) -> None:
    response = post(stack, json.dumps(PAYLOAD).encode(), signature=signature)
    assert response.status_code == 401
    assert stack.runtime is not None
    assert inbox.queue_depth(stack.runtime.engine) == 0
    from sqlmodel import Session, select

    from app.store.tables import AuditEvent

    with Session(stack.runtime.engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert "delivery_rejected" in kinds


def test_signature_for_another_secret_is_rejected(stack: LocalStack) -> None:
    body = json.dumps(PAYLOAD).encode()
    assert post(stack, body, signature=sign("not-the-secret", body)).status_code == 401


def test_non_json_and_wrong_content_type_are_400(stack: LocalStack) -> None:
    assert post(stack, b"{not json").status_code == 400
    form = b"payload=" + json.dumps(PAYLOAD).encode()
    assert post(stack, form, content_type="application/x-www-form-urlencoded").status_code == 400
    assert post(stack, "\udcff".encode("utf-8", "surrogatepass")).status_code == 400


def test_deeply_nested_json_is_400_not_500(stack: LocalStack) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    assert post(stack, body).status_code == 400


def test_oversized_body_is_413(stack: LocalStack) -> None:
    body = b'{"a": "' + b"x" * (25 * 1024 * 1024 + 10) + b'"}'
    assert post(stack, body, signature="sha256=" + "0" * 64).status_code == 413


def test_unknown_event_is_202_ignored(stack: LocalStack) -> None:
    response = post(stack, b'{"action": "created"}', event="star")
    assert (response.status_code, response.json()["outcome"]) == (202, "ignored")
    assert stack.runtime is not None
    assert inbox.queue_depth(stack.runtime.engine) == 0


def test_missing_delivery_header_is_400(stack: LocalStack) -> None:
    body = json.dumps(PAYLOAD).encode()
    response = httpx.post(
        f"{stack.url}/webhooks/github",
        content=body,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-Hub-Signature-256": sign(stack.webhook_secret, body),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400


def test_database_down_is_503(stack: LocalStack) -> None:
    from app.store.db import make_engine

    assert stack.runtime is not None
    healthy = stack.runtime.engine
    stack.runtime.engine = make_engine(
        "postgresql+psycopg://nobody:x@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    try:
        response = post(stack, json.dumps(PAYLOAD).encode())
        assert response.status_code == 503
        assert httpx.get(f"{stack.url}/readyz").status_code == 503
    finally:
        stack.runtime.engine = healthy
    assert httpx.get(f"{stack.url}/readyz").status_code == 200


def test_health_metrics_and_openapi(stack: LocalStack) -> None:
    assert httpx.get(f"{stack.url}/healthz").json() == {"status": "ok"}
    post(stack, json.dumps(PAYLOAD).encode())
    metrics = httpx.get(f"{stack.url}/metrics").text
    assert 'countersign_deliveries_total{event="pull_request",outcome="accepted"} 1.0' in metrics
    assert "countersign_inbox_queue_depth 1.0" in metrics
    spec = httpx.get(f"{stack.url}/openapi.json").json()
    assert {"/webhooks/github", "/api/analyze", "/api/audit/merges", "/api/audit/verify"} <= set(
        spec["paths"]
    )


def test_audit_api_needs_the_token_and_never_returns_secrets(stack: LocalStack) -> None:
    assert stack.runtime is not None
    append(
        stack.runtime.engine,
        "evaluation",
        {
            "report": {"fields": [{"path": "db_password", "before": None, "after": "hunter2"}]},
            "db_password": "hunter2",
        },
        repo="acme/platform",
        pr_number=1,
    )
    url = f"{stack.url}/api/audit/merges"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert (
        httpx.get(url, headers={"Authorization": f"Basic {stack.audit_token}"}).status_code == 401
    )
    auth = {"Authorization": f"Bearer {stack.audit_token}"}
    assert httpx.get(url, headers=auth).status_code == 200
    assert (
        httpx.get(url + "?format=csv", headers=auth).headers["content-type"].startswith("text/csv")
    )
    verify = httpx.get(f"{stack.url}/api/audit/verify", headers=auth).json()
    assert verify["ok"] is True
    report = httpx.get(f"{stack.url}/api/reports/acme/platform/1", headers=auth)
    assert report.status_code == 200
    assert "hunter2" not in report.text


def test_analyze_api_is_closed_when_no_agent_declares_a_token(stack: LocalStack) -> None:
    # The shipped registry declares no api_tokens: the pre-flight door is shut to everyone
    # (the full behaviour with tokens is in test_analyze_api.py).
    response = httpx.post(
        f"{stack.url}/api/analyze",
        json={"diff": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"},
        headers={"Authorization": f"Bearer {stack.audit_token}"},
        timeout=30,
    )
    assert response.status_code == 401
