"""Who may post a Terraform plan for `owner/repo` at `sha`: a CI job of that repository, at that
commit, proven by a GitHub Actions OIDC token, or a per-repository upload token.

OIDC: the token's signature is checked against the issuer's JWKS (`COUNTERSIGN_OIDC_JWKS_URL`,
fetched and cached), then `iss`, `aud` and `exp`, and then its `repository` and `sha` claims must
name exactly the path's repository and commit: a workflow of another repository, or a run for
another commit, cannot speak for this head (403). An invalid or expired token is 401. A
`pull_request` run's `sha` is the PR's test merge commit (`refs/pull/<n>/merge`), not the head:
such a token is accepted here and the route confirms with GitHub that PR <n> is open with this
head and that test merge (`app.service.routes.plans`).

The token must also come from a run of a PR event (`ALLOWED_EVENTS`: not `push` or
`workflow_dispatch`, whose runs use whatever workflow the branch or caller picks) and name the
workflow of this repository that minted it (`job_workflow_ref` / `workflow_ref`), else 403. Its
claims are kept with the plan: whether that workflow is one the base branch names in
`terraform.plan_workflows` is judged at evaluation time (`app.gate.plan_trust`), against the
config of the PR the check is for.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

import jwt

from app.config.settings import Settings
from app.core.snapshot import PlanProvenance
from app.gate.plan_trust import ALLOWED_EVENTS, split_workflow_ref

ALGORITHMS = ["RS256", "ES256"]
APPLY_EVENTS = frozenset({"push"})
"""An apply plan (`stage=apply`) comes from the run that applies a merge commit: a push run. Which
workflow may post it is judged at deployment time against the default branch's config."""


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

    def authorize(self, token: str, repo: str, sha: str, stage: str = "pr") -> PlanProvenance:
        """Who posts (kept with the plan and in the audit record) or PlanAuthError. An `apply`
        plan comes from a `push` run for exactly `sha` (the merge commit the job applies)."""
        if stage == "apply":
            return _apply_stage(self.authorize_pr(token, repo, sha, apply=True))
        return self.authorize_pr(token, repo, sha)

    def authorize_pr(
        self, token: str, repo: str, sha: str, *, apply: bool = False
    ) -> PlanProvenance:
        """The checks every plan passes; `apply` admits `push` runs (see `authorize`)."""
        if not token:
            raise PlanAuthError(401, "missing bearer token (an OIDC token or an upload token)")
        uploads = {k.lower(): v for k, v in self.settings.plan_upload_tokens.items()}
        expected = uploads.get(repo.lower())
        if token.count(".") != 2:
            # Compared even when the repository has none, so timing tells nothing.
            secret = expected.get_secret_value() if expected is not None else "\0none"
            if expected is not None and hmac.compare_digest(token.encode(), secret.encode()):
                return PlanProvenance(via="upload-token")
            raise PlanAuthError(401, "invalid upload token for this repository")
        claims = self._claims(token)
        if str(claims.get("repository", "")).lower() != repo.lower():
            raise PlanAuthError(403, f"the token is for {claims.get('repository')!r}, not {repo!r}")
        token_sha = str(claims.get("sha", "")).lower()
        if token_sha != sha.lower() and (apply or merge_ref_pr(claims) is None):
            raise PlanAuthError(403, f"the token is for commit {token_sha[:12]!r}")
        return _provenance(claims, repo, APPLY_EVENTS if apply else ALLOWED_EVENTS)

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


def _apply_stage(provenance: PlanProvenance) -> PlanProvenance:
    """Marked as an apply plan (an OIDC one was checked to be for exactly the path's commit)."""
    return provenance.model_copy(update={"stage": "apply"})


def _provenance(
    claims: dict[str, Any], repo: str, events: frozenset[str] = ALLOWED_EVENTS
) -> PlanProvenance:
    """The claims that say which run of which workflow posts, checked for shape here (403)."""
    event = str(claims.get("event_name") or "")
    if event not in events:
        raise PlanAuthError(
            403,
            f"a {event or 'unnamed'!r} run may not post plans: post from a workflow run for "
            f"one of {', '.join(sorted(events))}",
        )
    refs = [str(claims.get(k) or "") for k in ("job_workflow_ref", "workflow_ref")]
    if not any(
        parsed is not None and parsed[0].lower() == repo.lower()
        for parsed in (split_workflow_ref(r) for r in refs if r)
    ):
        raise PlanAuthError(403, f"the token names no workflow of {repo} (workflow_ref)")
    return PlanProvenance(
        via="oidc",
        event_name=event,
        ref=str(claims.get("ref") or "")[:300],
        sha=str(claims.get("sha") or "").lower()[:64],
        workflow_ref=refs[1][:500],
        job_workflow_ref=refs[0][:500],
        run_id=str(claims.get("run_id") or "")[:40],
    )


def merge_ref_pr(claims: dict[str, Any]) -> int | None:
    """The PR number of a `pull_request` run at `refs/pull/<n>/merge` (its `sha` is the test
    merge commit, not the head: the route confirms with GitHub that it merges this head)."""
    found = re.fullmatch(r"refs/pull/([0-9]{1,9})/merge", str(claims.get("ref") or ""))
    if claims.get("event_name") != "pull_request" or found is None:
        return None
    return int(found.group(1))
