"""A local GitHub Actions OIDC issuer: what `token.actions.githubusercontent.com` does for a job.

A workflow with `permissions: id-token: write` asks for a token with an audience and gets a JWT
signed by GitHub's key whose claims name the repository, the commit (`sha`), the event, the ref
and the workflow (`workflow_ref`, `job_workflow_ref`: `owner/repo/<path>@<ref>`), with GitHub's
claim set (docs.github.com, "OpenID Connect reference"): a `pull_request` run is at
`refs/pull/<n>/merge`, a `pull_request_target` run at the base branch. The simulator serves its JWKS at `/oidc/.well-known/jwks` and mints such tokens
(`issuer_for(sim).token(...)`), so plan uploads are tested with real signatures and real key
fetching, never with a switch that turns the check off.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
import weakref
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from jwt.algorithms import RSAAlgorithm

from app.sim.shapes_pull import merge_ref_sha

if TYPE_CHECKING:
    from app.sim.simulator import Simulator
    from app.sim.state import PullRequest

router = APIRouter(prefix="/oidc")
KEY_ID = "sim-actions-1"
_RUN_IDS = itertools.count(9_000_000_001)
_ISSUERS: weakref.WeakKeyDictionary[Simulator, OidcIssuer] = weakref.WeakKeyDictionary()


CLAIMS_SUPPORTED = (
    "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository",
    "repository_id", "repository_owner", "repository_owner_id", "enterprise", "enterprise_id",
    "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref",
    "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type", "ref_protected",
    "environment", "environment_node_id", "job_workflow_ref", "job_workflow_sha",
    "repository_visibility", "runner_environment", "issuer_scope",
)  # fmt: skip
"""What `token.actions.githubusercontent.com/.well-known/openid-configuration` lists."""


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
        workflow: str = ".github/workflows/plan.yml",
        event_name: str = "pull_request",
        pr: int = 1,
        base_ref: str = "main",
        head_ref: str = "agent/change",
        ttl: int = 300,
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        """A token as a job of `workflow` in `repository`, run for `event_name` at `sha`, would get
        (pass `key` to forge one; `claims` override any claim)."""
        now = int(time.time())
        ref = _run_ref(event_name, pr=pr, base_ref=base_ref, head_ref=head_ref, sha=sha)
        owner = repository.split("/")[0]
        workflow_ref = f"{repository}/{workflow}@{ref}"
        body = {
            "jti": str(uuid.uuid4()),
            "sub": (
                f"repo:{repository}:pull_request"
                if event_name == "pull_request"
                else f"repo:{repository}:ref:{ref}"
            ),
            "aud": audience,
            "ref": ref,
            "sha": sha,
            "repository": repository,
            "repository_owner": owner,
            "repository_owner_id": str(_stable_id(owner)),
            "repository_id": str(_stable_id(repository)),
            "repository_visibility": "private",
            "run_id": str(next(_RUN_IDS)),
            "run_number": "1",
            "run_attempt": "1",
            "actor": "infra-bot[bot]",
            "actor_id": str(_stable_id("infra-bot[bot]")),
            "workflow": workflow.rsplit("/", 1)[-1].rsplit(".", 1)[0],
            "head_ref": head_ref if event_name.startswith("pull_request") else "",
            "base_ref": base_ref if event_name.startswith("pull_request") else "",
            "event_name": event_name,
            "ref_type": "branch",
            "ref_protected": "false",
            "workflow_ref": workflow_ref,
            "workflow_sha": sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": sha,
            "runner_environment": "github-hosted",
            "iss": self.url,
            "nbf": now - 5,
            "exp": now + ttl,
            "iat": now,
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def for_pull_request(self, repository: str, pr: PullRequest, **claims: Any) -> str:
        """The token of a `pull_request` run for `pr` as GitHub mints it: at
        `refs/pull/<n>/merge`, its `sha` the PR's test merge commit (not the head)."""
        return self.token(
            repository,
            merge_ref_sha(pr),
            pr=pr.number,
            base_ref=pr.base_ref,
            head_ref=pr.head_ref,
            **claims,
        )


def _run_ref(event_name: str, *, pr: int, base_ref: str, head_ref: str, sha: str) -> str:
    """`GITHUB_REF` of a run for this event, as GitHub sets it (and the token's `ref`)."""
    if event_name == "pull_request":
        return f"refs/pull/{pr}/merge"
    if event_name == "merge_group":
        return f"refs/heads/gh-readonly-queue/{base_ref}/pr-{pr}-{sha}"
    if event_name == "push":
        return f"refs/heads/{head_ref}"
    return f"refs/heads/{base_ref}"  # pull_request_target, workflow_dispatch, schedule


def _stable_id(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


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
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "scopes_supported": ["openid"],
        "claims_supported": list(CLAIMS_SUPPORTED),
    }


def forget(sim: Simulator) -> None:
    """Drop what this module keeps for `sim` (its reset starts from nothing)."""
    _ISSUERS.pop(sim, None)
