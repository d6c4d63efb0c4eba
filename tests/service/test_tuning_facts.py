"""When the sweep must look at a PR again: a freeze it waited for ended, a waiver expired."""

from __future__ import annotations

from datetime import UTC, datetime

from app.service.tuning_facts import due_for_recheck

NOW = datetime(2027, 1, 2, 0, 1, tzinfo=UTC)


def test_an_ended_freeze_without_exception_is_due_and_one_in_force_is_not() -> None:
    ended = {"freeze": {"name": "holidays", "until": "2027-01-02T00:00:00Z"}}
    assert due_for_recheck(ended, NOW) == "freeze holidays ended"
    later = {"freeze": {"name": "holidays", "until": "2027-01-03T00:00:00Z"}}
    assert due_for_recheck(later, NOW) is None
    excepted = {"freeze": {"name": "h", "until": "2027-01-02T00:00:00Z", "exception": "rita: x"}}
    assert due_for_recheck(excepted, NOW) is None  # it did not wait


def test_an_expired_active_waiver_is_due_and_an_unreadable_record_is_looked_at() -> None:
    waiver = {"rule": "pricing.large-change", "state": "active", "expires_at": "2027-01-01T00:00Z"}
    assert due_for_recheck({"waivers": [waiver]}, NOW) == "waiver of pricing.large-change expired"
    assert due_for_recheck({"waivers": [{**waiver, "state": "expired"}]}, NOW) is None
    assert due_for_recheck({"freeze": {"name": "x"}}, NOW) == "unreadable freeze or waiver"
    assert due_for_recheck({}, NOW) is None
