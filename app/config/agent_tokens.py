"""Pre-flight API tokens of agents (`api_tokens:` in agents.yaml): hashes or env references only.

A registry file is reviewed and committed, so it never holds a token: an entry is either
`sha256:<hex>` (the SHA-256 of the token, `printf %s "$TOKEN" | sha256sum`) or `env:VAR_NAME`
(a variable holding the token, resolved when the registry loads). A bearer token is matched by
comparing its digest with every candidate in constant time, so timing tells nothing about which
agent, or how much of a digest, matched.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

TOKEN_REF = re.compile(r"^(?:sha256:[0-9a-f]{64}|env:[A-Za-z_][A-Za-z0-9_]{0,127})$")
MIN_TOKEN_LENGTH = 24
"""Shortest token an `env:` variable may hold (a random token of 128 bits or more)."""
REF_HELP = (
    "api_tokens entries must be 'sha256:<64 lower-case hex digits>' (the SHA-256 of the token) "
    "or 'env:VAR_NAME' (a variable that holds the token); never write a token itself here"
)


def check_reference(ref: str) -> str:
    """Validate one entry's form; the message never repeats the value (it may be a token)."""
    if not TOKEN_REF.match(ref):
        raise ValueError(REF_HELP)
    return ref


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def resolve_reference(ref: str, environ: Mapping[str, str]) -> bytes:
    """The SHA-256 digest an entry stands for; ValueError (naming the variable) when unusable."""
    scheme, _, value = ref.partition(":")
    if scheme == "sha256":
        return bytes.fromhex(value)
    token = environ.get(value)
    if token is None or not token.strip():
        raise ValueError(f"environment variable {value} is not set")
    if len(token.strip()) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"environment variable {value} holds a token shorter than {MIN_TOKEN_LENGTH} "
            "characters; use a long random value (e.g. `openssl rand -hex 32`)"
        )
    return token_digest(token.strip())


class TokenIndex:
    """Token digests → agent id, matched in constant time over all candidates."""

    def __init__(self, entries: Iterable[tuple[bytes, str]]) -> None:
        self._entries = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, token: str) -> tuple[str, str] | None:
        """`(agent id, token fingerprint)` of the agent this token belongs to, or None.

        Every candidate is compared (no early exit); the fingerprint (12 hex digits of the
        digest's digest) names the token in logs and rate-limit keys without revealing it.
        """
        given = token_digest(token)
        found: str | None = None
        for digest, agent_id in self._entries:
            if hmac.compare_digest(given, digest):
                found = agent_id
        if found is None or not token:
            return None
        return found, hashlib.sha256(given).hexdigest()[:12]
