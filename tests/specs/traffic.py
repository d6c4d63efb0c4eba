"""Check what simulators serve and send against GitHub's descriptions (tests/specs/descriptions.py).

A `TrafficChecker` is an `app.sim.taps` tap: it keeps each exchange or webhook whose *shape*
(operation, status and the set of JSON paths with their types) it has not seen this session, and
`drain()` validates those. Repeats of a known shape cost one JSON parse, so the check stays cheap
in long e2e and load tests while every distinct shape a test produces is validated once.

What counts as a violation:
- a REST request to an endpoint GitHub does not have (a typo), or one not vendored;
- a 2xx/3xx status GitHub does not declare for the operation;
- a response body outside the operation's schema for that status (errors: GitHub's basic-error);
- a request body the simulator accepted (2xx) that GitHub's request schema refuses;
- a GraphQL query GitHub's schema refuses;
- a webhook outside `@octokit/webhooks-schemas` or GitHub's `x-webhooks` for its event and action.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from app.sim.taps import Exchange, SentWebhook
from tests.specs import descriptions
from tests.specs.descriptions import SpecGap

MAX_ERRORS_PER_ITEM = 3


@dataclass(frozen=True)
class Violation:
    """One place where the simulator (or the client) departs from GitHub's description."""

    where: str
    pointer: str
    message: str

    def __str__(self) -> str:
        at = f" at {self.pointer or '/'}" if self.pointer or self.message else ""
        return f"{self.where}{at}: {self.message}"


def shape(value: Any, prefix: str = "", out: set[str] | None = None) -> set[str]:
    """The JSON paths of `value` with their types (array items merged): its shape."""
    out = set() if out is None else out
    if isinstance(value, dict):
        out.add(f"{prefix}:object")
        for key, item in value.items():
            shape(item, f"{prefix}/{key}", out)
    elif isinstance(value, list):
        out.add(f"{prefix}:array")
        for item in value:
            shape(item, f"{prefix}/[]", out)
    else:
        kind = "null" if value is None else type(value).__name__
        if isinstance(value, str) and prefix.endswith(("/action", "/state", "/status")):
            kind = f"str={value}"  # enum-like fields: each value is its own shape
        out.add(f"{prefix}:{kind}")
    return out


def fingerprint(*parts: object) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        if isinstance(part, set):
            part = "\n".join(sorted(part))
        digest.update(repr(part).encode())
    return digest.hexdigest()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return ValueError


