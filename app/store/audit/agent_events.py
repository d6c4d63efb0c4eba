"""The I/O edge of agent operations: the audit events the scorecards, the trust ramp and the
PR rate limits read, and the three small events they add.

- `agent_pr`: an agent's PR was opened (its first evaluation, or the first after a close).
  Appended under the chain lock before the PR is judged, so the chain's seq orders the openings
  of every worker process: PR rate limits count the openings *before* this one.
- `pr_closed`: an agent's PR closed without merging (it no longer counts as open).
- `analyze_call`: one `POST /api/analyze` call of an agent, past its rate limit. A tiny event
  rather than a counter table: no migration, it survives restarts, every process sees it, and
  the chain makes the count tamper-evident; the per-token rate limit and the evaluation slots
  bound how fast they can be added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import JSONB

from app.agentops.facts import (
    AnalyzeCallFact,
    EvaluationFact,
    Fact,
    MergeFact,
    WaiverFact,
    rule_class,
)
from app.agentops.reverts import RevertRefs
from app.agentops.scorecard import Scorecard, Window, scorecards
from app.core.moments import aware_utc
from app.store.audit import store
from app.store.audit.chain import MERGE_KINDS
from app.store.db import SQLITE_BEGIN
from app.store.tables import EVENTS, HEAD

AGENT_PR = "agent_pr"
PR_CLOSED = "pr_closed"
ANALYZE_CALL = "analyze_call"
WAIVER = "waiver"
LIFECYCLE = (AGENT_PR, PR_CLOSED, *MERGE_KINDS)
CHUNK = 5_000
REVERTING = ('%"reverts":{"commits":["%', '%"reverts":{"commits":[],"pulls":["%')
"""A merge payload (canonical JSON: sorted keys, no spaces) that names a reverted merge. Quotes
inside PR-controlled strings are escaped, so no title or body can look like this."""

_COLUMNS = (
    EVENTS.c.seq,
    EVENTS.c.kind,
    EVENTS.c.occurred_at,
    EVENTS.c.repo,
    EVENTS.c.pr_number,
    EVENTS.c.head_sha,
    EVENTS.c.agent_id,
    EVENTS.c.run_id,
)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the chain's append lock, so a read-then-append is atomic across
    processes (BEGIN IMMEDIATE on SQLite, the head row FOR UPDATE on PostgreSQL)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(sa.select(HEAD.c.seq).where(HEAD.c.id == 1).with_for_update())
            yield conn


def _last_lifecycle(conn: Connection, repo: str, pr: int) -> Any:
    return conn.execute(
        sa.select(EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.agent_id)
        .where(EVENTS.c.repo == repo, EVENTS.c.pr_number == pr, EVENTS.c.kind.in_(LIFECYCLE))
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
    ).first()


def record_opening(engine: Engine, *, repo: str, pr: int, agent_id: str, head_sha: str) -> int:
    """The seq of this PR's current opening, appending one when the PR has none since its last
    close or merge (atomically: two workers never record the same opening twice)."""
    with _locked(engine) as conn:
        last = _last_lifecycle(conn, repo, pr)
        if last is not None and last.kind == AGENT_PR:
            return int(last.seq)
        event = store.append(
            conn,
            AGENT_PR,
            {"reopened": last is not None},
            repo=repo,
            pr_number=pr,
            head_sha=head_sha,
            agent_id=agent_id,
        )
        return event.seq


def record_closed(engine: Engine, *, repo: str, pr: int, head_sha: str | None) -> bool:
    """Record an agent PR closed without merging (once per opening); False when not an agent's."""
    with _locked(engine) as conn:
        last = _last_lifecycle(conn, repo, pr)
        if last is None or last.kind != AGENT_PR:
            return False
        store.append(
            conn,
            PR_CLOSED,
            {"opened_seq": int(last.seq)},
            repo=repo,
            pr_number=pr,
            head_sha=head_sha,
            agent_id=last.agent_id,
        )
        return True


def record_analyze_call(engine: Engine, *, agent_id: str, outcome: str, status: int) -> None:
    store.append(engine, ANALYZE_CALL, {"outcome": outcome, "status": status}, agent_id=agent_id)


