"""Streaming export of merge records (JSONL or CSV), one per merge, verifiable offline.

Layout (format_version 1):
- line 1, a header: JSONL `{"_countersign_export": {"format_version": 1, "filters": {...},
  "exported_at": ...}}`; CSV the same JSON after `#`. Non-null filters mean the file may skip
  merge indexes.
- one record per merge: seq, hash, prev_hash, the merge fields (docs/adr/0005-audit-chain.md; merge_index and
  prev_merge_hash among them) and `event`, the exact hashed body. CSV writes nested fields
  (findings, approvals) and `event` as JSON text; a cell starting with `=`, `+`, `-`, `@`, tab
  or CR gets a leading `'` (app.core.csvcell), the hashed `event` keeps the exact text.
- a footer `{"_countersign_export_end": {"count": N, "last_seq": S, "last_hash": H}}` (CSV: `#`).

JSONL lines are assembled from the stored canonical text without parsing it, which keeps the
export at disk speed and the `event` byte-identical to what was hashed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine

from app.core.csvcell import neutralise_cell
from app.core.moments import aware_utc
from app.store.audit.chain import GENESIS_HASH, MERGE_KINDS, body_text, iso_utc
from app.store.audit.records import MERGE_FIELDS
from app.store.audit.stream import count_events, iso_text, payload_text, stream_events
from app.store.audit.verify import CHAIN_FIELDS, csv_cell
from app.store.tables import EVENTS

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")
CSV_COLUMNS: tuple[str, ...] = (*CHAIN_FIELDS, *MERGE_FIELDS, "event")


def _conditions(
    since: datetime | None,
    until: datetime | None,
    repo: str | None,
    agent: str | None,
    *,
    run_id: str | None = None,
    tier: str | None = None,
    bypass: bool | None = None,
    dialect: str = "sqlite",
) -> list[sa.ColumnElement[bool]]:
    kinds = MERGE_KINDS if bypass is None else ("bypass_merge",) if bypass else ("merge",)
    conditions: list[sa.ColumnElement[bool]] = [EVENTS.c.kind.in_(kinds)]
    if run_id is not None:
        conditions.append(EVENTS.c.run_id == run_id)
    if tier is not None:
        conditions.append(payload_text(dialect, "tier") == tier)
    if since is not None:
        conditions.append(EVENTS.c.occurred_at >= aware_utc(since))
    if until is not None:
        conditions.append(EVENTS.c.occurred_at < aware_utc(until))
    if repo is not None:
        conditions.append(EVENTS.c.repo == repo)
    if agent is not None:
        conditions.append(EVENTS.c.agent_id == agent)
    return conditions


def count_merges(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    repo: str | None = None,
    agent: str | None = None,
) -> int:
    """How many records an export with these filters will hold."""
    return count_events(engine, _conditions(since, until, repo, agent))


def export_merges(
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    repo: str | None = None,
    agent: str | None = None,
    fmt: Format = "jsonl",
    *,
    progress: Callable[[int], None] | None = None,
    run_id: str | None = None,
    tier: str | None = None,
    bypass: bool | None = None,
) -> Generator[str, None, None]:
    """Export lines (each ending in a newline): header, one record per merge, footer.

    `since` is inclusive and `until` exclusive, on the time the merge was recorded. The console's
    extra filters (`run_id`, `tier`, `bypass`) appear in the header only when set.
    """
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    filters: dict[str, Any] = {
        "since": iso_utc(since) if since else None,
        "until": iso_utc(until) if until else None,
        "repo": repo,
        "agent": agent,
    }
    extra = {"run_id": run_id, "tier": tier, "bypass": bypass}
    filters.update({k: v for k, v in extra.items() if v is not None})
    conditions = _conditions(
        since,
        until,
        repo,
        agent,
        run_id=run_id,
        tier=tier,
        bypass=bypass,
        dialect=engine.dialect.name,
    )
    header = {
        "_countersign_export": {
            "format_version": 1,
            "filters": filters,
            "exported_at": iso_utc(datetime.now(UTC)),
        }
    }
    prefix = "# " if fmt == "csv" else ""
    yield prefix + json.dumps(header, sort_keys=True) + "\n"
    rows = _CsvRows()
    if fmt == "csv":
        yield rows.line(CSV_COLUMNS)
    count, last_seq, last_hash = 0, None, GENESIS_HASH
    render = _jsonl_record if fmt == "jsonl" else rows.record
    for row in stream_events(engine, conditions):
        yield render(row)
        count, last_seq, last_hash = count + 1, int(row.seq), str(row.hash)
        if progress is not None and count % 10_000 == 0:
            progress(count)
    if progress is not None:
        progress(count)
    footer = {
        "_countersign_export_end": {"count": count, "last_seq": last_seq, "last_hash": last_hash}
    }
    yield prefix + json.dumps(footer, sort_keys=True) + "\n"


iter_export = export_merges  # for the HTTP layer: `StreamingResponse(iter_export(engine, ...))`


def _body(row: Any) -> str:
    seq, kind, occurred, repo, pr, head_sha, agent_id, run_id, payload, _prev, _hash = row
    return body_text(seq, kind, iso_text(occurred), repo, pr, head_sha, agent_id, run_id, payload)


def _jsonl_record(row: Any) -> str:
    # Tuple unpacking (column order of stream.EVENT_COLUMNS): the hot path of a large export.
    seq, kind, occurred, repo, pr, head_sha, agent_id, run_id, payload, prev_hash, digest = row
    inner = payload[1:-1] + "," if len(payload) > 2 else ""
    body = body_text(seq, kind, iso_text(occurred), repo, pr, head_sha, agent_id, run_id, payload)
    return f'{{"seq":{seq},"hash":"{digest}","prev_hash":"{prev_hash}",{inner}"event":{body}}}\n'


class _Line(io.StringIO):
    """A CSV writer's target that keeps the row it was last given (one writer per export)."""

    row = ""

    def write(self, text: str) -> int:
        self.row = text
        return len(text)


class _CsvRows:
    """Renders rows as CSV lines with one writer for the whole export (not one per row)."""

    def __init__(self) -> None:
        self._line = _Line()
        # With "\r\n" as terminator the writer quotes cells holding a bare CR as well as LF, so
        # a CR in a title cannot split a row; the line itself ends in "\n" like the header.
        self._writer = csv.writer(self._line, lineterminator="\r\n")

    def line(self, cells: tuple[str, ...] | list[str]) -> str:
        """One CSV row; every cell goes through `neutralise_cell` (no formulas in a spreadsheet)."""
        self._writer.writerow([neutralise_cell(cell) for cell in cells])
        return self._line.row[:-2] + "\n"

    def record(self, row: Any) -> str:
        payload = json.loads(row.payload)
        cells = [str(int(row.seq)), row.hash, row.prev_hash]
        cells += [csv_cell(payload.get(name)) for name in MERGE_FIELDS]
        cells.append(_body(row))
        return self.line(cells)


# Public names for the other readers of merge records (app.store.audit.sample).
merge_conditions = _conditions
jsonl_record = _jsonl_record
