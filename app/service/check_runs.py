"""Which check run a PR head has, kept in the audit store: one per head SHA (per annotation set).

At-least-once delivery must give exactly one check run per head: the run is recorded as soon as
it is created (the evaluator holds the PR's lock), so the next delivery for the head reuses it;
after a crash between "created" and "recorded", GitHub is asked instead. GitHub cannot take
annotations back, so which set (digest) a run carries is recorded once GitHub has them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from app.github import checks
from app.github.client import InstallationClient
from app.store import inbox
from app.store.audit import store
from app.store.tables import AuditEvent

CHECK_RUN_CREATED = "check_run_created"
ANNOTATIONS_SENT = "annotations_sent"
"""Audit bookkeeping: which annotation set (digest) a check run carries, so it is sent once."""


@dataclass(frozen=True)
class Head:
    """The PR head one evaluation is for, and how its delivery got here (retries, crashes)."""

    repo: str
    number: int
    sha: str
    attempt: int = 1
    delivery_id: str | None = None


@dataclass(frozen=True)
class Annotations:
    """One evaluation's annotation set, its digest, and whether its check run still needs it."""

    items: list[dict[str, Any]]
    digest: str
    send: bool


def find_check_run(
    engine: Engine, client: InstallationClient, head: Head, previous: AuditEvent | None
) -> int | None:
    """The check run already made for this head: ours on record (the newest, when a changed
    annotation set opened another), or GitHub's after a crash."""
    for event in reversed(
        store.events_for_pr(engine, head.repo, head.number, kinds=(CHECK_RUN_CREATED,))
    ):
        if event.head_sha == head.sha:
            return int(event.data()["check_run_id"])
    if previous is not None and previous.data().get("check_run_id"):
        return int(previous.data()["check_run_id"])
    cut_short = head.attempt > 1 or (
        head.delivery_id is not None
        and inbox.interrupted_for(engine, head.repo, head.number, head.delivery_id)
    )
    if cut_short:  # a crash may have created one without recording it
        runs = client.check_runs_for(head.repo, head.sha, checks.CHECK_NAME)
        if runs:
            return int(runs[0]["id"])
    return None


def create_check_run(
    engine: Engine, client: InstallationClient, head: Head, details_url: str
) -> int:
    """An in-progress check run for the head, recorded at once (we hold the PR's lock), so the
    next delivery for this head reuses it: one check run per SHA (per annotation set)."""
    created = client.create_check_run(
        head.repo,
        checks.in_progress_body(
            head.sha, details_url, checks.external_id(head.repo, head.number, head.sha)
        ),
    )
    check_run_id = int(created["id"])
    store.append(
        engine,
        CHECK_RUN_CREATED,
        {"head_sha": head.sha, "check_run_id": check_run_id},
        repo=head.repo,
        pr_number=head.number,
        head_sha=head.sha,
    )
    return check_run_id


def annotations_sent(engine: Engine, head: Head, check_run_id: int) -> str | None:
    """The digest of the annotations this check run already carries, or None."""
    for event in reversed(
        store.events_for_pr(engine, head.repo, head.number, kinds=(ANNOTATIONS_SENT,))
    ):
        data = event.data()
        if data.get("check_run_id") == check_run_id:
            return str(data["digest"])
    return None


def record_annotations_sent(
    engine: Engine, head: Head, check_run_id: int, digest: str, count: int
) -> None:
    """Recorded once GitHub has them all, so a failed send is retried by the next delivery."""
    store.append(
        engine,
        ANNOTATIONS_SENT,
        {"check_run_id": check_run_id, "digest": digest, "count": count},
        repo=head.repo,
        pr_number=head.number,
        head_sha=head.sha,
    )
