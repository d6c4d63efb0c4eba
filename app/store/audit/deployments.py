"""Deployment decisions in the audit chain (`deployment_decision`), and the reads they need.

A decision is one event per deployment (a re-run of the job is a new deployment): what was deployed, the merges it
covered, approved or rejected and why. Its filter columns are the repository, the deployed SHA
(`head_sha`) and the workflow run ID (`run_id`). The reads: the environment's last approved
deployment (where the next one's range starts), the merge records of a range of merge commits
with their post-review, a deployment's earlier decision (an event that comes again answers the same), and the
deployments that carried a merge (the evidence page shows where a merge went).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlmodel import Session

from app.gate.deploy_decision import RecordedMerge
from app.store.audit.chain import MERGE_KINDS
from app.store.audit.stream import payload_text
from app.store.tables import EVENTS, AuditEvent

KIND = "deployment_decision"
CHUNK = 500
"""Merge commit SHAs per query (keeps IN lists well under every driver's parameter limit)."""


class CoveredMergeRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha: str
    pr: int
    seq: int
    state: str


class DeploymentDecisionRecord(BaseModel):
    """One answer to a deployment protection rule (`deployment_decision` event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: str
    sha: str
    ref: str
    deployment_id: int
    workflow_run_id: int
    default_branch: str
    since_sha: str | None
    state: str
    reasons: list[str]
    merges: list[CoveredMergeRecord] = Field(default_factory=list)
    direct_pushes: list[str] = Field(default_factory=list)
    rebased: list[str] = Field(default_factory=list)
    """Commits a covered merge's "Rebase and merge" wrote before its merge commit."""
    comment: str
    error: str | None = None
    """Set when Countersign could not decide (then `state` is `rejected`)."""


class DeploymentEvidence(BaseModel):
    """Where a merge was deployed: one approved `deployment_decision` that carried it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: str
    sha: str
    workflow_run_id: int
    time: datetime
    seq: int


def _decisions(
    target: Engine | Session, repo: str, *where: sa.ColumnElement[bool]
) -> list[AuditEvent]:
    """The repository's decisions matching `where`, newest first."""
    stmt = (
        sa.select(EVENTS)
        .where(EVENTS.c.kind == KIND, EVENTS.c.repo == repo, *where)
        .order_by(EVENTS.c.seq.desc())
    )
    if isinstance(target, Session):
        return [AuditEvent(**row._mapping) for row in target.connection().execute(stmt)]
    with target.connect() as conn:
        return [AuditEvent(**row._mapping) for row in conn.execute(stmt)]


def last_approved_sha(engine: Engine, repo: str, environment: str) -> str | None:
    """The deployed SHA of the environment's newest approved decision, or None."""
    for event in _decisions(engine, repo):
        data = event.data()
        if data.get("state") == "approved" and _same(data.get("environment"), environment):
            return str(data["sha"])
    return None


def decision_for_deployment(
    engine: Engine, repo: str, run_id: int, deployment_id: int
) -> DeploymentDecisionRecord | None:
    """The decision already recorded for this deployment (the event came again), or None. A
    re-run of the job keeps the run ID but asks for a new deployment, which is decided anew."""
    for event in _decisions(engine, repo, EVENTS.c.run_id == str(run_id)):
        data = event.data()
        if data.get("deployment_id") == deployment_id:
            return DeploymentDecisionRecord.model_validate(data)
    return None


def deployments_of(
    target: Engine | Session, repo: str, merge_commit_sha: str | None
) -> list[DeploymentEvidence]:
    """Approved deployments that carried the merge commit, oldest first."""
    if not merge_commit_sha:
        return []
    found = []
    for event in reversed(_decisions(target, repo)):
        data = event.data()
        shas = {m.get("sha") for m in data.get("merges") or []}
        if data.get("state") == "approved" and merge_commit_sha in shas:
            found.append(
                DeploymentEvidence(
                    environment=str(data["environment"]),
                    sha=str(data["sha"]),
                    workflow_run_id=int(data["workflow_run_id"]),
                    time=event.occurred_at,
                    seq=event.seq,
                )
            )
    return found


def recorded_merges(engine: Engine, repo: str, shas: Iterable[str]) -> dict[str, RecordedMerge]:
    """The merge records whose merge commit is one of `shas`, with their post-review state."""
    wanted = sorted(set(shas))
    rows: list[AuditEvent] = []
    with engine.connect() as conn:
        commit = payload_text(conn.dialect.name, "merge_commit_sha")
        for start in range(0, len(wanted), CHUNK):
            stmt = sa.select(EVENTS).where(
                EVENTS.c.kind.in_(MERGE_KINDS),
                EVENTS.c.repo == repo,
                commit.in_(wanted[start : start + CHUNK]),
            )
            rows.extend(AuditEvent(**row._mapping) for row in conn.execute(stmt))
        reviewed = _reviewed_seqs(conn, repo, [e.seq for e in rows if e.kind == "bypass_merge"])
    merges: dict[str, RecordedMerge] = {}
    for event in sorted(rows, key=lambda e: e.seq):  # a later record of a commit wins
        data = event.data()
        merges[str(data["merge_commit_sha"])] = RecordedMerge(
            merge_commit_sha=str(data["merge_commit_sha"]),
            pr=int(data["pr"]),
            seq=event.seq,
            bypass=event.kind == "bypass_merge",
            post_reviewed=event.seq in reviewed,
            agent_id=data.get("agent_id"),
            run_id=data.get("run_id"),
            head_sha=str(data.get("head_sha") or ""),
            plans=dict(data.get("plans") or {}),
        )
    return merges


def _reviewed_seqs(conn: sa.Connection, repo: str, bypass_seqs: list[int]) -> set[int]:
    if not bypass_seqs:
        return set()
    stmt = sa.select(EVENTS.c.payload).where(
        EVENTS.c.kind == "bypass_reviewed",
        EVENTS.c.repo == repo,
        EVENTS.c.seq > min(bypass_seqs),
    )
    wanted = set(bypass_seqs)
    found = set()
    for (payload,) in conn.execute(stmt):
        seq = json.loads(payload).get("merge_seq")
        if seq in wanted:
            found.add(int(seq))
    return found


def export_lines(
    engine: Engine, *, repo: str | None = None, environment: str | None = None
) -> Iterator[str]:
    """Decisions as JSONL, oldest first: chain position (seq, hash, prev_hash), time, repository
    and the recorded fields. `countersign audit verify` checks the chain these come from."""
    stmt = sa.select(EVENTS).where(EVENTS.c.kind == KIND).order_by(EVENTS.c.seq)
    if repo is not None:
        stmt = stmt.where(EVENTS.c.repo == repo)
    with engine.connect() as conn:
        for row in conn.execute(stmt):
            event = AuditEvent(**row._mapping)
            data = event.data()
            if environment is not None and not _same(data.get("environment"), environment):
                continue
            line = {
                "seq": event.seq,
                "hash": event.hash,
                "prev_hash": event.prev_hash,
                "occurred_at": event.occurred_at.isoformat(),
                "repo": event.repo,
                **data,
            }
            yield json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n"


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and a.casefold() == b.casefold()
