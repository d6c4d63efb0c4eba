"""The demo's compliance console: settings for it and the local demo sign-in route.

`countersign demo` configures the console (allowed teams, a fresh session secret, a fresh signing
key) and adds `GET /console/demo-sign-in?as=LOGIN`, which signs LOGIN in to the *simulated*
github.com and starts the real OAuth flow. That route exists only on the app the demo builds
(a LocalStack extension): `countersign serve` never has it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import SecretStr

if TYPE_CHECKING:
    from app.demo.stack import LocalStack

TEAMS = "acme/compliance,acme/security"
DEMO_USER = "erin"
"""Erin (acme/compliance) did not merge anything, so she may review the demo's bypass merge."""


def console_settings(public_key_path: Path | None) -> dict[str, Any]:
    """LocalStack settings for a console on the demo data; writes the signing public key to
    `public_key_path` when given (so downloaded bundles can be verified)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    if public_key_path is not None:
        public_key_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return {
        "console_teams": TEAMS,
        "console_session_secret": SecretStr(secrets.token_hex(32)),
        "signing_key": SecretStr(pem),
    }


def add_demo_sign_in(stack: LocalStack) -> None:
    """The demo-only route: sign a simulator user in, then run the real sign-in flow."""
    assert stack.app is not None

    def demo_sign_in(request: Request) -> RedirectResponse:
        login = request.query_params.get("as", DEMO_USER)
        if stack.sim.world.user(login) is None:
            raise HTTPException(404, f"the demo has no user {login!r}")
        stack.sim.oauth_sign_in(login)
        return RedirectResponse("/console/login", status_code=303)

    stack.app.add_api_route(
        "/console/demo-sign-in", demo_sign_in, methods=["GET"], include_in_schema=False
    )
