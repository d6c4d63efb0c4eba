"""Everything a running service needs, built once by the app factory (nothing at import time)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from app.config.settings import Settings
from app.runtime.metrics import Metrics

if TYPE_CHECKING:
    from app.gate.pipeline import Gatekeeper
    from app.github.client import GitHubApp
    from app.runtime.tracing import Tracing
    from app.service.analyze_guard import AnalyzeGuard
    from app.service.plan_auth import PlanAuthorizer
    from app.service.plan_guard import PlanGuard


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    gate: Gatekeeper
    github: GitHubApp | None
    metrics: Metrics = field(default_factory=Metrics)
    wake: threading.Event = field(default_factory=threading.Event)
    """Set by the webhook route so an idle in-process worker picks a new delivery at once."""
    started_at: float = field(default_factory=time.time)
    plan_authorizer: PlanAuthorizer | None = None
    """Built on first use (it fetches and caches the OIDC issuer's keys)."""
    plan_guard: PlanGuard | None = None
    """The plan route's installation cache, per-repository rate limit and parse slots."""
    analyze_guard: AnalyzeGuard | None = None
    """The pre-flight API's rate limiter and bounded runner, built on its first call."""
    tracing: Tracing | None = None
    """Trace export built from OTEL_* variables (app/runtime/tracing.py); whoever builds the
    runtime shuts it down (flushing queued spans) when the runtime stops."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """What time it is for waivers' expiry and change freezes (tests inject a clock)."""
    unverified_reads: int = 0
    """Webhook bodies being read now, before their signature is checked (the event loop's)."""

    @property
    def webhook_secret(self) -> str:
        secret = self.settings.webhook_secret
        return secret.get_secret_value() if secret is not None else ""
