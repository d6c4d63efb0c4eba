"""`freezes:` in the repo config: one-off and recurring windows, validated with file and line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.config.repo import parse_repo_config
from app.core.errors import ConfigError

CONFIG = """\
freezes:
  - name: weekend
    cron: "0 18 * * 5"
    duration: 62h
    timezone: Europe/Berlin
    kinds: [pricing]
    exception_by: ["@acme/release"]
  - name: year-end
    start: "2026-12-20"
    end: "2027-01-02T00:00"
    timezone: America/New_York
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_recurring_window_reads_the_cron_in_its_time_zone() -> None:
    weekend = parse_repo_config(CONFIG).freezes[0]
    # Friday 18:00 in Berlin (CET, UTC+1) is 17:00 UTC; it lasts 62 hours, to Monday 07:00 UTC.
    assert weekend.active_until(at("2026-12-04T16:59:00+00:00")) is None
    assert weekend.active_until(at("2026-12-04T17:00:00+00:00")) == at("2026-12-07T07:00:00+00:00")
    assert weekend.active_until(at("2026-12-06T12:00:00+00:00")) == at("2026-12-07T07:00:00+00:00")
    assert weekend.active_until(at("2026-12-07T07:00:00+00:00")) is None


def test_a_one_off_window_without_an_offset_is_in_its_time_zone() -> None:
    year_end = parse_repo_config(CONFIG).freezes[1]
    assert year_end.active_until(at("2026-12-20T04:59:00+00:00")) is None  # 23:59 in New York
    assert year_end.active_until(at("2026-12-20T05:00:00+00:00")) == at("2027-01-02T05:00:00+00:00")


@pytest.mark.parametrize(
    ("entry", "says", "line"),
    [
        ("{name: a, cron: '0 18 * * 8', duration: 2h}", "must lie in 0-7", 2),
        ("{name: a, cron: '0 18 * *', duration: 2h}", "needs five fields", 2),
        ("{name: a, cron: '0 18 * * 5', duration: 15d}", "at most 14d", 2),
        ("{name: a, start: '2026-12-02', end: '2026-12-01'}", "`start` must be before `end`", 2),
        ("{name: a, start: '2026-12-02'}", "needs both `start` and `end`", 2),
        (
            "{name: a, cron: '0 18 * * 5', duration: 2h, timezone: Mars/Base}",
            "unknown time zone",
            2,
        ),
        (
            "{name: a, start: '2026-12-01', end: '2026-12-02', exception_by: [acme]}",
            "must be '@user'",
            2,
        ),
        ("{name: a, start: 'soon', end: '2026-12-02'}", "is not ISO 8601", 2),
    ],
)
def test_a_bad_window_fails_with_where_and_why(entry: str, says: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_repo_config(f"freezes:\n  - {entry}\n")
    assert says in str(caught.value) and caught.value.line == line


def test_names_are_unique() -> None:
    text = "freezes:\n  - {name: a, cron: '0 1 * * *', duration: 1h}\n  - {name: a, cron: '0 2 * * *', duration: 1h}\n"
    with pytest.raises(ConfigError, match="used twice"):
        parse_repo_config(text)


@pytest.mark.parametrize(
    ("cron", "duration", "now", "until"),
    [
        # Every 15 minutes in office hours, 10 minutes each (UTC).
        ("*/15 9-17 * * 1-5", "10m", "2026-12-07T09:20:00+00:00", "2026-12-07T09:25:00+00:00"),
        ("*/15 9-17 * * 1-5", "10m", "2026-12-07T09:26:00+00:00", None),
        ("*/15 9-17 * * 1-5", "10m", "2026-12-06T09:20:00+00:00", None),  # a Sunday
        # A nightly window that crosses midnight: found from the next local date.
        ("0 22 * * *", "4h", "2026-12-08T01:00:00+00:00", "2026-12-08T02:00:00+00:00"),
        # Sunday as 7.
        ("0 0 * * 7", "1d", "2026-12-06T12:00:00+00:00", "2026-12-07T00:00:00+00:00"),
        # Day-of-month and day-of-week both set: either day counts, as in cron (2026-12-01 is a
        # Tuesday, 2026-12-07 a Monday, 2026-12-08 a Tuesday).
        ("0 0 1 * 1", "1d", "2026-12-01T12:00:00+00:00", "2026-12-02T00:00:00+00:00"),
        ("0 0 1 * 1", "1d", "2026-12-07T12:00:00+00:00", "2026-12-08T00:00:00+00:00"),
        ("0 0 1 * 1", "1d", "2026-12-08T12:00:00+00:00", None),
        # Only one of them set (the other `*`): both must match.
        ("0 0 * 12 1", "1d", "2026-12-08T12:00:00+00:00", None),
        ("0 0 1-7 * *", "1d", "2026-12-08T12:00:00+00:00", None),
        ("0 0 */2 * 1", "1d", "2026-12-01T12:00:00+00:00", None),
    ],
)
def test_cron_windows(cron: str, duration: str, now: str, until: str | None) -> None:
    window = parse_repo_config(
        f"freezes:\n  - {{name: w, cron: '{cron}', duration: {duration}}}\n"
    ).freezes[0]
    assert window.active_until(at(now)) == (at(until) if until else None)


def test_a_recurring_window_follows_daylight_saving_time() -> None:
    """Friday 18:00 in Berlin is 16:00 UTC in summer (CEST) and 17:00 UTC in winter (CET)."""
    weekend = parse_repo_config(CONFIG).freezes[0]
    assert weekend.active_until(at("2026-07-03T16:00:00+00:00")) == at("2026-07-06T06:00:00+00:00")
    assert weekend.active_until(at("2026-07-03T15:59:00+00:00")) is None
