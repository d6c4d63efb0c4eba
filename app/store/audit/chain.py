"""Canonical JSON and the hash chain: the part of the audit store an auditor must reproduce.

Canonical JSON (format_version 1), used for payloads and event bodies alike:
- `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)`:
  object keys sorted by code point, no whitespace, non-ASCII characters written as themselves;
- encoded as UTF-8; lone surrogates (legal in JSON text, not in UTF-8) become U+FFFD first;
- no NaN or ±Infinity (they are not JSON); datetimes become ISO-8601 UTC strings
  `YYYY-MM-DDTHH:MM:SS.ffffffZ`; other non-JSON values are refused.

An event's hash is `sha256(prev_hash_hex + canonical_json(body))` as lowercase hex, where the body is
`{seq, kind, occurred_at, repo, pr_number, head_sha, agent_id, run_id, payload}` (payload as an
object). The genesis `prev_hash` is 64 zeros. Any edit, deletion or reordering breaks the links.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.redact import (
    K8S_SECRET_KIND,
    is_k8s_secret_data,
    is_secret_name,
    mask_secret,
    mask_url_passwords,
    redact,
)

GENESIS_HASH = "0" * 64
FORMAT_VERSION = 1
MERGE_KINDS: tuple[str, ...] = ("merge", "bypass_merge")
# Filter columns of an event, in the order they appear (sorted) in the canonical body.
FILTER_FIELDS: tuple[str, ...] = ("agent_id", "head_sha", "pr_number", "repo", "run_id")

# The C string encoder json.dumps(..., ensure_ascii=False) uses, without its per-call overhead.
_encode_str: Callable[[str], str] = json.encoder.encode_basestring
_SURROGATE = re.compile("[\ud800-\udfff]")


def iso_utc(moment: datetime) -> str:
    """The one spelling of a timestamp in hashed text; naive values are read as UTC."""
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable in an audit payload")


def clean_text(value: str) -> str:
    """Replace lone surrogates (legal in JSON, not in UTF-8 or PostgreSQL text) by U+FFFD."""
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate (which canonical JSON replaces by U+FFFD)."""
    return _SURROGATE.search(text) is not None


def _clean(value: Any) -> Any:
    """Strings that UTF-8 cannot carry (lone surrogates) get U+FFFD so hashing never fails."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON text for hashing (see module docstring). Raises ValueError on NaN."""
    return json.dumps(
        _clean(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    )


def sanitize_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Redact secrets at any depth before hashing, so stored, hashed and exported text lacks them.

    Literal values of fields named like secrets (password, token, private_key…; app.core.redact) are
    redacted, and, as defense in depth behind the analyzers, so are the `before`/`after` of a
    field change whose path ends in a secret-like name or that belongs to a Kubernetes Secret's
    `data`/`stringData`.
    """
    cleaned = _redact(dict(payload), secret=False, k8s_secret=False)
    assert isinstance(cleaned, dict)
    return cleaned


def _secret_change(change: dict[str, Any], k8s_secret: bool) -> Callable[[Any], Any] | None:
    """How to hide the `before`/`after` of a field change: all of a Secret's data, only the
    literal values (app.core.redact.mask_secret) of a secret-named field; None to show them."""
    path = change.get("path")
    if not isinstance(path, str) or not ("before" in change or "after" in change):
        return None
    if is_k8s_secret_data(K8S_SECRET_KIND if k8s_secret else None, path):
        return redact
    parts = [p for p in re.split(r"[.\[\]/]", path) if p]
    return mask_secret if parts and is_secret_name(parts[-1]) else None


def _redact(value: Any, *, secret: bool, k8s_secret: bool) -> Any:
    if secret:
        return mask_secret(value)
    if isinstance(value, dict):
        address = value.get("address")
        if isinstance(address, str) and address.startswith(f"{K8S_SECRET_KIND}/"):
            k8s_secret = True
        hide = _secret_change(value, k8s_secret)
        return {
            k: hide(v)
            if hide is not None and k in ("before", "after")
            else _redact(v, secret=is_secret_name(str(k)), k8s_secret=k8s_secret)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, secret=False, k8s_secret=k8s_secret) for v in value]
    return mask_url_passwords(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class EventFields:
    """Everything hashed about one event; `payload` is already canonical JSON text."""

    seq: int
    kind: str
    occurred_at: datetime
    repo: str | None
    pr_number: int | None
    head_sha: str | None
    agent_id: str | None
    run_id: str | None
    payload: str


def _text(value: str | None) -> str:
    return "null" if value is None else _encode_str(value)


def body_text(
    seq: int,
    kind: str,
    occurred_iso: str,
    repo: str | None,
    pr_number: int | None,
    head_sha: str | None,
    agent_id: str | None,
    run_id: str | None,
    payload: str,
) -> str:
    """canonical_json(body) built by concatenation: the payload text is embedded as it is.

    Equal to `canonical_json(event_body(...))` (tested), but needs no payload parse, which is
    what lets export and verify run at disk speed. `occurred_iso` is `iso_utc(occurred_at)`.
    """
    pr = "null" if pr_number is None else str(int(pr_number))
    return (
        f'{{"agent_id":{_text(agent_id)},"head_sha":{_text(head_sha)},"kind":{_encode_str(kind)},'
        f'"occurred_at":"{occurred_iso}","payload":{payload},"pr_number":{pr},'
        f'"repo":{_text(repo)},"run_id":{_text(run_id)},"seq":{int(seq)}}}'
    )


def body_json(event: EventFields) -> str:
    """The canonical body text of `event`."""
    return body_text(
        event.seq,
        event.kind,
        iso_utc(event.occurred_at),
        event.repo,
        event.pr_number,
        event.head_sha,
        event.agent_id,
        event.run_id,
        event.payload,
    )


def event_body(event: EventFields) -> dict[str, Any]:
    """The hashed body as an object (what exports carry under `event`)."""
    return {
        "agent_id": event.agent_id,
        "head_sha": event.head_sha,
        "kind": event.kind,
        "occurred_at": iso_utc(event.occurred_at),
        "payload": json.loads(event.payload),
        "pr_number": event.pr_number,
        "repo": event.repo,
        "run_id": event.run_id,
        "seq": event.seq,
    }


def link_hash(prev_hash: str, body: str) -> str:
    """sha256 over the previous hash (hex text) followed by the canonical body, as hex."""
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, event: EventFields) -> str:
    """The hash of `event` chained onto `prev_hash`."""
    return link_hash(prev_hash, body_json(event))
