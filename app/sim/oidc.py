"""A local GitHub Actions OIDC issuer: what `token.actions.githubusercontent.com` does for a job.

A workflow with `permissions: id-token: write` asks for a token with an audience and gets a JWT
signed by GitHub's key whose claims name the repository, the commit (`sha`), the workflow and
the ref. The simulator serves its JWKS at `/oidc/.well-known/jwks` and mints such tokens
(`issuer_for(sim).token(...)`), so plan uploads are tested with real signatures and real key
fetching, never with a switch that turns the check off.
"""

from __future__ import annotations

import json
import time
import weakref
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from jwt.algorithms import RSAAlgorithm

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

router = APIRouter(prefix="/oidc")
KEY_ID = "sim-actions-1"
_ISSUERS: weakref.WeakKeyDictionary[Simulator, OidcIssuer] = weakref.WeakKeyDictionary()


class OidcIssuer:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def url(self) -> str:
        return f"{self.sim.world.web_url}/oidc"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}

    def token(
        self,
        repository: str,
        sha: str,
        *,
        audience: str = "countersign",
        workflow: str = "plan.yml",
        ttl: int = 300,
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        """A token as a job of `repository` at `sha` would get (pass `key` to forge one)."""
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": audience,
            "sub": f"repo:{repository}:ref:refs/heads/main",
            "repository": repository,
            "repository_owner": repository.split("/")[0],
            "sha": sha,
            "ref": "refs/pull/1/merge",
            "workflow_ref": f"{repository}/.github/workflows/{workflow}@refs/heads/main",
            "event_name": "pull_request",
            "iat": now,
            "nbf": now - 5,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": KEY_ID})


def issuer_for(sim: Simulator) -> OidcIssuer:
    if sim not in _ISSUERS:
        _ISSUERS[sim] = OidcIssuer(sim)
    return _ISSUERS[sim]


@router.get("/.well-known/jwks")
def jwks(request: Request) -> dict[str, Any]:
    return issuer_for(request.app.state.sim).jwks()


@router.get("/.well-known/openid-configuration")
def configuration(request: Request) -> dict[str, Any]:
    issuer = issuer_for(request.app.state.sim)
    return {
        "issuer": issuer.url,
        "jwks_uri": f"{issuer.url}/.well-known/jwks",
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["repository", "sha", "ref", "workflow_ref", "aud", "sub"],
    }


def forget(sim: Simulator) -> None:
    """Drop what this module keeps for `sim` (its reset starts from nothing)."""
    _ISSUERS.pop(sim, None)
