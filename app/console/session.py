"""Console sessions as signed cookies: no server-side store, nothing to clean up.

A cookie is `base64url(JSON) "." base64url(HMAC-SHA256)` under a key derived from
`COUNTERSIGN_CONSOLE_SESSION_SECRET` and the cookie's purpose (a pre-login cookie can never pass
as a session). Each value carries its own expiry; the signature is checked in constant time
before anything is parsed. Sessions hold the login, the teams that let it in, when GitHub last
confirmed them (re-checked every `COUNTERSIGN_CONSOLE_RECHECK_MINUTES`) and a random nonce the
CSRF token derives from.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

SESSION_COOKIE = "countersign_console"
LOGIN_COOKIE = "countersign_console_login"
LOGIN_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Session:
    login: str
    teams: tuple[str, ...]
    issued_at: float
    checked_at: float
    expires_at: float
    nonce: str

    def rechecked(self, teams: tuple[str, ...], now: float) -> Session:
        return replace(self, teams=teams, checked_at=now)


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """What the browser carries between /console/login and /console/callback."""

    state: str
    next_path: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks cookie values for one purpose."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"countersign-console:{purpose}:{secret}".encode()).digest()

    def dumps(self, value: dict[str, Any]) -> str:
        body = _b64(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    def loads(self, cookie: str | None, now: float | None = None) -> dict[str, Any] | None:
        """The value if the signature is right and it has not expired; else None."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 4096:
            return None
        body, mac = cookie.split(".")
        expected = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        try:
            value = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        expires = value.get("expires_at")
        if not isinstance(expires, int | float) or expires <= (now or time.time()):
            return None
        return value

    def key_for(self, label: str) -> bytes:
        """A sub-key (the CSRF token's), never the signing key itself."""
        return hmac.new(self._key, label.encode(), hashlib.sha256).digest()


def new_session(login: str, teams: tuple[str, ...], hours: float, now: float) -> Session:
    return Session(login, teams, now, now, now + hours * 3600, secrets.token_urlsafe(24))


def encode_session(signer: Signer, session: Session) -> str:
    return signer.dumps({**asdict(session), "teams": list(session.teams)})


def decode_session(signer: Signer, cookie: str | None) -> Session | None:
    value = signer.loads(cookie)
    if value is None:
        return None
    try:
        return Session(
            login=str(value["login"]),
            teams=tuple(str(t) for t in value["teams"]),
            issued_at=float(value["issued_at"]),
            checked_at=float(value["checked_at"]),
            expires_at=float(value["expires_at"]),
            nonce=str(value["nonce"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def encode_pending(signer: Signer, pending: PendingLogin) -> str:
    return signer.dumps(asdict(pending))


def decode_pending(signer: Signer, cookie: str | None) -> PendingLogin | None:
    value = signer.loads(cookie)
    if value is None:
        return None
    try:
        return PendingLogin(
            str(value["state"]), str(value["next_path"]), float(value["expires_at"])
        )
    except (KeyError, TypeError, ValueError):
        return None
