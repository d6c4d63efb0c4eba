"""Verification of the audit chain, in the database or in an exported file.

Database: every event's hash is recomputed in seq order; a seq gap or a prev_hash that is not the
previous event's hash means deletion or reordering, a different hash means an edit; the chain head
row must name the last event (catches deleting the newest events).

Exported file: each record's hash is recomputed from its `event` body (edit), the visible fields
must equal the event's (edit of a column), seq must increase (reorder), and merge records must be
contiguous by `merge_index` with `prev_merge_hash` naming the previous record (deletion); a
filtered export (header says so) may skip merge indexes, but linkage is still checked where they
are adjacent. A footer gives the record count and the last hash (truncation).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from app.core.csvcell import neutralise_cell
from app.store.audit.chain import (
    GENESIS_HASH,
    MERGE_KINDS,
    body_text,
    canonical_json,
    has_surrogate,
    link_hash,
)
from app.store.audit.records import MERGE_FIELDS
from app.store.audit.stream import iso_text, stream_events
from app.store.tables import EVENTS, HEAD

Progress = Callable[[int], None]
CHAIN_FIELDS = ("seq", "hash", "prev_hash")
CSV_FIELD_LIMIT = 64 * 2**20


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """`ok`, how many events/records were checked, and the first bad seq with the reason."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(engine: Engine, *, progress: Progress | None = None) -> VerifyResult:
    """Recompute the whole chain in the database, streaming.

    Writers keep appending while this runs, and an append moves the head row and adds its event
    in one transaction. So the head is read first and the walk stops at the seq it names; events
    appended after that are not this verification's business, unless no head covers them (checked
    at the end: the newest seq, read before the head, must not be past the head)."""
    with engine.connect() as conn:
        head = conn.execute(sa.select(HEAD).where(HEAD.c.id == 1)).one_or_none()
    if head is None:
        return _bad(0, None, "the chain head row is missing")
    bound = int(head.seq)
    state = _ChainState()
    with closing(stream_events(engine, [EVENTS.c.seq <= bound], chunk=10_000)) as rows:
        broken = _walk(rows, state, progress)
    if broken is not None:
        return broken
    count, prev_hash = state.count, state.hash
    if bound != count or head.hash != prev_hash:
        return _bad(
            count,
            count + 1 if bound > count else bound,
            f"chain head names seq {head.seq} but the last event is seq {count} "
            "(events deleted from the end, or the head was edited)",
        )
    if int(head.merge_count) != state.merges:
        return _bad(
            count, None, f"head counts {head.merge_count} merges, the chain has {state.merges}"
        )
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(EVENTS.c.seq))).scalar()
        now = conn.execute(sa.select(HEAD.c.seq).where(HEAD.c.id == 1)).scalar()
    if newest is not None and (now is None or int(newest) > int(now)):
        return _bad(
            count,
            int(now or 0) + 1,
            f"events after seq {now} are not covered by the chain head (the head was edited back)",
        )
    return VerifyResult(ok=True, count=count)


@dataclass(slots=True)
class _ChainState:
    count: int = 0
    hash: str = GENESIS_HASH
    merges: int = 0


def _walk(
    rows: Iterator[Any], state: _ChainState, progress: Progress | None
) -> VerifyResult | None:
    """Check each link; the first broken one as a result, None when all hold."""
    prev_hash, count, merges = state.hash, state.count, state.merges
    # Tuple unpacking (column order of stream.EVENT_COLUMNS) is the hot path: ~2x attribute access.
    for seq, kind, occurred, repo, pr, head_sha, agent_id, run_id, payload, prev, digest in rows:
        if seq != count + 1:
            return _bad(count, count + 1, f"seq {count + 1} is missing (next is {seq})")
        if prev != prev_hash:
            return _bad(count, seq, f"seq {seq}: prev_hash does not match seq {seq - 1}'s hash")
        body = body_text(
            seq, kind, iso_text(occurred), repo, pr, head_sha, agent_id, run_id, payload
        )
        if link_hash(prev_hash, body) != digest:
            return _bad(count, seq, f"seq {seq}: content does not match its hash (edited)")
        if kind in MERGE_KINDS:
            merges += 1
        prev_hash = digest
        count += 1
        if progress is not None and count % 10_000 == 0:
            progress(count)
    if progress is not None:
        progress(count)
    state.hash, state.count, state.merges = prev_hash, count, merges
    return None


def _bad(count: int, seq: int | None, reason: str) -> VerifyResult:
    return VerifyResult(ok=False, count=count, first_bad_seq=seq, reason=reason)


