"""Who may post a Terraform plan for `owner/repo` at `sha`: a CI job of that repository, at that
commit, proven by a GitHub Actions OIDC token, or a per-repository upload token.

OIDC: the token's signature is checked against the issuer's JWKS (`COUNTERSIGN_OIDC_JWKS_URL`,
fetched and cached), then `iss`, `aud` and `exp`, and then its `repository` and `sha` claims must
name exactly the path's repository and commit: a workflow of another repository, or a run for
another commit, cannot speak for this head (403). An invalid or expired token is 401.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from app.config.settings import Settings

ALGORITHMS = ["RS256", "ES256"]


class PlanAuthError(Exception):
    """The caller may not post this plan; `status` is 401 (who are you) or 403 (not for this)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class PlanAuthorizer:
    settings: Settings
    _jwks: jwt.PyJWKClient | None = None

    def jwks(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            self._jwks = jwt.PyJWKClient(self.settings.jwks_url(), cache_keys=True, timeout=10)
        return self._jwks

    def authorize(self, token: str, repo: str, sha: str) -> str:
        """The caller's identity (for the audit record) or PlanAuthError."""
        if not token:
            raise PlanAuthError(401, "missing bearer token (an OIDC token or an upload token)")
        uploads = {k.lower(): v for k, v in self.settings.plan_upload_tokens.items()}
        expected = uploads.get(repo.lower())
        if token.count(".") != 2:
            # Compared even when the repository has none, so timing tells nothing.
            secret = expected.get_secret_value() if expected is not None else "\0none"
            if expected is not None and hmac.compare_digest(token.encode(), secret.encode()):
                return "upload-token"
            raise PlanAuthError(401, "invalid upload token for this repository")
        claims = self._claims(token)
        if str(claims.get("repository", "")).lower() != repo.lower():
            raise PlanAuthError(403, f"the token is for {claims.get('repository')!r}, not {repo!r}")
        if str(claims.get("sha", "")).lower() != sha.lower():
            raise PlanAuthError(403, f"the token is for commit {str(claims.get('sha'))[:12]!r}")
        return f"oidc:{claims.get('workflow_ref') or claims.get('sub') or 'unknown'}"

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            key = self.jwks().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.settings.oidc_audience,
                issuer=self.settings.oidc_issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise PlanAuthError(503, f"cannot fetch the OIDC issuer's keys: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise PlanAuthError(401, f"invalid OIDC token: {exc}") from exc
        return claims
