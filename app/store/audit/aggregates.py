"""Scorecard aggregates at the store's edge: kept in the audit append's transaction, rebuilt from
the chain, read by the scorecards (the pure arithmetic is app/agentops/aggregates.py).

- `record` runs inside `store._append_locked`, under the chain lock, in the append's own
  transaction: an append that fails leaves the aggregates unchanged, and appends from several
  workers are serialised by that lock (the counters are also `x = x + n` upserts, so no
  increment can be lost even without it).
- `rebuild` folds every event of the chain through the same pure steps and rewrites the tables
  (`countersign audit rebuild-aggregates`, and migration 0004 for existing stores).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from app.agentops import aggregates as agg
from app.agentops.facts import AnalyzeCallFact, EvaluationFact, Fact, MergeFact, WaiverFact
from app.agentops.reverts import pull_key
from app.core.moments import aware_utc
from app.store.aggregate_tables import (
    AGENT_DAY,
    AGENT_DAY_LATENCY,
    AGENT_DAY_WAIVER,
    AGENT_PR_STATE,
    AGGREGATE_TABLES,
)
from app.store.audit.chain import MERGE_KINDS
from app.store.tables import EVENTS

ANALYZE_CALL, WAIVER = "analyze_call", "waiver"
KINDS: tuple[str, ...] = ("evaluation", *MERGE_KINDS, ANALYZE_CALL, WAIVER)
"""The event kinds the scorecards count (app/store/audit/agent_events.py reads the same)."""
FIELDS: dict[str, tuple[str, ...]] = {
    "merge_sha": ("merge_commit_sha",),
    "bypass": ("bypass",),
    "cost": ("run_cost_usd",),
    "first_evaluated": ("head_first_evaluated_at",),
    "approvals": ("approvals",),
    "findings": ("findings",),
    "reverts": ("reverts",),
    "conclusion": ("conclusion",),
    "tier": ("report", "tier"),
    "eval_findings": ("report", "findings"),
    "rule": ("rule",),
}
CHUNK = 5_000
DAY_KEYS = ("agent_id", "rule_class", "day")
Key = tuple[str, int]


class Row(NamedTuple):
    """The columns of an event the facts read (an AuditEvent row or a fresh append)."""

    seq: int
    kind: str
    occurred_at: datetime
    repo: str | None
    pr_number: int | None
    head_sha: str | None
    agent_id: str | None
    run_id: str | None


def _pick(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def fact_of(row: Row, values: Mapping[str, Any]) -> Fact | None:
    """The scorecard fact of one event (None for events the scorecards do not count)."""
    from app.store.audit.agent_events import evaluation_fact, merge_fact

    if row.kind in MERGE_KINDS:
        return merge_fact(row, dict(values))
    if not row.agent_id:
        return None
    if row.kind == "evaluation":
        return evaluation_fact(row, {**values, "findings": values.get("eval_findings")})
    at = aware_utc(row.occurred_at)
    if row.kind == ANALYZE_CALL:
        return AnalyzeCallFact(int(row.seq), at, row.agent_id)
    if row.kind == WAIVER:
        rule = str(values.get("rule") or "")
        return WaiverFact(int(row.seq), at, row.agent_id, row.repo or "", row.pr_number or 0, rule)
    return None


def step(
    fact: Fact,
    state_of: Callable[[Key], agg.PrState],
    candidates: Callable[[MergeFact], list[tuple[Key, agg.PrState]]],
) -> agg.Increments:
    """One fact's increments, with PR states read through `state_of` and revert targets among
    `candidates` (the database's or the rebuild's memory: the same arithmetic either way)."""
    if isinstance(fact, EvaluationFact):
        return agg.on_evaluation(state_of((fact.repo, fact.pr)), fact)
    if isinstance(fact, MergeFact):
        targets = [(k, s) for k, s in candidates(fact) if agg.is_target(fact, k, s)]
        return agg.on_merge(state_of((fact.repo, fact.pr)), fact, targets)
    return agg.on_other(fact)


# --- the incremental path -------------------------------------------------------------------


def record(conn: Connection, row: Row, data: Mapping[str, Any]) -> None:
    """Add one appended event to the aggregates, in the append's transaction."""
    if row.kind not in KINDS:
        return
    fact = fact_of(row, {name: _pick(data, path) for name, path in FIELDS.items()})
    if fact is None:
        return
    write(conn, step(fact, lambda key: _load_state(conn, key), lambda m: _candidates(conn, m)))


def _classes_text(classes: frozenset[str]) -> str:
    return json.dumps(sorted(classes)) if classes else ""


def classes_of(text: str | None) -> frozenset[str]:
    return frozenset(json.loads(text)) if text else frozenset()


