"""CSRF tokens for console forms: an HMAC of the session's nonce, checked on every POST.

The token is bound to one session (a token from another session or a stale one fails) and is
never stored. SameSite=Lax cookies already stop most cross-site POSTs; the token stops the rest
(same-site subdomains, old browsers). A POST without the right token gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from fastapi import HTTPException, Request

from app.console.session import Session, Signer

FIELD = "csrf_token"


def token_for(signer: Signer, session: Session) -> str:
    return hmac.new(signer.key_for("csrf"), session.nonce.encode(), hashlib.sha256).hexdigest()


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (first value per field), at most 64 KiB."""
    body = await request.body()
    if len(body) > 65536:
        raise HTTPException(413, "form too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def check(form: dict[str, str], signer: Signer, session: Session) -> None:
    """403 unless the form carries this session's token."""
    given = form.get(FIELD, "")
    if not given or not hmac.compare_digest(given.encode(), token_for(signer, session).encode()):
        raise HTTPException(403, "missing or invalid CSRF token: reload the page and try again")
