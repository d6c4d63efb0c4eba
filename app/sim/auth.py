"""GitHub App authentication as GitHub checks it: the App JWT and installation tokens.

The App JWT must be RS256-signed with the App's private key (we hold its public key), carry
`iss` = the App id, and expire at most 10 minutes ahead (GitHub refuses longer ones; githubkit
back-dates `iat` by a minute, so that is what a correct client sends). Installation tokens are
opaque `ghs_` strings valid for one hour unless the test shortens them; each carries the
permissions it was issued with (the installation's, or fewer when the request asked for fewer).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MAX_JWT_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = timedelta(seconds=30)


class AuthFailure(Exception):
    """The request's credentials are missing, malformed, wrong or expired (HTTP 401)."""


def bearer(header: str | None) -> str:
    """The credential of `Authorization: Bearer x` / `token x`; AuthFailure when absent."""
    if not header:
        raise AuthFailure("Requires authentication")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in {"bearer", "token"} or not value.strip():
        raise AuthFailure(f"unsupported Authorization scheme {scheme!r}")
    return value.strip()


def verify_app_jwt(token: str, *, public_key_pem: str, app_id: int, now: datetime) -> None:
    """Raise AuthFailure unless `token` is a valid, current JWT of this App."""
    try:
        claims = jwt.decode(
            token,
            public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["iss", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthFailure(
            f"A JSON web token could not be decoded ({exc}); sign it with the App's private key"
        ) from exc
    if str(claims["iss"]) != str(app_id):
        raise AuthFailure(f"'Issuer' claim ('iss') must be the App id {app_id}")
    exp = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    iat = datetime.fromtimestamp(int(claims["iat"]), tz=now.tzinfo)
    if exp <= now:
        raise AuthFailure("'Expiration time' claim ('exp') is in the past")
    if exp > now + MAX_JWT_LIFETIME + CLOCK_SKEW:
        raise AuthFailure("'Expiration time' claim ('exp') is too far in the future (max 10 min)")
    if iat > now + CLOCK_SKEW:
        raise AuthFailure("'Issued at' claim ('iat') must be an Integer representing the past")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    installation_id: int
    expires_at: datetime
    permissions: dict[str, str] | None = None
    """What the token may do; None: whatever its installation grants."""


class TokenStore:
    """Installation tokens handed out so far (thread-safe: the API runs in a thread pool)."""

    def __init__(self, ttl: timedelta = timedelta(hours=1)) -> None:
        self.ttl = ttl
        self._tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    def issue(
        self, installation_id: int, now: datetime, permissions: dict[str, str] | None = None
    ) -> IssuedToken:
        # GitHub's expires_at has second precision; truncate so the check agrees with it.
        expires = (now + self.ttl).replace(microsecond=0)
        issued = IssuedToken(
            f"ghs_{secrets.token_urlsafe(27)[:36]}",
            installation_id,
            expires,
            dict(permissions) if permissions is not None else None,
        )
        with self._lock:
            self._tokens[issued.token] = issued
        return issued

    def check(self, token: str, now: datetime) -> IssuedToken:
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            raise AuthFailure("Bad credentials")
        if issued.expires_at <= now:
            raise AuthFailure("Bad credentials (installation token expired)")
        return issued

    def expire_all(self) -> None:
        """Make every issued token expired (tests of token refresh)."""
        with self._lock:
            for key, issued in list(self._tokens.items()):
                self._tokens[key] = IssuedToken(
                    issued.token,
                    issued.installation_id,
                    datetime.min.replace(tzinfo=UTC),
                    issued.permissions,
                )

    def revoke_installation(self, installation_id: int) -> None:
        with self._lock:
            for key in [k for k, v in self._tokens.items() if v.installation_id == installation_id]:
                del self._tokens[key]


def app_key_pair() -> tuple[str, str]:
    """A fresh App key as GitHub hands it out (RSA, PKCS#1 PEM) and its public half (never
    committed, never reused: the manifest flow and the local demo App both use it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return pem, public