def _state(r: Any) -> agg.PrState:
    return agg.PrState(
        agent_id=r.agent_id,
        day=r.day,
        classes=classes_of(r.classes),
        conclusion=r.conclusion,
        blocked=bool(r.blocked),
        named=bool(r.named),
        merge_agent=r.merge_agent,
        merge_day=r.merge_day,
        merge_classes=classes_of(r.merge_classes),
        merge_sha=r.merge_sha,
        merge_seq=int(r.merge_seq),
        reverted=bool(r.reverted),
    )


def _state_row(key: Key, s: agg.PrState) -> dict[str, Any]:
    return {
        "repo": key[0],
        "pr_number": key[1],
        "agent_id": s.agent_id,
        "day": s.day,
        "classes": _classes_text(s.classes),
        "conclusion": s.conclusion,
        "blocked": s.blocked,
        "named": s.named,
        "merge_agent": s.merge_agent,
        "merge_day": s.merge_day,
        "merge_classes": _classes_text(s.merge_classes),
        "merge_sha": s.merge_sha,
        "merge_seq": s.merge_seq,
        "reverted": s.reverted,
    }


_STATE_OF = sa.select(AGENT_PR_STATE).where(
    AGENT_PR_STATE.c.repo == sa.bindparam("repo"),
    AGENT_PR_STATE.c.pr_number == sa.bindparam("pr"),
)


def _load_state(conn: Connection, key: Key) -> agg.PrState:
    found = conn.execute(_STATE_OF, {"repo": key[0], "pr": key[1]}).first()
    return _state(found) if found is not None else agg.PrState()


def _candidates(conn: Connection, fact: MergeFact) -> list[tuple[Key, agg.PrState]]:
    """Earlier merges this one may revert: by PR number, or by merge SHA prefix."""
    pulls, commits = agg.reverted_by(fact)
    t = AGENT_PR_STATE.c
    wanted: list[sa.ColumnElement[bool]] = []
    numbers = {int(p.rsplit("#", 1)[1]) for p in pulls if p.rsplit("#", 1)[-1].isdigit()}
    if numbers:
        wanted.append(t.pr_number.in_(sorted(numbers)))
    wanted += [t.merge_sha.like(f"{c}%") for c in commits if c.isalnum() and len(c) >= 7]
    if not wanted:
        return []
    rows = conn.execute(sa.select(AGENT_PR_STATE).where(sa.or_(*wanted))).all()
    return [((r.repo, int(r.pr_number)), _state(r)) for r in rows]


def _insert(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"aggregates need SQLite or PostgreSQL, not {dialect}")


@functools.cache
def _adding(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> Any:
    """The upsert adding a row's counters to what is stored (`x = x + excluded.x`; the MAXED
    ones `x = max(x, excluded.x)`). Built once per dialect and table: building it per append
    cost more than running it."""
    stmt = _insert(dialect, table)
    greatest = sa.func.greatest if dialect == "postgresql" else sa.func.max
    set_ = {
        c.name: greatest(c, stmt.excluded[c.name])
        if c.name in agg.MAXED
        else c + stmt.excluded[c.name]
        for c in table.c
        if c.name not in keys
    }
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)


@functools.cache
def _replacing(dialect: str) -> Any:
    """The upsert writing a PR's state over what is stored."""
    stmt = _insert(dialect, AGENT_PR_STATE)
    keys = ("repo", "pr_number")
    set_ = {c.name: stmt.excluded[c.name] for c in AGENT_PR_STATE.c if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)


def write(conn: Connection, inc: agg.Increments) -> None:
    """Apply one fact's increments (counters added, PR states replaced)."""
    dialect = conn.dialect.name
    if inc.counts:
        conn.execute(_adding(dialect, AGENT_DAY, DAY_KEYS), _day_rows(inc.counts))
    if inc.latency:
        lat = [
            {"agent_id": a, "rule_class": c, "day": d, "bucket": b, "n": n}
            for (a, c, d, b), n in inc.latency.items()
        ]
        conn.execute(_adding(dialect, AGENT_DAY_LATENCY, (*DAY_KEYS, "bucket")), lat)
    if inc.waivers:
        rows = [
            {"agent_id": a, "day": d, "rule": r, "n": n} for (a, d, r), n in inc.waivers.items()
        ]
        conn.execute(_adding(dialect, AGENT_DAY_WAIVER, ("agent_id", "day", "rule")), rows)
    if inc.states:
        conn.execute(_replacing(dialect), [_state_row(k, s) for k, s in inc.states.items()])


def _day_rows(counts: Mapping[agg.RowKey, agg.Counts]) -> list[dict[str, Any]]:
    return [
        {"agent_id": a, "rule_class": c, "day": d, **{n: getattr(v, n) for n in agg.COUNTERS}}
        for (a, c, d), v in counts.items()
    ]


