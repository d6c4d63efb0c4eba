"""Observers of what every simulator serves and sends, so tests can check it against GitHub.

The test suite registers a tap that validates each distinct REST response, GraphQL query and
webhook against GitHub's published descriptions (tests/specs). Taps see every simulator in the
process, whoever created it; with no tap registered the simulator records nothing extra.
A tap runs on the thread that served the request or sent the webhook: it must be quick and
thread-safe, and its errors are its own (they never reach the client).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Exchange:
    """One API request the simulator answered (path relative to `/api/v3`, still %-encoded)."""

    method: str
    path: str
    query: str
    status: int
    content_type: str
    request_body: bytes
    response_body: bytes


@dataclass(frozen=True)
class SentWebhook:
    """One webhook delivery as signed and sent (or attempted)."""

    event: str
    action: str | None
    headers: dict[str, str]
    body: bytes


Tap = Callable[[Exchange | SentWebhook], None]
_taps: list[Tap] = []
_lock = threading.Lock()


def add(tap: Tap) -> Callable[[], None]:
    """Register `tap`; returns the function that unregisters it."""
    with _lock:
        _taps.append(tap)

    def remove() -> None:
        with _lock:
            if tap in _taps:
                _taps.remove(tap)

    return remove


def active() -> bool:
    return bool(_taps)


def publish(item: Exchange | SentWebhook) -> None:
    with _lock:
        taps = list(_taps)
    for tap in taps:
        try:
            tap(item)
        except Exception:  # a broken observer must not break the simulator
            continue
