"""Deployment settings from `COUNTERSIGN_*` environment variables (pydantic-settings).

Nothing is read at import time: `Settings()` is built by the CLI or `create_app(settings)`, so tests
and several processes can each use their own.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.config.shipped import ENV_PREFIX, PACKAGE_DIR, SHIPPED, shipped_dir
from app.core.errors import CountersignError

__all__ = ["PACKAGE_DIR", "Settings", "SettingsError", "shipped_dir"]


PLACEHOLDERS = {"changeme", "secret", "xxx", "todo", ""}


class SettingsError(CountersignError):
    """A required setting is missing or unusable; names the variable to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    app_id: int | None = None
    private_key: SecretStr | None = None
    private_key_path: Path | None = None
    webhook_secret: SecretStr | None = None
    database_url: str = "sqlite:///./countersign.db"
    github_api_url: str = "https://api.github.com"
    rules_dir: Path = Field(default_factory=lambda: shipped_dir(SHIPPED["rules_dir"]))
    policies_dir: Path = Field(default_factory=lambda: shipped_dir(SHIPPED["policies_dir"]))
    audit_token: SecretStr | None = None
    signing_key: SecretStr | None = None
    """Ed25519 private key (PEM) that signs `countersign audit export --signed` bundles."""
    signing_key_path: Path | None = None
    """The same key as a file (used when `signing_key` is unset)."""
    public_url: str = "http://127.0.0.1:8000"
    github_timeout_seconds: float = 15.0
    """Per-request timeout for GitHub API calls (a timeout is retried later, never green)."""
    max_blob_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    """Largest file read in full. GraphQL cuts texts at 512,000 bytes; bigger files are read over
    REST up to this size, and a file above it fails the check as unreadable (fail closed)."""
    retry_base_seconds: float = 2.0
    """First retry delay for a failed delivery; doubles per attempt (with jitter), capped at 300 s."""
    lease_seconds: float = 120.0
    """How long a worker owns a claimed delivery; a crashed worker's lease expires after this."""
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=3600)
    """On SIGTERM, how long a worker may finish its in-flight delivery before it gives it back."""
    reconcile_interval_seconds: float = 300.0
    """How often workers redeliver failed webhooks and sweep open PRs (0 disables)."""
    log_level: str = "INFO"
    log_json: bool = True
    oidc_issuer: str = "https://token.actions.githubusercontent.com"
    """Issuer of the OIDC tokens that may post Terraform plans (GitHub Actions by default)."""
    oidc_jwks_url: str | None = None
    """Where the issuer's signing keys are; default `<issuer>/.well-known/jwks`."""
    oidc_audience: str = "countersign"
    """The `aud` a plan-posting token must carry (`core.getIDToken('countersign')`)."""
    plan_upload_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    """Per-repository upload tokens for CIs without OIDC: JSON `{"owner/repo": "token"}`."""
    max_plan_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Largest plan upload accepted (413 above it); the body is spooled to a temporary file."""
    plan_rate_per_minute: float = Field(default=30.0, gt=0, le=100_000)
    """Plan uploads a repository may make per minute on average (token bucket; 429 above it)."""
    plan_burst: int = Field(default=20, ge=1, le=10_000)
    """Plan uploads a repository may make at once before the per-minute rate applies."""
    plan_parse_concurrency: int = Field(default=1, ge=1, le=16)
    """Plans parsed at once in this process (a 60 MiB plan takes ~1 GiB parsed); others wait."""
    analyze_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    """Largest `POST /api/analyze` body (413 above it, by Content-Length and while reading)."""
    analyze_max_files: int = Field(default=300, ge=1, le=100_000)
    """Most files one pre-flight may name, in the diff or in `files` (413 above it)."""
    analyze_rate_per_minute: float = Field(default=30.0, gt=0, le=100_000)
    """Pre-flight calls a token may make per minute on average (token bucket; 429 above it)."""
    analyze_burst: int = Field(default=10, ge=1, le=10_000)
    """Calls a token may make at once before the per-minute rate applies."""
    analyze_deadline_seconds: float = Field(default=20.0, gt=0, le=600)
    """Longest a pre-flight evaluation may take before the caller gets 503 with Retry-After."""
    analyze_concurrency: int = Field(default=2, ge=1, le=64)
    """Pre-flight evaluations running at once in this process; more get 503 (never queued up)."""
    inbox_retention_days: float = Field(default=14.0, ge=0, le=36_500)
    """Days a finished webhook delivery keeps its raw body in the inbox (0: purge at once)."""
    retention_interval_seconds: float = Field(default=3600.0, ge=0)
    """How often workers purge expired inbox bodies (0 disables; `countersign retention run`)."""
    retention_batch_size: int = Field(default=500, ge=1, le=100_000)
    """Most deliveries one purge pass clears (keeps each transaction short)."""

    github_web_url: str | None = None
    """GitHub's web host for the OAuth sign-in pages; default derived from `github_api_url`
    (`https://api.github.com` → `https://github.com`, `https://ghe.example/api/v3` →
    `https://ghe.example`)."""
    oauth_client_id: str | None = None
    """The GitHub App's client ID (App settings → General), for console sign-in."""
    oauth_client_secret: SecretStr | None = None
    """A client secret generated in the GitHub App's settings, for console sign-in."""
    console_teams: str = ""
    """Teams allowed into the compliance console, comma-separated `org/slug` (none: closed)."""
    console_session_secret: SecretStr | None = None
    """Signs console session cookies (32+ random characters; changing it signs everyone out)."""
    console_recheck_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    """How often a console session's team membership is checked again with GitHub."""
    console_session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    """How long a console sign-in lasts before GitHub is asked again."""
    console_login_rate_per_minute: int = Field(default=10, ge=1, le=10_000)
    """Sign-in attempts (login and callback) one client IP may make per minute (429 above)."""
    metrics_token: SecretStr | None = None
    """Bearer token Prometheus sends for `/metrics` (it lists agent ids and counts); unset:
    `/metrics` answers 404."""
    api_docs: bool = False
    """Serve `/docs`, `/redoc` and `/openapi.json` (off in production unless enabled)."""
    webhook_max_unverified: int = Field(default=8, ge=1, le=1024)
    """Webhook bodies read at once before their signature is checked (503 above it)."""
    webhook_read_seconds: float = Field(default=10.0, gt=0, le=300)
    """Longest a webhook body may take to arrive (408 after it), so slow bodies hold no slot."""
    trusted_proxies: str = ""
    """Comma-separated IPs or networks of reverse proxies whose `X-Forwarded-For` and
    `X-Forwarded-Proto` name the client (none by default: the socket's peer is the client)."""

    def trusted_proxy_list(self) -> tuple[str, ...]:
        """`COUNTERSIGN_TRUSTED_PROXIES` as a tuple of IPs/networks (empty: trust no proxy)."""
        return tuple(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    def proxy_options(self) -> dict[str, Any]:
        """uvicorn's proxy-header options: forwarded headers are read only from trusted proxies
        (uvicorn alone would trust them from 127.0.0.1)."""
        proxies = self.trusted_proxy_list()
        return {"proxy_headers": bool(proxies), "forwarded_allow_ips": ",".join(proxies)}

    def jwks_url(self) -> str:
        return self.oidc_jwks_url or self.oidc_issuer.rstrip("/") + "/.well-known/jwks"

    def web_url(self) -> str:
        """Where GitHub's sign-in pages are (`/login/oauth/authorize`)."""
        if self.github_web_url:
            return self.github_web_url.rstrip("/")
        api = self.github_api_url.rstrip("/")
        if api == "https://api.github.com":
            return "https://github.com"
        return api.removesuffix("/api/v3")

    def console_team_list(self) -> tuple[str, ...]:
        """`COUNTERSIGN_CONSOLE_TEAMS` as lower-case `org/slug` entries (a leading @ is dropped)."""
        teams = []
        for entry in self.console_teams.split(","):
            team = entry.strip().removeprefix("@").lower()
            if team:
                teams.append(team)
        return tuple(teams)

    def console_missing(self) -> list[str]:
        """The settings the console still needs; empty when it may serve (it never runs open)."""
        missing = [
            name
            for name, value in (
                ("COUNTERSIGN_OAUTH_CLIENT_ID", self.oauth_client_id),
                ("COUNTERSIGN_OAUTH_CLIENT_SECRET", self.oauth_client_secret),
                ("COUNTERSIGN_CONSOLE_SESSION_SECRET", self.console_session_secret),
                ("COUNTERSIGN_APP_ID", self.app_id),
            )
            if not value
        ]
        if not self.console_team_list():
            missing.append("COUNTERSIGN_CONSOLE_TEAMS")
        return missing

    @model_validator(mode="after")
    def _no_placeholders(self) -> Settings:
        session = self.console_session_secret
        if session is not None and len(session.get_secret_value().strip()) < 32:
            raise ValueError(
                "COUNTERSIGN_CONSOLE_SESSION_SECRET is shorter than 32 characters; use a long "
                "random value (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        for team in self.console_team_list():
            org, _, slug = team.partition("/")
            if not org or not slug or "/" in slug:
                raise ValueError(
                    f"COUNTERSIGN_CONSOLE_TEAMS: {team!r} is not org/team-slug "
                    "(e.g. acme/compliance,acme/security)"
                )
        for proxy in self.trusted_proxy_list():
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"COUNTERSIGN_TRUSTED_PROXIES: {proxy!r} is not an IP address or network "
                    "(e.g. 10.0.0.5,10.1.0.0/16)"
                ) from None
        for name in ("webhook_secret", "audit_token", "metrics_token"):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDERS:
                raise ValueError(
                    f"COUNTERSIGN_{name.upper()} is a placeholder; set a real random value"
                )
        for repo, token in self.plan_upload_tokens.items():
            if len(token.get_secret_value().strip()) < 16:
                raise ValueError(
                    f"COUNTERSIGN_PLAN_UPLOAD_TOKENS: the token for {repo} is shorter than 16 "
                    "characters; use a long random value"
                )
        return self

    def private_key_pem(self) -> str:
        """The App's private key, from the variable or the file it points to."""
        if self.private_key is not None:
            return self.private_key.get_secret_value().replace("\\n", "\n")
        if self.private_key_path is not None:
            try:
                return self.private_key_path.read_text()
            except OSError as exc:
                raise SettingsError(
                    f"cannot read COUNTERSIGN_PRIVATE_KEY_PATH={self.private_key_path}: "
                    f"{exc.strerror}"
                ) from exc
        raise SettingsError(
            "no GitHub App private key",
            hint="set COUNTERSIGN_PRIVATE_KEY or COUNTERSIGN_PRIVATE_KEY_PATH",
        )

    def require_github(self) -> None:
        """Fail at start-up, with the variable names, when the App cannot talk to GitHub."""
        missing = [
            name
            for name, value in (
                ("COUNTERSIGN_APP_ID", self.app_id),
                ("COUNTERSIGN_WEBHOOK_SECRET", self.webhook_secret),
            )
            if value is None
        ]
        if self.private_key is None and self.private_key_path is None:
            missing.append("COUNTERSIGN_PRIVATE_KEY or COUNTERSIGN_PRIVATE_KEY_PATH")
        if missing:
            raise SettingsError("missing settings: " + ", ".join(missing))
