"""Fault injection: make the next N requests matching `METHOD /path-glob` fail like GitHub fails.

Paths are matched without the `/api/v3` prefix and without the query (the request-log form), and
globs are segment-aware: `*` matches within one path segment, `**` across segments, so
`/repos/*/*/pulls/*` does not also match `.../pulls/1/files`.

Kinds, each what a GitHub client must survive:
- `status`: any status with GitHub's error body (500, 502, 404 …);
- `secondary_rate_limit`: 403 with `Retry-After`;
- `primary_rate_limit`: 403 or 429 with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset`;
- `graphql_rate_limit`: GraphQL's way, HTTP 200 with `errors[].type == "RATE_LIMITED"` and the
  same `X-RateLimit-*` headers (resource `graphql`);
- `delay`: wait, then answer normally (drive client time-outs);
- `reset`: start the response and drop the connection (the client sees a protocol error).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal[
    "status", "secondary_rate_limit", "primary_rate_limit", "graphql_rate_limit", "delay", "reset"
]


@dataclass(frozen=True)
class Fault:
    """What to do to a matched request."""

    kind: FaultKind
    status: int = 500
    message: str = "Server Error"
    seconds: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def error(cls, status: int = 500, message: str = "Server Error") -> Fault:
        return cls("status", status=status, message=message)

    @classmethod
    def secondary_rate_limit(cls, retry_after: int = 60) -> Fault:
        return cls(
            "secondary_rate_limit",
            status=403,
            message="You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again.",
            headers=(("Retry-After", str(retry_after)),),
        )

    @classmethod
    def primary_rate_limit(cls, status: int = 403, reset_in: int = 60) -> Fault:
        """X-RateLimit-Reset is computed when the fault fires (epoch seconds)."""
        return cls(
            "primary_rate_limit",
            status=status,
            message="API rate limit exceeded for installation.",
            seconds=float(reset_in),
        )

    @classmethod
    def graphql_rate_limit(cls, reset_in: int = 60) -> Fault:
        """HTTP 200 with a RATE_LIMITED error; X-RateLimit-Reset computed when it fires."""
        return cls(
            "graphql_rate_limit",
            status=200,
            message="API rate limit already exceeded for installation.",
            seconds=float(reset_in),
        )

    def body(self) -> dict[str, object] | None:
        """The response body when it is not GitHub's usual error body (GraphQL errors)."""
        if self.kind != "graphql_rate_limit":
            return None
        return {
            "errors": [
                {"type": "RATE_LIMITED", "code": "graphql_rate_limit", "message": self.message}
            ]
        }

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    def response_headers(self, now: float | None = None) -> list[tuple[str, str]]:
        """Headers of the fault's error response (rate-limit headers computed at `now`)."""
        headers = list(self.headers)
        if self.kind in {"primary_rate_limit", "graphql_rate_limit"}:
            reset = int((now if now is not None else time.time()) + self.seconds)
            resource = "graphql" if self.kind == "graphql_rate_limit" else "core"
            headers += [
                ("X-RateLimit-Limit", "5000"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Used", "5000"),
                ("X-RateLimit-Reset", str(reset)),
                ("X-RateLimit-Resource", resource),
            ]
        return headers


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """Segment-aware glob: `**` any characters, `*` any but `/`, `?` one character but `/`."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


@dataclass
class FaultRule:
    method: str
    path: str
    fault: Fault
    remaining: int | None
    """How many more requests it applies to; None = until cleared."""
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = glob_to_regex(self.path)

    def matches(self, method: str, path: str) -> bool:
        return (self.method in {"*", method.upper()}) and bool(self._pattern.match(path))


@dataclass(frozen=True)
class FiredFault:
    """A fault the simulator answered with, and the headers it sent (e.g. X-RateLimit-Reset)."""

    method: str
    path: str
    kind: FaultKind
    status: int
    headers: dict[str, str]


class Faults:
    """The active rules, first match wins; thread-safe. `fired` records each fault answered."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self.fired: list[FiredFault] = []

    def inject(self, method: str, path: str, fault: Fault, times: int | None = 1) -> FaultRule:
        """Apply `fault` to the next `times` requests matching `method path` (None: always)."""
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 (or None for always), got {times}")
        rule = FaultRule(method.upper(), path, fault, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, consuming one use of its rule."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule.fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def active(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)