# --- exported files -------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def csv_cell(value: Any) -> str:
    """How a merge field (as decoded from the stored JSON) is written in CSV: nested values as
    canonical JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    # Decoded JSON has string keys and JSON types only, so canonical_json's cleaning pass changes
    # nothing unless a lone surrogate is present: dump directly (the hot path of a CSV export).
    text = _DUMP(value)
    return canonical_json(value) if has_surrogate(text) else text


_DUMP = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, dict[str, Any] | None]]:
    """(line number, record, footer) per line; line 1's record is the header.

    CSV rows go through the csv module (quoted fields may span lines); a row whose first cell
    starts with `#` is the footer comment (a data row starts with its seq).
    """
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.readline()
        if not first.startswith("#"):
            yield 1, _header(first, 1), None
            for number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                data = _json(line, number)
                if "_countersign_export_end" in data:
                    yield number, None, _footer(data, number)
                else:
                    yield number, data, None
            return
        yield 1, _header(first[1:], 1), None
        csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))  # big `event` cells
        reader = csv.reader(handle)
        columns = next(reader, None)
        if columns is None:
            raise _Bad(None, "line 2: the CSV column header is missing")
        for row in reader:
            number = reader.line_num + 1
            if row and row[0].startswith("#"):
                yield number, None, _footer(_json(",".join(row)[1:], number), number)
            elif row:
                yield number, _csv_record(dict(zip(columns, row, strict=False)), number), None


def _json(text: str, line: int) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise _Bad(None, f"line {line}: not JSON ({error.args[0][:60]})") from None
    if not isinstance(value, dict):
        raise _Bad(None, f"line {line}: not a JSON object")
    return value


def _header(text: str, line: int) -> dict[str, Any]:
    data = _json(text, line)
    header = data.get("_countersign_export")
    if not isinstance(header, dict) or header.get("format_version") != 1:
        raise _Bad(None, "line 1: not a Countersign export header (format_version 1)")
    return header


def _footer(data: dict[str, Any], line: int) -> dict[str, Any]:
    footer = data.get("_countersign_export_end")
    if not isinstance(footer, dict):
        raise _Bad(None, f"line {line}: unexpected comment line")
    return footer


def _csv_record(row: dict[str, str | None], line: int) -> dict[str, Any]:
    try:
        record: dict[str, Any] = {name: row[name] for name in (*CHAIN_FIELDS, *MERGE_FIELDS)}
        record["event"] = json.loads(row["event"] or "")
        record["seq"] = int(record["seq"] or "")
    except (KeyError, ValueError):
        raise _Bad(None, f"line {line}: CSV row lacks the export columns") from None
    record["_csv"] = True
    return record


def _check_record(record: dict[str, Any], line: int) -> tuple[int, str, dict[str, Any]]:
    """(seq, hash, payload) of a record whose hash and visible fields match its event."""
    event = record.get("event")
    seq = record.get("seq")
    if not isinstance(seq, int) or not isinstance(event, dict):
        raise _Bad(None, f"line {line}: record lacks seq or event")
    payload = event.get("payload")
    if event.get("seq") != seq or not isinstance(payload, dict):
        raise _Bad(seq, f"seq {seq}: record seq does not match its event")
    if event.get("kind") not in MERGE_KINDS:
        raise _Bad(seq, f"seq {seq}: not a merge event")
    try:
        body = canonical_json(event)
    except ValueError:
        raise _Bad(seq, f"seq {seq}: event is not canonical JSON") from None
    if link_hash(str(record.get("prev_hash")), body) != record.get("hash"):
        raise _Bad(seq, f"seq {seq}: event does not match its hash (edited)")
    if record.get("_csv"):
        visible = {name: neutralise_cell(csv_cell(payload.get(name))) for name in MERGE_FIELDS}
        shown = {name: record.get(name) or "" for name in MERGE_FIELDS}
    else:
        visible = payload
        shown = {k: v for k, v in record.items() if k not in (*CHAIN_FIELDS, "event")}
    if visible != shown:
        changed = sorted(k for k in set(visible) | set(shown) if visible.get(k) != shown.get(k))
        raise _Bad(seq, f"seq {seq}: field(s) {', '.join(changed)} differ from the hashed event")
    return seq, str(record["hash"]), payload


def verify_export(path: Path, *, progress: Progress | None = None) -> VerifyResult:
    """Verify an exported JSONL or CSV file offline; names the first bad seq."""
    state = _ExportState()
    try:
        return _verify_export(path, state, progress)
    except _Bad as bad:
        return _bad(state.count, bad.seq, bad.reason)
    except OSError as error:
        return _bad(state.count, None, f"cannot read {path}: {error.strerror}")
    except UnicodeDecodeError:
        return _bad(state.count, None, f"{path} is not UTF-8 text")
    except csv.Error as error:
        return _bad(state.count, None, f"{path}: malformed CSV ({error})")


@dataclass(slots=True)
class _ExportState:
    count: int = 0
    seq: int = 0
    index: int = 0
    hash: str = GENESIS_HASH


def _verify_export(path: Path, state: _ExportState, progress: Progress | None) -> VerifyResult:
    header: dict[str, Any] = {}
    footer: dict[str, Any] | None = None
    for line, record, end in _records(path):
        if line == 1:
            header = record or {}
            continue
        if end is not None:
            footer = end
            continue
        if footer is not None:
            raise _Bad(None, f"line {line}: data after the export footer")
        assert record is not None
        seq, digest, payload = _check_record(record, line)
        if seq <= state.seq:
            raise _Bad(seq, f"seq {seq} comes after seq {state.seq} (records reordered)")
        index = payload.get("merge_index")
        if not isinstance(index, int) or index <= state.index:
            raise _Bad(seq, f"seq {seq}: merge_index {index} does not follow {state.index}")
        filters = header.get("filters")
        filtered = isinstance(filters, dict) and any(v is not None for v in filters.values())
        adjacent = index == state.index + 1
        if not adjacent and not filtered:
            raise _Bad(
                seq,
                f"seq {seq}: merge_index jumps from {state.index} to {index} "
                "(a record before it was deleted or moved)",
            )
        if adjacent and payload.get("prev_merge_hash") != state.hash:
            raise _Bad(seq, f"seq {seq}: prev_merge_hash does not name the previous merge")
        state.seq, state.index, state.hash = seq, index, digest
        state.count += 1
        if progress is not None and state.count % 10_000 == 0:
            progress(state.count)
    if footer is None:
        return _bad(state.count, None, "the export footer is missing (file truncated)")
    if footer.get("count") != state.count or footer.get("last_hash") != state.hash:
        last = footer.get("last_seq")
        return _bad(
            state.count,
            last if isinstance(last, int) else None,
            f"footer says {footer.get('count')} records ending at seq {last}, the file has "
            f"{state.count} ending at seq {state.seq} (records deleted from the end)",
        )
    return VerifyResult(ok=True, count=state.count)
