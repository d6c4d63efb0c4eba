"""The store side of waivers and freeze exceptions: what a PR has been given, and when its check
must be looked at again.

Waivers and exceptions live in the audit chain (`waiver`, `waiver_revoked`, `freeze_exception`
events), so they are hash-chained, exported and shown as evidence like every other decision. The
evaluator reads them here and hands them to the pure gate (`app.gate.waivers`, `app.gate.freeze`);
the sweep asks `due_for_recheck` whether a frozen PR's window or a waiver has ended since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from app.gate.freeze import ExceptionGrant
from app.gate.waivers import WaiverGrant, active_grants, parse_stamp
from app.store.audit import store

WAIVER = "waiver"
WAIVER_REVOKED = "waiver_revoked"
FREEZE_EXCEPTION = "freeze_exception"


def recorded_grants(
    engine: Engine, repo: str, number: int
) -> tuple[tuple[WaiverGrant, ...], tuple[ExceptionGrant, ...]]:
    """The PR's waivers in force (latest per rule and address, less revoked ones) and its freeze
    exceptions, oldest first."""
    events = store.events_for_pr(
        engine, repo, number, kinds=(WAIVER, WAIVER_REVOKED, FREEZE_EXCEPTION)
    )
    waivers = active_grants((e.kind, e.data()) for e in events if e.kind != FREEZE_EXCEPTION)
    exceptions = tuple(
        ExceptionGrant.from_data(e.data()) for e in events if e.kind == FREEZE_EXCEPTION
    )
    return waivers, exceptions


def record(
    engine: Engine,
    kind: str,
    data: dict[str, Any],
    *,
    repo: str,
    number: int,
    head_sha: str,
    agent_id: str | None,
    run_id: str | None,
) -> None:
    """Append a `waiver`, `waiver_revoked` or `freeze_exception` event for the PR."""
    store.append(
        engine,
        kind,
        {**data, "repo": repo, "pr": number},
        repo=repo,
        pr_number=number,
        head_sha=head_sha,
        agent_id=agent_id,
        run_id=run_id,
    )


def due_for_recheck(report: dict[str, Any], now: datetime) -> str | None:
    """Why an evaluation's check may read differently at `now` (a freeze it waited for has
    ended, a waiver it honoured has expired), or None."""
    freeze = report.get("freeze") or {}
    try:
        if freeze and not freeze.get("exception") and parse_stamp(str(freeze["until"])) <= now:
            return f"freeze {freeze.get('name')} ended"
        for waiver in report.get("waivers") or []:
            if waiver.get("state") == "active" and parse_stamp(str(waiver["expires_at"])) <= now:
                return f"waiver of {waiver.get('rule')} expired"
    except (KeyError, ValueError, TypeError):
        return "unreadable freeze or waiver"  # look again: the new record will be readable
    return None
