"""Canonical JSON and hashing: what an external auditor must be able to reproduce."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.store.audit.chain import (
    GENESIS_HASH,
    EventFields,
    body_json,
    canonical_json,
    event_body,
    event_hash,
    iso_utc,
    sanitize_payload,
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
optional_text = st.none() | st.text(max_size=20)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    text = canonical_json(
        {
            "b": 1,
            "a": {"z": [1, 2.5], "é": "größe"},
            "t": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        }
    )
    assert text == '{"a":{"z":[1,2.5],"é":"größe"},"b":1,"t":"2026-01-02T03:04:05.000006Z"}'


def test_canonical_json_refuses_nan_and_unknown_types() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"rate": math.nan})
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        canonical_json({"teams": {"a"}})


def test_lone_surrogates_become_replacement_characters() -> None:
    text = canonical_json({"title": "fix \ud800 bug"})
    assert text.encode("utf-8") == '{"title":"fix \ufffd bug"}'.encode()


def test_iso_utc_normalizes_offsets_and_reads_naive_as_utc() -> None:
    plus_two = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert iso_utc(plus_two) == "2026-03-01T12:00:00.000000Z"
    assert iso_utc(datetime(2026, 3, 1, 12, 0)) == "2026-03-01T12:00:00.000000Z"


@given(value=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_canonical_json_ignores_key_order(value: dict[str, object]) -> None:
    reversed_order = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reversed_order)
    assert json.loads(canonical_json(value)) == json.loads(json.dumps(value))


@given(
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=6),
    seq=st.integers(min_value=1, max_value=2**62),
    kind=st.sampled_from(["evaluation", "merge", "approval"]),
    repo=optional_text,
    head_sha=optional_text,
    agent_id=optional_text,
    run_id=optional_text,
    pr=st.none() | st.integers(min_value=1, max_value=10**6),
    moment=st.datetimes(timezones=st.just(UTC)),
)
def test_body_json_equals_canonical_json_of_the_event_body(
    payload: dict[str, object],
    seq: int,
    kind: str,
    repo: str | None,
    head_sha: str | None,
    agent_id: str | None,
    run_id: str | None,
    pr: int | None,
    moment: datetime,
) -> None:
    # Text fields are stored cleaned (no lone surrogates); the fast path assumes that.
    clean = {
        k: (v.encode("utf-8", "replace").decode() if isinstance(v, str) else v)
        for k, v in {
            "repo": repo,
            "head_sha": head_sha,
            "agent_id": agent_id,
            "run_id": run_id,
        }.items()
    }
    fields = EventFields(
        seq=seq,
        kind=kind,
        occurred_at=moment,
        pr_number=pr,
        payload=canonical_json(payload),
        **clean,
    )
    assert body_json(fields) == canonical_json(event_body(fields))


def test_event_hash_is_sha256_of_prev_hash_and_body() -> None:
    fields = EventFields(
        seq=1,
        kind="merge",
        occurred_at=datetime(2026, 11, 21, 16, 2, 11, tzinfo=UTC),
        repo="acme/catalog",
        pr_number=412,
        head_sha="9a8b7c6d",
        agent_id="pricing-bot",
        run_id="run_1",
        payload='{"pr":412}',
    )
    body = (
        '{"agent_id":"pricing-bot","head_sha":"9a8b7c6d","kind":"merge",'
        '"occurred_at":"2026-11-21T16:02:11.000000Z","payload":{"pr":412},"pr_number":412,'
        '"repo":"acme/catalog","run_id":"run_1","seq":1}'
    )
    expected = hashlib.sha256((GENESIS_HASH + body).encode()).hexdigest()
    assert event_hash(GENESIS_HASH, fields) == expected
    assert event_hash("1" * 64, fields) != expected


def test_sanitize_redacts_secret_names_and_secret_field_changes() -> None:
    payload = {
        "db": {"password": "hunter2", "user": "orders"},
        "fields": [{"path": "spec.tls.private_key", "before": "-----BEGIN", "after": None}],
        "changes": [
            {
                "address": "Secret/orders/db",
                "fields": [{"path": "data.URL", "before": "cG9zdGdy", "after": "bXlzcWw="}],
            }
        ],
        "plan": {"path": "monthly_usd", "before": 49, "after": 59},
    }
    cleaned = sanitize_payload(payload)
    assert cleaned["db"] == {"password": "<redacted>", "user": "orders"}
    assert cleaned["fields"][0] == {
        "path": "spec.tls.private_key",
        "before": "<redacted>",
        "after": None,
    }
    assert cleaned["changes"][0]["fields"][0]["before"] == "<redacted>"
    assert cleaned["plan"] == {"path": "monthly_usd", "before": 49, "after": 59}
    assert payload["db"]["password"] == "hunter2"  # the caller's object is untouched