# --- the rebuild ----------------------------------------------------------------------------


@dataclass
class Fold:
    """The whole chain folded in memory, with the indexes a revert lookup needs."""

    states: dict[Key, agg.PrState] = field(default_factory=dict)
    counts: dict[agg.RowKey, agg.Counts] = field(default_factory=dict)
    latency: dict[tuple[str, str, date, int], int] = field(default_factory=lambda: defaultdict(int))
    waivers: dict[tuple[str, date, str], int] = field(default_factory=lambda: defaultdict(int))
    by_pull: dict[str, Key] = field(default_factory=dict)
    by_sha7: dict[str, set[Key]] = field(default_factory=lambda: defaultdict(set))

    def candidates(self, fact: MergeFact) -> list[tuple[Key, agg.PrState]]:
        pulls, commits = agg.reverted_by(fact)
        keys = {self.by_pull[p] for p in pulls if p in self.by_pull}
        for c in commits:
            if len(c) >= 7:
                keys |= self.by_sha7.get(c[:7], set())
        return [(k, self.states[k]) for k in keys]

    def add(self, fact: Fact) -> None:
        inc = step(fact, lambda k: self.states.get(k, agg.PrState()), self.candidates)
        for key, change in inc.counts.items():
            self.counts[key] = self.counts.get(key, agg.Counts()) + change
        for lkey, n in inc.latency.items():
            self.latency[lkey] += n
        for wkey, n in inc.waivers.items():
            self.waivers[wkey] += n
        for pkey, state in inc.states.items():
            self.states[pkey] = state
            if state.merge_day is not None:
                self.by_pull[pull_key(*pkey)] = pkey
                if state.merge_sha:
                    self.by_sha7[state.merge_sha[:7]].add(pkey)


def _extract(conn: Connection) -> sa.ColumnElement[Any]:
    paths = list(FIELDS.values())
    if conn.dialect.name == "postgresql":
        doc = sa.cast(EVENTS.c.payload, postgresql.JSONB)
        return sa.func.jsonb_build_array(*(sa.func.jsonb_extract_path(doc, *p) for p in paths))
    return sa.func.json_extract(EVENTS.c.payload, *("$." + ".".join(p) for p in paths))


def scan(conn: Connection) -> Iterator[Fact]:
    """Every counted event's fact, in chain order, read in chunks (payload fields extracted by
    the database, as agent_events reads them)."""
    columns = [getattr(EVENTS.c, name) for name in Row._fields]
    last = 0
    while True:
        rows = conn.execute(
            sa.select(*columns, _extract(conn).label("f"))
            .where(EVENTS.c.seq > last, EVENTS.c.kind.in_(KINDS))
            .order_by(EVENTS.c.seq)
            .limit(CHUNK)
        ).all()
        for r in rows:
            values = json.loads(r.f) if isinstance(r.f, str) else r.f
            fact = fact_of(Row(*r[: len(Row._fields)]), dict(zip(FIELDS, values, strict=True)))
            if fact is not None:
                yield fact
        if len(rows) < CHUNK:
            return
        last = int(rows[-1].seq)


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild wrote: events folded and rows per table."""

    events: int
    rows: dict[str, int]


def rebuild(conn: Connection) -> Rebuilt:
    """Recompute every aggregate from the chain, in the caller's transaction (hold the chain
    lock: app.store.audit.store.locked_chain). Idempotent."""
    fold, events = Fold(), 0
    for fact in scan(conn):
        fold.add(fact)
        events += 1
    for table in AGGREGATE_TABLES:
        conn.execute(sa.delete(table))
    days = _day_rows({k: v for k, v in fold.counts.items() if v})
    lat = [
        {"agent_id": a, "rule_class": c, "day": d, "bucket": b, "n": n}
        for (a, c, d, b), n in fold.latency.items()
    ]
    waived = [{"agent_id": a, "day": d, "rule": r, "n": n} for (a, d, r), n in fold.waivers.items()]
    states = [_state_row(k, s) for k, s in fold.states.items()]
    written = {}
    for table, rows in zip(AGGREGATE_TABLES, (days, lat, waived, states), strict=True):
        for i in range(0, len(rows), CHUNK):
            conn.execute(sa.insert(table), rows[i : i + CHUNK])
        written[table.name] = len(rows)
    return Rebuilt(events, written)


def rebuild_aggregates(engine: Engine) -> Rebuilt:
    """`rebuild` under the chain lock, committed (no append can interleave)."""
    from app.store.audit.store import locked_chain

    with locked_chain(engine) as conn:
        return rebuild(conn)
