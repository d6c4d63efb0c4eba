"""Dates and times given as filters (`since`, `until`) by people: parsed once, the same way, in
the console, the audit API and the CLI.

A filter is a UTC instant between 0001-01-02 and 9999-12-30, so that a whole-day `until` (the next
midnight) and the conversion of an offset time to UTC (`9999-12-31T23:00-05:00`) can never leave
the range Python's datetime holds: at the edges the caller gets a clear refusal, not an overflow
halfway through a streamed export.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.errors import UsageError

EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
END = datetime(9999, 12, 31, tzinfo=UTC)  # exclusive
RANGE = "between 0001-01-02 and 9999-12-30 (UTC)"
HINT = "use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00Z"


def aware_utc(moment: datetime) -> datetime:
    """A stored time as an aware datetime: naive values (SQLite returns them) are UTC."""
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def parse_moment(value: str, name: str, *, whole_day: bool = False) -> datetime:
    """`value` as an aware UTC datetime; naive times are UTC. With `whole_day`, a bare date
    (`2026-01-31`) means the end of that day (the next midnight), as an exclusive `until`."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{name} {value!r} is not a date", hint=HINT) from None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = END
    if not EARLIEST <= moment < END:
        raise UsageError(f"{name} {value!r} is out of range: use a date {RANGE}")
    if whole_day and len(value.strip()) == 10:
        moment += timedelta(days=1)
    return moment