def _extract(
    engine: Engine, paths: list[tuple[str, ...]]
) -> tuple[sa.ColumnElement[Any], sa.FromClause | None]:
    """The payload fields at `paths` as one JSON array, built by the database (the payload never
    crosses to Python), and on PostgreSQL the LATERAL that parses each payload once: written
    inline, every path would cast the text to JSONB again (no common subexpressions there)."""
    if engine.dialect.name == "postgresql":
        doc = sa.select(sa.cast(EVENTS.c.payload, JSONB).label("doc")).correlate(EVENTS)
        parsed = doc.offset(0).lateral("p")  # OFFSET: a fence, so the cast is not inlined
        fields = (sa.func.jsonb_extract_path(parsed.c.doc, *p) for p in paths)
        return sa.func.jsonb_build_array(*fields), parsed
    # Several paths: SQLite parses the text once and answers a JSON array (one path: a scalar).
    selectors = ["$." + ".".join(p) for p in paths]
    if len(selectors) == 1:
        return sa.func.json_array(sa.func.json_extract(EVENTS.c.payload, selectors[0])), None
    return sa.func.json_extract(EVENTS.c.payload, *selectors), None


def _rows(
    engine: Engine,
    conditions: list[sa.ColumnElement[bool]],
    fields: dict[str, tuple[str, ...]] | None = None,
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Matching rows in seq order, in chunks, each with the named payload fields' values."""
    names = list(fields or {})
    columns: list[Any] = list(_COLUMNS)
    source: sa.FromClause = EVENTS
    if names:
        array, parsed = _extract(engine, [fields[n] for n in names] if fields else [])
        columns.append(array.label("f"))
        if parsed is not None:
            source = EVENTS.join(parsed, sa.true())
    last = 0
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                sa.select(*columns)
                .select_from(source)
                .where(EVENTS.c.seq > last, *conditions)
                .order_by(EVENTS.c.seq)
                .limit(CHUNK)
            ).all()
            for row in rows:
                values: Any = row.f if names else []
                if isinstance(values, str):
                    values = json.loads(values)
                yield row, dict(zip(names, values, strict=False))
            if len(rows) < CHUNK:
                return
            last = int(rows[-1].seq)


def _cost(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return aware_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _array(value: Any) -> list[Any]:
    """A JSON array field as extracted, or [] when absent or not an array."""
    return value if isinstance(value, list) else []


def _classes(findings: Any) -> frozenset[str]:
    return frozenset(
        rule_class(str(f.get("rule"))) for f in _array(findings) if isinstance(f, dict)
    )


MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "merge_sha": ("merge_commit_sha",),
    "bypass": ("bypass",),
    "cost": ("run_cost_usd",),
    "first_evaluated": ("head_first_evaluated_at",),
    "approvals": ("approvals",),
    "findings": ("findings",),
    "reverts": ("reverts",),
}
GATE_FIELDS = {k: MERGE_FIELDS[k] for k in ("merge_sha", "bypass", "cost", "reverts")}
"""What the trust-ramp gates read of a merge (no approvals, findings or times)."""
EVALUATION_FIELDS: dict[str, tuple[str, ...]] = {
    "conclusion": ("conclusion",),
    "tier": ("report", "tier"),
}


def _event(row: Any) -> dict[str, Any]:
    """What every fact takes from its event row: where it sits in the chain and whose PR."""
    return {
        "seq": int(row.seq),
        "at": aware_utc(row.occurred_at),
        "agent_id": row.agent_id,
        "repo": row.repo or "",
        "pr": int(row.pr_number or 0),
        "head_sha": row.head_sha or "",
    }


def merge_fact(row: Any, f: dict[str, Any]) -> MergeFact:
    approvals = [a for a in _array(f.get("approvals")) if isinstance(a, dict)]
    times = [t for t in (_time(a.get("time")) for a in approvals) if t]
    reverts = RevertRefs()
    if isinstance(f.get("reverts"), dict):
        try:
            reverts = RevertRefs.model_validate(f["reverts"])
        except ValueError:
            pass
    return MergeFact(
        **_event(row),
        merge_sha=f.get("merge_sha"),
        bypass=row.kind == "bypass_merge" or f.get("bypass") is True,
        run_id=row.run_id,
        cost_usd=_cost(f.get("cost")),
        last_approval_at=max(times) if times else None,
        head_first_evaluated_at=_time(f.get("first_evaluated")),
        rule_classes=_classes(f.get("findings")),
        reverts=reverts,
    )


