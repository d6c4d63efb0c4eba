"""Streaming reads of audit events in seq order with flat memory, on both databases.

PostgreSQL: one server-side cursor (`stream_results` + `yield_per`), so the server sends rows as
they are consumed. SQLite: keyset pages (`seq > last … LIMIT n`), each a short read, so a long
export never holds a read transaction (and WAL checkpoints) open.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, Row

from app.store.audit.chain import iso_utc
from app.store.tables import EVENTS

CHUNK = 5_000
EVENT_COLUMNS = (
    "seq",
    "kind",
    "occurred_at",
    "repo",
    "pr_number",
    "head_sha",
    "agent_id",
    "run_id",
    "payload",
    "prev_hash",
    "hash",
)


def _iso_column(dialect: str) -> sa.ColumnElement[str]:
    """occurred_at as the database already spells it, to skip datetime objects per row.

    PostgreSQL formats it as iso_utc does; SQLite returns SQLAlchemy's stored text
    (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC), which `iso_text` rewrites.
    """
    if dialect == "postgresql":
        utc = sa.func.timezone("UTC", EVENTS.c.occurred_at)
        return sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"').label("occurred_iso")
    return sa.type_coerce(EVENTS.c.occurred_at, sa.String()).label("occurred_iso")


def payload_text(dialect: str, key: str) -> sa.ColumnElement[str]:
    """A top-level field of the stored payload as text (`"2"`, `"blocked"`, a SHA), read by the
    database so rows can be filtered on it: PostgreSQL through JSONB, SQLite `json_extract`."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        value: sa.ColumnElement[str] = sa.cast(EVENTS.c.payload, JSONB)[key].astext
        return value
    return sa.cast(sa.func.json_extract(EVENTS.c.payload, f"$.{key}"), sa.String)


def iso_text(value: str) -> str:
    """`occurred_iso` from either database as iso_utc(occurred_at)."""
    if value.endswith("Z"):
        return value
    if len(value) == 26 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"
    return iso_utc(datetime.fromisoformat(value))


def stream_events(
    engine: Engine,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
    *,
    chunk: int = CHUNK,
) -> Generator[Row[Any], None, None]:
    """Rows of EVENT_COLUMNS matching `conditions`, ordered by seq.

    Instead of `occurred_at` each row has `occurred_iso` (see `_iso_column`; pass it through
    `iso_text`).
    """
    columns = [
        EVENTS.c[name] if name != "occurred_at" else _iso_column(engine.dialect.name)
        for name in EVENT_COLUMNS
    ]
    if engine.dialect.name == "postgresql":
        query = sa.select(*columns).where(*conditions).order_by(EVENTS.c.seq)
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=chunk).execute(query)
            try:
                yield from result
            finally:
                result.close()  # a consumer that stops early must not leak the server cursor
        return
    last = 0
    while True:
        query = (
            sa.select(*columns)
            .where(EVENTS.c.seq > last, *conditions)
            .order_by(EVENTS.c.seq)
            .limit(chunk)
        )
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        yield from rows
        last = int(rows[-1].seq)
        if len(rows) < chunk:
            return


def count_events(engine: Engine, conditions: Sequence[sa.ColumnElement[bool]] = ()) -> int:
    """How many events match (for progress bars)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(EVENTS).where(*conditions)
            ).scalar_one()
        )
