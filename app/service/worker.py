"""InboxWorker: claim deliveries with a lease, handle them, and never mark done what failed.

At-least-once delivery from the inbox plus idempotent handlers (one check run per SHA, one merge
record per merge) gives exactly-once effects. GitHub trouble (5xx, rate limits, timeouts) becomes
a retry with exponential backoff and jitter, honouring Retry-After; a crash leaves the lease to
expire and `reclaim_expired` hands the delivery to another worker.

Each processed delivery is one trace: a `delivery <event>` span (consumer) whose children are the
evaluation, its GitHub calls and its audit appends (see app/runtime/telemetry.py).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import replace

import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from app.core.errors import GitHubPermissionDenied, GitHubUnavailable
from app.runtime import telemetry
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.store import inbox
from app.store.pr_lock import pr_lock
from app.store.tables import Delivery

IDLE_POLL_SECONDS = 0.5
BUSY_RETRY_SECONDS = 0.2


class InboxWorker:
    """One worker loop; several may run in one process (threads) or on many machines."""

    def __init__(self, rt: Runtime, *, worker_id: str | None = None) -> None:
        self.rt = rt
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        from app.service.handlers import EventHandlers

        self.handlers = EventHandlers(rt)
        settings = rt.settings
        self.lease_seconds = settings.lease_seconds
        self.reclaim_every = max(1.0, min(15.0, settings.lease_seconds / 4))
        self.retry = inbox.RetryPolicy(base_seconds=settings.retry_base_seconds)

    def run_once(self) -> bool:
        """Claim and process one delivery; False when nothing was due."""
        claimed = inbox.claim(self.rt.engine, self.worker_id, self.lease_seconds, limit=1)
        if not claimed:
            return False
        for delivery in claimed:
            self.process(delivery)
        return True

    def process(self, delivery: Delivery) -> None:
        """Handle one claimed delivery inside its `delivery` span (the root of its trace)."""
        attrs = telemetry.attributes(
            **{
                telemetry.DELIVERY_ID: delivery.id,
                telemetry.DELIVERY_EVENT: delivery.event,
                telemetry.DELIVERY_ACTION: delivery.action,
                telemetry.DELIVERY_ATTEMPT: delivery.attempts,
                telemetry.REPOSITORY: delivery.repo,
                telemetry.PR: delivery.pr_number,
            }
        )
        with telemetry.span(f"delivery {delivery.event}", kind=SpanKind.CONSUMER, attrs=attrs):
            self._process(delivery)

    def _process(self, delivery: Delivery) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            delivery=delivery.id,
            event=delivery.event,
            action=delivery.action,
            repo=delivery.repo,
            pr=delivery.pr_number,
            attempt=delivery.attempts,
        )
        trace_id = telemetry.trace_id_of(trace.get_current_span())
        if trace_id is not None:
            structlog.contextvars.bind_contextvars(trace_id=trace_id)
        metrics = self.rt.metrics
        with pr_lock(self.rt.engine, delivery.repo, delivery.pr_number) as owned:
            if not owned:
                inbox.release(self.rt.engine, delivery.id, self.worker_id, BUSY_RETRY_SECONDS)
                metrics.processed.labels(event=delivery.event, outcome="busy").inc()
                trace.get_current_span().set_attribute(telemetry.DELIVERY_OUTCOME, "busy")
                return
            self._process_owned(delivery)

    def _process_owned(self, delivery: Delivery) -> None:
        metrics = self.rt.metrics
        span = trace.get_current_span()
        try:
            outcome = self.handlers.handle(delivery)
        except GitHubPermissionDenied as error:
            telemetry.record_error(span, error)
            span.set_attribute(telemetry.DELIVERY_OUTCOME, "failed")
            # Retrying cannot grant a permission: fail now, with the reason on the check.
            inbox.fail(
                self.rt.engine,
                delivery.id,
                self.worker_id,
                str(error),
                policy=replace(self.retry, max_attempts=0),
            )
            metrics.processed.labels(event=delivery.event, outcome="error").inc()
            log.error("delivery.permission_denied", error=str(error)[:300])
            self.handlers.give_up(delivery, str(error))
            return
        except GitHubUnavailable as error:
            status = inbox.fail(
                self.rt.engine,
                delivery.id,
                self.worker_id,
                str(error),
                error.retry_after,
                policy=self.retry,
            )
            telemetry.record_error(span, error)
            span.set_attribute(telemetry.DELIVERY_OUTCOME, status or "lease_lost")
            metrics.processed.labels(event=delivery.event, outcome="retry").inc()
            log.warning("delivery.retry", error=str(error)[:300], next_status=status)
            if status == "failed":
                self.handlers.give_up(delivery, str(error))
            return
        except Exception as error:  # fail closed: retry, then a failing check with the reason
            status = inbox.fail(
                self.rt.engine, delivery.id, self.worker_id, repr(error)[:2000], policy=self.retry
            )
            telemetry.record_error(span, error)
            span.set_attribute(telemetry.DELIVERY_OUTCOME, status or "lease_lost")
            metrics.processed.labels(event=delivery.event, outcome="error").inc()
            log.exception("delivery.error", next_status=status)
            if status == "failed":
                self.handlers.give_up(delivery, repr(error))
            return
        finally:
            structlog.contextvars.clear_contextvars()
        done = inbox.complete(
            self.rt.engine,
            delivery.id,
            self.worker_id,
            status="ignored" if outcome == "ignored" else "done",
        )
        metrics.processed.labels(
            event=delivery.event, outcome=outcome if done else "lease_lost"
        ).inc()
        span.set_attribute(telemetry.DELIVERY_OUTCOME, outcome if done else "lease_lost")

    def run_forever(self, stop: threading.Event) -> None:
        last_reclaim = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - last_reclaim > self.reclaim_every:
                    reclaimed = inbox.reclaim_expired(self.rt.engine)
                    if reclaimed:
                        log.info("inbox.reclaimed", count=reclaimed)
                    last_reclaim = time.monotonic()
                if self.run_once():
                    continue
            except Exception:  # the database may be restarting: back off, keep the loop alive
                log.exception("worker.loop_error")
                stop.wait(2.0)
                continue
            self.rt.wake.wait(IDLE_POLL_SECONDS)
            self.rt.wake.clear()


class WorkerPool:
    """N worker threads in this process. On SQLite only one: it has a single writer anyway."""

    def __init__(self, rt: Runtime, *, workers: int = 1) -> None:
        if rt.engine.dialect.name == "sqlite" and workers > 1:
            log.warning("worker.sqlite_single", requested=workers)
            workers = 1
        self.rt = rt
        self.workers = [InboxWorker(rt) for _ in range(max(1, workers))]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._worker_threads: list[tuple[InboxWorker, threading.Thread]] = []

    def _reconcile_loop(self) -> None:
        from app.service.reconcile import reconcile

        interval = self.rt.settings.reconcile_interval_seconds
        while not self._stop.is_set():
            reconcile(self.rt)
            if self._stop.wait(interval):
                return

    def _retention_loop(self) -> None:
        """Purge expired inbox bodies, one bounded batch at a time (see app/store/retention.py)."""
        from app.store.retention import purge_batch

        settings = self.rt.settings
        while not self._stop.is_set():
            wait = settings.retention_interval_seconds
            try:
                batch = purge_batch(
                    self.rt.engine,
                    retention_days=settings.inbox_retention_days,
                    batch_size=settings.retention_batch_size,
                )
                if batch.deliveries:
                    log.info(
                        "retention.purged",
                        deliveries=len(batch.deliveries),
                        bytes=batch.bytes,
                        cutoff=batch.cutoff.isoformat(),
                        audit_seq=batch.audit_seq,
                    )
                if len(batch.deliveries) == settings.retention_batch_size:
                    wait = min(wait, 1.0)  # more is due: next batch soon, in a new transaction
            except Exception as error:  # the database may be restarting: try again next time
                log.warning("retention.failed", error=str(error)[:300])
            if self._stop.wait(wait):
                return

    def start(self) -> None:
        if self.rt.settings.retention_interval_seconds > 0:
            thread = threading.Thread(target=self._retention_loop, name="retention", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.rt.settings.reconcile_interval_seconds > 0 and self.rt.github is not None:
            thread = threading.Thread(target=self._reconcile_loop, name="reconcile", daemon=True)
            thread.start()
            self._threads.append(thread)
        for worker in self.workers:
            thread = threading.Thread(
                target=worker.run_forever,
                args=(self._stop,),
                name=f"inbox-{worker.worker_id}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
            self._worker_threads.append((worker, thread))

    def busy_threads(self) -> list[str]:
        """Names of the pool's threads still running (after `stop`: those that outlived the grace)."""
        return [t.name for t in self._threads if t.is_alive()]

    def stop(self, timeout: float | None = None) -> int:
        """Stop claiming, let in-flight deliveries finish for up to `timeout` seconds (default:
        COUNTERSIGN_SHUTDOWN_GRACE_SECONDS), then give back the leases of those that did not.

        Returns how many deliveries were given back. Nothing is lost (a given-back delivery is
        due at once for another worker) and nothing is done twice (the handlers are idempotent
        and the per-PR lock is held until this process exits).
        """
        grace = self.rt.settings.shutdown_grace_seconds if timeout is None else timeout
        self._stop.set()
        self.rt.wake.set()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        released = 0
        for worker, thread in self._worker_threads:
            if not thread.is_alive():
                continue
            try:
                released += inbox.release_owned(self.rt.engine, worker.worker_id)
            except Exception as error:  # the lease will expire and be reclaimed instead
                log.warning("worker.release_failed", error=str(error)[:300])
        if released:
            log.warning("worker.released_on_shutdown", deliveries=released, grace_seconds=grace)
        return released
