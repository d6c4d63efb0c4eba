"""`POST /webhooks/github`: verify, store in the durable inbox, acknowledge within milliseconds.

Nothing is evaluated here: the delivery is persisted (deduplicated by X-GitHub-Delivery) and a
worker picks it up, so a slow GitHub or a crash never loses a webhook. Answers per docs/adr/0006-webhook-ingest.md:
bad signature 401, non-JSON 400, over 25 MiB 413, duplicate 200, unknown event 202, database
down 503.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from app.core.errors import DatabaseNotReady, SignatureInvalid
from app.github.webhooks import HANDLED_EVENTS, parse_payload, verify_signature
from app.runtime.context import Runtime
from app.runtime.logging import log

MAX_BODY = 25 * 1024 * 1024
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_EVENT = re.compile(r"^[a-z_]{1,64}$")

router = APIRouter()


def _answer(status: int, outcome: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"outcome": outcome, **extra}, status_code=status)


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None when it exceeds MAX_BODY (stop reading early)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Duplicate delivery: acknowledged, not processed again"},
    400: {"description": "Missing headers, wrong content type or invalid JSON"},
    401: {"description": "Missing or invalid X-Hub-Signature-256"},
    413: {"description": "Body over 25 MiB"},
    503: {"description": "Database unavailable: GitHub will redeliver"},
}


@router.post(
    "/webhooks/github",
    status_code=202,
    tags=["webhooks"],
    responses=_ANSWERS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_webhook(request: Request) -> JSONResponse:
    """Receive a GitHub webhook delivery."""
    rt: Runtime = request.app.state.runtime
    event = request.headers.get("x-github-event", "")
    delivery_id = request.headers.get("x-github-delivery", "")
    body = await _read_body(request)
    if body is None:
        rt.metrics.deliveries.labels(event=event[:32] or "unknown", outcome="too_large").inc()
        return _answer(413, "rejected", reason=f"body over {MAX_BODY} bytes")
    try:
        verify_signature(rt.webhook_secret, body, request.headers.get("x-hub-signature-256"))
    except SignatureInvalid as error:
        rt.metrics.deliveries.labels(event="unknown", outcome="bad_signature").inc()
        log.warning("webhook.rejected", reason=str(error), delivery=delivery_id[:64])
        if rt.allow_rejection_record():
            await run_in_threadpool(_record_rejection, rt, delivery_id[:64], event[:64], str(error))
        return _answer(401, "rejected", reason="invalid signature")
    if not _EVENT.match(event) or not _DELIVERY_ID.match(delivery_id):
        return _answer(400, "rejected", reason="missing X-GitHub-Event or X-GitHub-Delivery")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return _answer(400, "rejected", reason="content type must be application/json")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _answer(400, "rejected", reason="body is not valid JSON")
    if event not in HANDLED_EVENTS:
        rt.metrics.deliveries.labels(event="other", outcome="ignored").inc()
        return _answer(202, "ignored", reason=f"event {event!r} is not handled")
    payload = parse_payload(data)
    try:
        stored = await run_in_threadpool(_store, rt, delivery_id, event, payload, body)
    except (DatabaseNotReady, sa_exc.OperationalError, sa_exc.InterfaceError) as error:
        log.error("webhook.store_failed", delivery=delivery_id, error=str(error)[:300])
        rt.metrics.deliveries.labels(event=event, outcome="db_unavailable").inc()
        return _answer(503, "unavailable", reason="database unavailable; GitHub will redeliver")
    if not stored:
        rt.metrics.deliveries.labels(event=event, outcome="duplicate").inc()
        return _answer(200, "duplicate", delivery=delivery_id)
    rt.metrics.deliveries.labels(event=event, outcome="accepted").inc()
    rt.wake.set()
    return _answer(202, "accepted", delivery=delivery_id)


def _store(rt: Runtime, delivery_id: str, event: str, payload: Any, body: bytes) -> bool:
    from app.store import inbox

    return inbox.store_delivery(
        rt.engine,
        delivery_id=delivery_id,
        event=event,
        action=payload.action,
        installation_id=payload.installation.id if payload.installation else None,
        repo=payload.repository.full_name if payload.repository else None,
        pr_number=(payload.pr_numbers() or [None])[0],
        head_sha=payload.head_sha(),
        payload=body,
    )


def _record_rejection(rt: Runtime, delivery_id: str, event: str, reason: str) -> None:
    from app.store.audit import store

    try:
        store.append(
            rt.engine,
            "delivery_rejected",
            {"delivery_id": delivery_id, "event": event, "reason": reason},
        )
    except Exception as error:  # best effort: the 401 stands either way
        log.warning("audit.rejection_not_recorded", error=str(error)[:200])