def evaluation_fact(row: Any, f: dict[str, Any]) -> EvaluationFact:
    return EvaluationFact(
        **_event(row),
        conclusion=str(f.get("conclusion") or ""),
        blocked=f.get("tier") == "blocked",
        rule_classes=_classes(f.get("findings")),
        run_id=row.run_id or None,
    )


def read_facts(
    engine: Engine,
    window: Window,
    *,
    agent_id: str | None = None,
    kinds: Iterable[str] = ("evaluation", *MERGE_KINDS, ANALYZE_CALL, WAIVER),
    by_class: bool = True,
    gates_only: bool = False,
) -> list[Fact]:
    """The facts of the window's events (merges from `since` on: a later one may be a revert).
    Without `by_class` the findings of evaluations are not read (no rule classes); with
    `gates_only` merges carry only what the trust-ramp gates read."""
    wanted = set(kinds)
    since, until = aware_utc(window.since), aware_utc(window.until)
    facts: list[Fact] = []
    merge_kinds = [k for k in MERGE_KINDS if k in wanted]
    if merge_kinds:
        # The window's merges (the agent's, when one is asked for), and any later merge that
        # reverts something.
        # With an agent, its arm of the OR repeats the kind and the window's start, so that
        # arm alone is an index range (ix_audit_event_agent_kind_time); the reverting arm is
        # ix_audit_event_reverting. Without them the database reads every merge since `since`.
        ours = (
            sa.and_(
                EVENTS.c.agent_id == agent_id,
                EVENTS.c.kind.in_(merge_kinds),
                EVENTS.c.occurred_at >= since,
                EVENTS.c.occurred_at < until,
            )
            if agent_id
            else (EVENTS.c.occurred_at < until)
        )
        conditions = [
            EVENTS.c.kind.in_(merge_kinds),
            EVENTS.c.occurred_at >= since,
            sa.or_(ours, *(EVENTS.c.payload.like(p) for p in REVERTING)),
        ]
        for row, values in _rows(engine, conditions, GATE_FIELDS if gates_only else MERGE_FIELDS):
            facts.append(merge_fact(row, values))
    in_window = [EVENTS.c.occurred_at >= since, EVENTS.c.occurred_at < until]
    by_agent = [EVENTS.c.agent_id == agent_id] if agent_id else [EVENTS.c.agent_id.is_not(None)]
    if "evaluation" in wanted:
        fields = dict(EVALUATION_FIELDS)
        if by_class:
            fields["findings"] = ("report", "findings")
        for row, values in _rows(
            engine, [EVENTS.c.kind == "evaluation", *in_window, *by_agent], fields
        ):
            facts.append(evaluation_fact(row, values))
    if ANALYZE_CALL in wanted:
        for row, _ in _rows(engine, [EVENTS.c.kind == ANALYZE_CALL, *in_window, *by_agent]):
            facts.append(AnalyzeCallFact(int(row.seq), aware_utc(row.occurred_at), row.agent_id))
    if WAIVER in wanted:
        rows = _rows(engine, [EVENTS.c.kind == WAIVER, *in_window, *by_agent], {"rule": ("rule",)})
        for row, values in rows:
            facts.append(
                WaiverFact(
                    int(row.seq),
                    aware_utc(row.occurred_at),
                    row.agent_id,
                    row.repo or "",
                    int(row.pr_number or 0),
                    str(values.get("rule") or ""),
                )
            )
    return facts


def agent_scorecards(
    engine: Engine, window: Window, *, agent_id: str | None = None, by_class: bool = True
) -> list[Scorecard]:
    """Scorecards over the window's UTC days, read from the daily aggregates (the CLI, metrics,
    MCP and console use it; app/store/audit/aggregate_reads.py)."""
    from app.store.audit.aggregate_reads import aggregate_scorecards

    return aggregate_scorecards(engine, window, agent_id=agent_id, by_class=by_class)


def scan_scorecards(
    engine: Engine, window: Window, *, agent_id: str | None = None, by_class: bool = True
) -> list[Scorecard]:
    """Scorecards over the exact window from every event in it: the definition the aggregates
    are tested against (reads the whole window, linear in the store)."""
    facts = read_facts(engine, window, agent_id=agent_id, by_class=by_class)
    cards = scorecards(facts, window, by_class=by_class)
    return [c for c in cards if agent_id is None or c.agent_id == agent_id]
