"""The FastAPI app factory. `create_app(settings)` builds everything in its lifespan; nothing
happens at import time, so tests and several processes each get their own app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app import __version__
from app.config.settings import Settings
from app.core.errors import CountersignError, DatabaseNotReady
from app.runtime.context import Runtime
from app.runtime.logging import configure_logging, log

Role = Literal["web", "worker", "all"]


def build_runtime(settings: Settings, *, github: object | None = None) -> Runtime:
    """Engine, rules/policies and the GitHub App client; raise a typed error when unusable."""
    from app.gate.pipeline import Gatekeeper
    from app.github.client import GitHubApp
    from app.runtime.tracing import setup_tracing
    from app.store.db import ensure_migrated, make_engine

    engine = make_engine(settings.database_url)
    ensure_migrated(engine)
    gate = Gatekeeper.load(settings.rules_dir, settings.policies_dir)
    client = github
    if client is None and settings.app_id is not None:
        client = GitHubApp(
            settings.app_id,
            settings.private_key_pem(),
            base_url=settings.github_api_url,
            timeout=settings.github_timeout_seconds,
            max_blob_bytes=settings.max_blob_bytes,
        )
    tracing = setup_tracing()  # last, so a failure above leaves no exporter thread behind
    return Runtime(settings=settings, engine=engine, gate=gate, github=client, tracing=tracing)  # type: ignore[arg-type]


def close_runtime(rt: Runtime) -> None:
    """Release what `build_runtime` opened: flush and stop trace export, close the engine."""
    if rt.tracing is not None:
        rt.tracing.shutdown()
    rt.engine.dispose()


BUNDLE_LEFTOVER_SECONDS = 3600.0


def create_app(
    settings: Settings,
    *,
    role: Role = "all",
    workers: int = 1,
    runtime: Runtime | None = None,
) -> FastAPI:
    """The service. `role` decides whether this process also runs inbox workers."""
    docs = settings.api_docs  # off unless COUNTERSIGN_API_DOCS: the schema maps every door
    app = FastAPI(
        title="Countersign",
        version=__version__,
        description="Policy-enforced gate between AI agents and the systems they change.",
        lifespan=_lifespan(settings, role, workers, runtime),
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        redirect_slashes=False,  # Starlette's slash redirect builds its URL from the Host header
    )
    from app.service.routes.analyze import router as analyze_router
    from app.service.routes.audit_api import router as api_router
    from app.service.routes.plans import router as plans_router
    from app.service.routes.webhook import router as webhook_router

    app.include_router(webhook_router)
    app.include_router(analyze_router)
    app.include_router(api_router)
    app.include_router(plans_router)
    from app.service.routes.mcp import mount_mcp

    mount_mcp(app, settings)
    from app.console.mount import mount_console

    mount_console(app)
    _add_ops_routes(app)

    @app.exception_handler(DatabaseNotReady)
    async def _db_down(_request: Request, error: DatabaseNotReady) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=503)

    @app.exception_handler(CountersignError)
    async def _typed(_request: Request, error: CountersignError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    return app


def _lifespan(
    settings: Settings, role: Role, workers: int, runtime: Runtime | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Build the runtime (unless one is handed in) and start the inbox workers when the role
    runs them; stop and release both on shutdown, whatever happened in between."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_json)
        rt: Runtime = (
            runtime if runtime is not None else await run_in_threadpool(build_runtime, settings)
        )
        app.state.runtime = rt
        if role in ("web", "all"):
            from app.console.exports import sweep_bundle_leftovers

            # Bundles a killed process left behind (an older one is no longer being built).
            await run_in_threadpool(sweep_bundle_leftovers, BUNDLE_LEFTOVER_SECONDS)
        pool = None
        if role in ("worker", "all"):
            from app.service.worker import WorkerPool

            pool = WorkerPool(rt, workers=workers)
            pool.start()
        log.info("service.started", role=role, workers=workers if pool else 0, version=__version__)
        try:
            yield
        finally:
            if pool is not None:
                await run_in_threadpool(pool.stop)
            if rt.analyze_guard is not None:
                rt.analyze_guard.runner.close()
            if runtime is None:
                close_runtime(rt)
            log.info("service.stopped")

    return lifespan


def _add_ops_routes(app: FastAPI) -> None:
    """`/healthz`, `/readyz` and `/metrics`: what an orchestrator and Prometheus poll."""

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses={503: {"description": "Database not ready"}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers and its schema is at the current migration."""
        from app.store.db import ensure_migrated

        rt: Runtime = request.app.state.runtime
        try:
            status = ensure_migrated(rt.engine)
        except DatabaseNotReady as error:
            return JSONResponse({"status": "unavailable", "reason": str(error)}, status_code=503)
        return JSONResponse({"status": "ready", "migration": status.current})

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=PlainTextResponse,
        responses={
            401: {"description": "Missing or wrong COUNTERSIGN_METRICS_TOKEN bearer token"},
            404: {"description": "No COUNTERSIGN_METRICS_TOKEN is set: metrics are off"},
        },
    )
    def metrics(request: Request) -> PlainTextResponse:
        """Prometheus metrics (deliveries, evaluation latency, API calls, queue depth, agents).

        They name agents and their counts, so they need their own bearer token."""
        from app.service.routes.audit_api import require_token
        from app.store import inbox

        rt: Runtime = request.app.state.runtime
        if rt.settings.metrics_token is None:
            raise HTTPException(404, "metrics are off: set COUNTERSIGN_METRICS_TOKEN")
        require_token(request, rt.settings.metrics_token)
        try:
            rt.metrics.queue_depth.set(inbox.queue_depth(rt.engine))
        except Exception as error:
            log.warning("metrics.queue_depth_failed", error=str(error)[:200])
        _refresh_agent_gauges(rt)
        return PlainTextResponse(
            generate_latest(rt.metrics.registry).decode(), media_type=CONTENT_TYPE_LATEST
        )


def _refresh_agent_gauges(rt: Runtime) -> None:
    """The `countersign_agent_*` gauges, recomputed from the store at most once a minute."""
    import time
    from datetime import UTC, datetime, timedelta

    from app.agentops.scorecard import Window
    from app.runtime.metrics import AGENT_REFRESH_SECONDS, AGENT_WINDOW_DAYS
    from app.store.audit.agent_events import agent_scorecards

    metrics = rt.metrics
    if time.monotonic() - metrics.agent_refreshed_at < AGENT_REFRESH_SECONDS:
        return
    now = datetime.now(UTC)
    try:
        window = Window(now - timedelta(days=AGENT_WINDOW_DAYS), now)
        metrics.set_scorecards(agent_scorecards(rt.engine, window, by_class=False))
        metrics.agent_refreshed_at = time.monotonic()
    except Exception as error:
        log.warning("metrics.agent_scorecards_failed", error=str(error)[:200])
