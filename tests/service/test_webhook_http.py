"""`POST /webhooks/github` and the ops/audit endpoints, over real HTTP (DESIGN.md "HTTP")."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import closing

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
def test_bad_signatures_are_401_counted_and_kept_out_of_the_chain(
    stack: LocalStack, signature: str | None
) -> None:
    """Unsigned requests are anyone's: a metric and a log line, never a permanent chain event."""
    response = post(
        stack, json.dumps(PAYLOAD).encode(), signature=signature, delivery="attacker-chosen-text"
    )
    assert response.status_code == 401
    assert stack.runtime is not None
    assert inbox.queue_depth(stack.runtime.engine) == 0
    from sqlmodel import Session, select

    from app.store.tables import AuditEvent

    with Session(stack.runtime.engine) as session:
        events = session.exec(select(AuditEvent)).all()
    assert not [e for e in events if "attacker-chosen-text" in e.payload]
    assert "delivery_rejected" not in [e.kind for e in events]
    rejected = stack.runtime.metrics.registry.get_sample_value(
        "countersign_deliveries_total", {"event": "unknown", "outcome": "bad_signature"}
    )
    assert rejected == 1


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
    auth = {"Authorization": f"Bearer {stack.metrics_token}"}
    metrics = httpx.get(f"{stack.url}/metrics", headers=auth).text
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


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("until", "9999-12-31"),
        ("until", "9999-12-31T23:00:00-05:00"),
        ("since", "0001-01-01T00:00:00+05:00"),
    ],
)
def test_audit_export_dates_at_the_edges_are_400(
    stack: LocalStack, fmt: str, name: str, value: str
) -> None:
    auth = {"Authorization": f"Bearer {stack.audit_token}"}
    params = {name: value, "format": fmt}
    response = httpx.get(f"{stack.url}/api/audit/merges", params=params, headers=auth)
    assert response.status_code == 400, response.text[:200]
    assert name in response.json()["detail"] and "between" in response.json()["detail"]


@pytest.mark.parametrize(
    "payload",
    [
        {**PAYLOAD, "number": 10**30, "pull_request": {**PAYLOAD["pull_request"], "number": 10**30}},  # type: ignore[dict-item]
        {**PAYLOAD, "number": 2**31, "pull_request": {**PAYLOAD["pull_request"], "number": 2**31}},  # type: ignore[dict-item]
        {**PAYLOAD, "installation": {"id": 10**30}},
    ],
)  # fmt: skip
def test_signed_webhook_with_out_of_range_numbers_is_400(
    stack: LocalStack, payload: dict[str, object]
) -> None:
    response = post(stack, json.dumps(payload).encode())
    assert response.status_code == 400, response.text
    assert "out of range" in response.json()["reason"]


def _slow_request(stack: LocalStack, declared: int = 1000) -> socket.socket:
    """A webhook request whose body never arrives in full (a client holding the connection)."""
    host, port = stack.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    conn.sendall(
        b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: slow\r\n"
        + f"Content-Length: {declared}\r\n\r\n".encode()
        + b'{"action": '
    )
    return conn


def _unverified_reads(stack: LocalStack) -> float:
    assert stack.runtime is not None
    value = stack.runtime.metrics.registry.get_sample_value("countersign_webhook_unverified_reads")
    return value or 0.0


def test_a_slow_unsigned_body_is_cut_off_with_408(db_url: str) -> None:
    with local_stack(db_url, role="web", webhook_read_seconds=0.5) as stack:
        with closing(_slow_request(stack)) as conn:
            answer = conn.recv(4096)  # the server answers without the rest of the body
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        stack.sim.wait_for(lambda: _unverified_reads(stack) == 0, 10, "the read slot freed")


def test_concurrent_unverified_bodies_are_bounded(db_url: str) -> None:
    with local_stack(db_url, role="web", webhook_max_unverified=2) as stack:
        held = [_slow_request(stack), _slow_request(stack)]
        try:
            stack.sim.wait_for(lambda: _unverified_reads(stack) == 2, 10, "two reads in flight")
            busy = post(stack, json.dumps(PAYLOAD).encode(), signature=None)
            assert busy.status_code == 503
            assert busy.headers["retry-after"]
        finally:
            for conn in held:
                conn.close()
        stack.sim.wait_for(lambda: _unverified_reads(stack) == 0, 10, "the read slots freed")
        assert post(stack, json.dumps(PAYLOAD).encode(), signature=None).status_code == 401


def test_metrics_need_their_token_and_api_docs_are_off_by_default(db_url: str) -> None:
    """`/metrics` names agents: served only with COUNTERSIGN_METRICS_TOKEN as a bearer token
    (404 while none is set). `/docs`, `/redoc` and `/openapi.json` need COUNTERSIGN_API_DOCS."""
    with local_stack(db_url, role="web", metrics_token=None, api_docs=False) as stack:
        for path in ("/metrics", "/docs", "/redoc", "/openapi.json"):
            assert httpx.get(f"{stack.url}{path}").status_code == 404, path
    with local_stack(db_url, role="web", migrate=False) as stack:
        url = f"{stack.url}/metrics"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": f"Bearer {stack.metrics_token}"}
        assert "countersign_inbox_queue_depth" in httpx.get(url, headers=auth).text
        assert httpx.get(f"{stack.url}/openapi.json").status_code == 200  # the harness enables it


@pytest.mark.parametrize(
    "path", ["/console/merges/", "/api/audit/merges/", "/healthz/", "//evil.example/"]
)
def test_redirects_never_take_the_host_header(stack: LocalStack, path: str) -> None:
    response = httpx.get(
        f"{stack.url}{path}", headers={"Host": "evil.example"}, follow_redirects=False
    )
    location = response.headers.get("location", "")
    assert "evil.example" not in location, (response.status_code, location)
    if response.is_redirect:
        assert location.startswith("/") and location[1:2] not in ("/", "\\")


def test_audit_api_csv_neutralises_formulas_and_jsonl_keeps_them(stack: LocalStack) -> None:
    from pathlib import Path

    from app.store.audit.records import MergeRecord

    assert stack.runtime is not None
    fixture = Path(__file__).parents[1] / "fixtures" / "audit" / "merge_pricing.json"
    record = MergeRecord.model_validate(
        {**json.loads(fixture.read_text()), "title": "=1+cmd|' /C calc'!A0"}
    )
    append(stack.runtime.engine, "merge", record)
    auth = {"Authorization": f"Bearer {stack.audit_token}"}
    url = f"{stack.url}/api/audit/merges"
    csv_text = httpx.get(url, params={"format": "csv"}, headers=auth).text
    assert ",'=1+cmd|" in csv_text and ",=1+cmd|" not in csv_text
    jsonl = httpx.get(url, headers=auth).text.splitlines()
    assert json.loads(jsonl[1])["title"] == "=1+cmd|' /C calc'!A0"
