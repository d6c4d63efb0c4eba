"""A webhook delivery on the wire: the body and the headers GitHub sends with it, signed."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

from app.sim.state import AppIdentity

if TYPE_CHECKING:
    from app.sim.webhooks import Outgoing

HOOK_ID = 424242
USER_AGENT = "GitHub-Hookshot/sim"


def request_for(
    item: Outgoing, app: AppIdentity | None, body: bytes | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers GitHub sends for one delivery (`body`: a redelivery's stored bytes)."""
    raw = body if body is not None else json.dumps(item.payload).encode()
    headers = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Event": item.event,
        "X-GitHub-Delivery": item.guid,
        "X-GitHub-Hook-ID": str(HOOK_ID),
        "X-GitHub-Hook-Installation-Target-ID": str(app.id if app else 0),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        **signature_headers(app.webhook_secret if app else "", raw),
    }
    return raw, headers


def signature_headers(secret: str, body: bytes) -> dict[str, str]:
    key = secret.encode()
    return {
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }
