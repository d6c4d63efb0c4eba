"""`freezes:` in `.github/countersign.yml`: named change freezes, and who may grant an exception.

A window is either one-off (`start`/`end`, ISO 8601; a time without an offset is in `timezone`)
or recurring (`cron`, five fields `minute hour day-of-month month day-of-week`, read in
`timezone`, lasting `duration` such as `64h` or `2d`). `kinds`, `paths` and `environments` say
what it covers (empty: everything); `exception_by` names the `@org/team`s (or `@user`s) whose
members may grant `/countersign freeze-exception reason: …`. Parsing and validation only: the
decision is `app.gate.freeze`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.models import KINDS

MAX_DURATION = timedelta(days=14)
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")


def parse_duration(text: str) -> timedelta:
    """`30m`, `8h`, `2d`, `1w` as a timedelta; ValueError names the accepted form."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"duration {text!r} must be a positive number and a unit: 30m, 8h, 2d, 1w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _cron_field(text: str, index: int) -> frozenset[int]:
    """One cron field (`*`, `5`, `1-5`, `*/15`, `1,3,5`) as the set of values it allows."""
    low, high = _CRON_RANGES[index]
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"cron {_CRON_NAMES[index]} step {part!r} must be a positive number")
        if body == "*":
            first, last = low, high
        elif re.fullmatch(r"\d+-\d+", body):
            first, last = (int(v) for v in body.split("-"))
        elif body.isdigit():
            first = last = int(body)
        else:
            raise ValueError(f"cron {_CRON_NAMES[index]} {part!r} is not `*`, `N`, `N-M` or `*/N`")
        if not low <= first <= last <= high:
            raise ValueError(f"cron {_CRON_NAMES[index]} {part!r} must lie in {low}-{high}")
        values.update(range(first, last + 1, step or 1))
    if index == 4 and 7 in values:  # Sunday is 0 or 7
        values.add(0)
    return frozenset(values)


class Cron:
    """A parsed five-field cron expression, read as cron reads it: when both day-of-month and
    day-of-week are restricted (neither starts with `*`), a day matching either one counts
    (`0 0 1 * 1`: the 1st of each month and every Monday)."""

    def __init__(self, text: str) -> None:
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(
                f"cron {text!r} needs five fields: minute hour day-of-month month day-of-week"
            )
        self.fields = tuple(_cron_field(f, i) for i, f in enumerate(fields))
        self.either_day = not fields[2].startswith("*") and not fields[4].startswith("*")

    def day_matches(self, day: date) -> bool:
        """Whether the cron names a (local) date."""
        _, _, days, months, weekdays = self.fields
        in_month, on_weekday = day.day in days, (day.isoweekday() % 7) in weekdays
        on_day = (in_month or on_weekday) if self.either_day else (in_month and on_weekday)
        return day.month in months and on_day


class FreezeWindow(BaseModel):
    """One named freeze window (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    start: str | None = None
    end: str | None = None
    cron: str | None = None
    duration: str | None = None
    timezone: str = "UTC"
    kinds: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    exception_by: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name like Europe/Berlin"
            ) from None
        return v

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for kind in v:
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}; use one of {sorted(KINDS)}")
        return v

    @field_validator("exception_by")
    @classmethod
    def _handles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for handle in v:
            if not handle.startswith("@"):
                raise ValueError(f"exception_by {handle!r} must be '@user' or '@org/team'")
        return v

    @model_validator(mode="after")
    def _shape(self) -> FreezeWindow:
        one_off = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if one_off == recurring:
            raise ValueError(
                f"freeze {self.name!r} needs either `start` and `end` or `cron` and `duration`"
            )
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError(f"freeze {self.name!r} needs both `start` and `end`")
            if self.bounds()[0] >= self.bounds()[1]:
                raise ValueError(f"freeze {self.name!r}: `start` must be before `end`")
        else:
            if self.cron is None or self.duration is None:
                raise ValueError(f"freeze {self.name!r} needs both `cron` and `duration`")
            Cron(self.cron)
            if parse_duration(self.duration) > MAX_DURATION:
                raise ValueError(f"freeze {self.name!r}: `duration` may be at most 14d")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _moment(self, text: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"freeze {self.name!r}: {text!r} is not ISO 8601 (e.g. 2026-12-20T00:00)"
            ) from None
        if moment.utcoffset() is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC)

    def bounds(self) -> tuple[datetime, datetime]:
        """A one-off window's start and end, in UTC."""
        assert self.start is not None and self.end is not None
        return self._moment(self.start), self._moment(self.end)

    def active_until(self, now: datetime) -> datetime | None:
        """When the window in force at `now` ends (UTC), or None when none is."""
        if self.cron is None:
            start, end = self.bounds()
            return end if start <= now < end else None
        assert self.duration is not None
        cron, length = Cron(self.cron), parse_duration(self.duration)
        latest = _latest_start(cron, self.zone, now.astimezone(UTC), length)
        return latest + length if latest is not None else None


def _latest_start(cron: Cron, zone: ZoneInfo, now: datetime, length: timedelta) -> datetime | None:
    """The latest moment in (now − length, now] the cron names on `zone`'s wall clock (UTC).

    Day by day backwards over the local dates the span touches, then the field's hours and
    minutes of a matching day, latest first: a few checks for a usual cron, never a minute scan.
    """
    minute, hour = cron.fields[:2]
    earliest = now - length
    local = now.astimezone(zone).date()
    last_date = earliest.astimezone(zone).date()
    while local >= last_date:
        if cron.day_matches(local):
            for h in sorted(hour, reverse=True):
                for m in sorted(minute, reverse=True):
                    start = datetime(local.year, local.month, local.day, h, m, tzinfo=zone)
                    start = start.astimezone(UTC)
                    if earliest < start <= now:
                        return start
        local -= timedelta(days=1)
    return None


def validate_freezes(freezes: tuple[FreezeWindow, ...]) -> tuple[FreezeWindow, ...]:
    """Freeze names are unique (the check and the audit record name them)."""
    seen: set[str] = set()
    for window in freezes:
        if window.name in seen:
            raise ValueError(f"freeze name {window.name!r} is used twice")
        seen.add(window.name)
    return freezes
