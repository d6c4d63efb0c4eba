"""Reconciliation: recover webhooks GitHub failed to deliver, and PRs whose check is missing.

Two independent nets, run on start and periodically by the worker role:
1. Redelivery: list the App's hook deliveries of the last three days (`GET /app/hook/deliveries`,
   cursor pages); for each failed one whose GUID is not in our inbox, ask GitHub to send it again
   (`POST …/attempts`).
2. Sweep: list open PRs of every repository of every installation (every page of each list); for
   each whose head has no evaluation in our audit store, or whose latest evaluation was held by an
   agent rate limit (`agent.rate-limited`, which clears with time or a close), or whose change
   freeze has ended or waiver expired since (`tuning_facts.due_for_recheck`, by `rt.clock`),
   enqueue a synthetic `pull_request.synchronize` delivery into the inbox, so the normal worker
   path evaluates it (same code, same idempotence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.agentops.limits import RATE_LIMITED
from app.github.client import CallLog
from app.runtime import telemetry
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.service.tuning_facts import due_for_recheck
from app.store import inbox
from app.store.audit import store

MAX_REDELIVERIES_PER_RUN = 50
REDELIVERY_WINDOW = timedelta(days=3)
"""GitHub redelivers deliveries of the past three days only."""


@dataclass(frozen=True)
class ReconcileResult:
    redelivered: tuple[str, ...] = ()
    swept: tuple[str, ...] = ()


def redeliver_failed(rt: Runtime) -> list[str]:
    """Ask GitHub to redeliver failed deliveries we never stored; returns their GUIDs."""
    if rt.github is None:
        return []
    client = rt.github.app_client(CallLog())
    asked: list[str] = []
    items = client.hook_deliveries(since=datetime.now(UTC) - REDELIVERY_WINDOW)
    # A GUID counts as delivered if any attempt (original or redelivery) succeeded.
    delivered = {str(i.get("guid")) for i in items if 200 <= int(i.get("status_code") or 0) < 300}
    seen: set[str] = set()
    for item in items:
        guid = str(item.get("guid") or "")
        if not guid or guid in seen or guid in delivered:
            continue
        seen.add(guid)
        if inbox.get_delivery(rt.engine, guid) is not None:
            continue
        client.redeliver(int(item["id"]))
        asked.append(guid)
        if len(asked) >= MAX_REDELIVERIES_PER_RUN:
            break
    if asked:
        log.info("reconcile.redelivered", count=len(asked))
    return asked


def queue_reevaluation(
    rt: Runtime,
    *,
    installation_id: int,
    repository: dict[str, Any],
    pr: dict[str, Any],
    delivery_id: str,
    sender: str,
) -> bool:
    """Store a `synchronize` delivery for `pr`'s current head, as GitHub would have sent it, so
    the worker evaluates it under the PR's lock; False when that delivery id is already stored."""
    number = int(pr["number"])
    body = {
        "action": "synchronize",
        "number": number,
        "pull_request": pr,
        "repository": repository,
        "installation": {"id": installation_id},
        "sender": {"login": sender, "type": "Bot"},
    }
    return inbox.store_delivery(
        rt.engine,
        delivery_id=delivery_id[:64],
        event="pull_request",
        action="synchronize",
        installation_id=installation_id,
        repo=str(repository["full_name"]),
        pr_number=number,
        head_sha=str(pr["head"]["sha"]),
        payload=json.dumps(body).encode(),
    )


def sweep_open_prs(rt: Runtime) -> list[str]:
    """Enqueue an evaluation for open PRs whose current head has none; returns `repo#n`."""
    if rt.github is None:
        return []
    app_client = rt.github.app_client(CallLog())
    queued: list[str] = []
    for installation in app_client.installations():
        inst_id = int(installation["id"])
        client = rt.github.installation(inst_id, CallLog())
        for repo in client.installation_repositories():
            full_name = repo["full_name"]
            for pr in client.open_pulls(full_name):
                sha = pr["head"]["sha"]
                number = int(pr["number"])
                latest = store.latest_evaluation(rt.engine, full_name, number, sha)
                if latest is None:
                    delivery_id = f"sweep-{sha[:40]}-{number}"
                elif _rate_limited(latest.data()):
                    # Once per evaluation: a limit that has cleared turns the check green without
                    # anyone pressing Re-run; one still in force records one more evaluation.
                    delivery_id = f"ratelimit-{sha[:12]}-{number}-{latest.seq}"
                elif due_for_recheck(latest.data().get("report") or {}, rt.clock()):
                    # A freeze it waited for ended, or a waiver expired: once per evaluation.
                    delivery_id = f"recheck-{sha[:12]}-{number}-{latest.seq}"
                else:
                    continue
                stored = queue_reevaluation(
                    rt,
                    installation_id=inst_id,
                    repository=repo,
                    pr=pr,
                    delivery_id=delivery_id,
                    sender="countersign-sweep",
                )
                if stored:
                    queued.append(f"{full_name}#{number}")
    if queued:
        rt.wake.set()
        log.info("reconcile.swept", count=len(queued), prs=queued[:20])
    return queued


def _rate_limited(evaluation: dict[str, Any]) -> bool:
    problems = (evaluation.get("report") or {}).get("problems") or []
    return any(str(p).startswith(RATE_LIMITED) for p in problems)


def reconcile(rt: Runtime) -> ReconcileResult:
    """Both nets, in one `reconcile` span (the root of their GitHub calls); GitHub trouble is
    logged, recorded on the span and left for the next run."""
    redelivered: list[str] = []
    swept: list[str] = []
    with telemetry.span("reconcile") as span:
        try:
            redelivered = redeliver_failed(rt)
        except Exception as error:
            log.warning("reconcile.redeliver_failed", error=str(error)[:300])
            telemetry.record_error(span, error)
        try:
            swept = sweep_open_prs(rt)
        except Exception as error:
            log.warning("reconcile.sweep_failed", error=str(error)[:300])
            telemetry.record_error(span, error)
        span.set_attribute("countersign.reconcile.redelivered", len(redelivered))
        span.set_attribute("countersign.reconcile.queued", len(swept))
    return ReconcileResult(tuple(redelivered), tuple(swept))