def json_pointer(path: list[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _leaves(error: Any) -> list[Any]:
    """For anyOf/oneOf failures, the errors of the branch the instance came closest to."""
    branches = getattr(error.kind, "context", None)
    if not branches:
        return [error]

    def wrong_type(branch: list[Any]) -> bool:
        return any(
            type(e.kind).__name__ == "Type" and list(e.instance_path) == list(error.instance_path)
            for e in branch
        )

    def depth(branch: list[Any]) -> int:
        """How far inside the instance the branch first failed: deeper means a closer match."""
        return min((len(list(e.instance_path)) for e in branch), default=0)

    best = min(branches, key=lambda branch: (wrong_type(branch), -depth(branch), len(branch)))
    return [leaf for e in best for leaf in _leaves(e)]


def schema_errors(validator: Any, instance: Any, where: str) -> list[Violation]:
    found: list[Violation] = []
    for error in validator.iter_errors(instance):
        for leaf in _leaves(error):
            message = leaf.message if len(leaf.message) <= 300 else leaf.message[:300] + "…"
            found.append(Violation(where, json_pointer(list(leaf.instance_path)), message))
        if len(found) >= MAX_ERRORS_PER_ITEM:
            break
    return found[:MAX_ERRORS_PER_ITEM]


class TrafficChecker:
    """Collects novel shapes from the taps; `drain()` validates them."""

    def __init__(self, *, keep: bool = False) -> None:
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._pending: list[Exchange | SentWebhook] = []
        self.checked = 0
        self.keep = keep
        """Also keep every item (not only novel shapes), for tests that assert coverage."""
        self.seen_exchanges: list[Exchange] = []
        self.seen_webhooks: list[SentWebhook] = []

    # --- the tap (runs on simulator threads) --------------------------------------------------
    def __call__(self, item: Exchange | SentWebhook) -> None:
        if self.keep:
            with self._lock:
                if isinstance(item, SentWebhook):
                    self.seen_webhooks.append(item)
                else:
                    self.seen_exchanges.append(item)
        if isinstance(item, SentWebhook):
            key = fingerprint("hook", item.event, item.action, shape(_json(item.body)))
        elif item.path == "/graphql":
            key = fingerprint("graphql", item.request_body, item.status)
        else:
            body = _json(item.response_body) if "json" in item.content_type else None
            request = _json(item.request_body)
            route = _route_key(item.method, item.path)
            key = fingerprint(route, item.status, shape(body), shape(request))
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._pending.append(item)

    # --- validation (runs on the test's thread) ------------------------------------------------
    def drain(self) -> list[Violation]:
        with self._lock:
            items, self._pending = self._pending, []
        found: list[Violation] = []
        for item in items:
            self.checked += 1
            if isinstance(item, SentWebhook):
                found += check_webhook(item)
            elif item.path == "/graphql":
                found += check_graphql(item)
            else:
                found += check_exchange(item)
        return found


@functools.lru_cache(maxsize=8192)
def _route_key(method: str, path: str) -> str:
    """Concrete paths of one endpoint share a key (numbers, SHAs and names differ)."""
    try:
        return f"{method} {descriptions.rest().operation(method, path).template}"
    except SpecGap:
        return f"{method} {path}"


def check_exchange(item: Exchange) -> list[Violation]:
    rest = descriptions.rest()
    where = f"{item.method} {item.path} > {item.status}"
    try:
        op = rest.operation(item.method, item.path)
    except SpecGap as gap:
        return [Violation(where, "", str(gap))]
    where = f"{where} ({op.operation_id}, {op.method} {op.template})"
    found: list[Violation] = []
    request = _json(item.request_body)
    pointer = rest.request_pointer(op)
    if 200 <= item.status < 300 and pointer and request is not None:
        if request is ValueError:
            found.append(Violation(f"{where} request", "", "request body is not JSON"))
        else:
            found += schema_errors(rest.validator(pointer), request, f"{where} request body")
    if rest.declares(op, item.status):
        pointer = rest.response_pointer(op, item.status)
    elif item.status >= 400:
        pointer = rest.error_pointer()
    else:
        declared = sorted(rest.declared(op)["responses"])
        return [
            *found,
            Violation(where, "", f"GitHub declares {declared} for {op.operation_id}, never this"),
        ]
    if pointer is None or "json" not in item.content_type:
        return found
    body = _json(item.response_body)
    if body is ValueError:
        return [*found, Violation(where, "", "response is not JSON")]
    return found + schema_errors(rest.validator(pointer), body, f"{where} response")


def check_graphql(item: Exchange) -> list[Violation]:
    where = f"POST /graphql > {item.status}"
    request = _json(item.request_body)
    query = request.get("query") if isinstance(request, dict) else None
    if not isinstance(query, str):
        return [] if item.status >= 400 else [Violation(where, "", "no query in the request")]
    schema = descriptions.graphql_schema()
    errors = schema.errors(query)
    found = [Violation(f"{where} query {query[:160]!r}", "", e) for e in errors]
    response = _json(item.response_body)
    data = response.get("data") if isinstance(response, dict) else None
    if not errors and isinstance(data, dict):
        found += [
            Violation(f"{where} response data", pointer, message)
            for pointer, message in schema.response_errors(query, data)
        ]
    return found[:MAX_ERRORS_PER_ITEM]


def check_webhook(item: SentWebhook) -> list[Violation]:
    payload = _json(item.body)
    where = f"webhook {item.event}.{item.action}"
    if not isinstance(payload, dict):
        return [Violation(where, "", "payload is not a JSON object")]
    action = payload.get("action")
    if action != item.action:
        return [Violation(where, "/action", f"payload action {action!r} != {item.action!r}")]
    found: list[Violation] = []
    hooks = descriptions.webhooks()
    try:
        key = hooks.key(item.event, item.action)
        found += schema_errors(
            hooks.validator(key), payload, f"{where} (@octokit/webhooks-schemas {key})"
        )
    except SpecGap as gap:
        found.append(Violation(where, "", str(gap)))
    rest = descriptions.rest()
    try:
        pointer = rest.webhook_pointer(item.event, item.action)
        found += schema_errors(rest.validator(pointer), payload, f"{where} (GitHub x-webhooks)")
    except SpecGap as gap:
        found.append(Violation(where, "", str(gap)))
    return found
