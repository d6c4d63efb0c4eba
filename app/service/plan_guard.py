"""What stands before a plan upload is stored: the App must be installed on the repository, the
repository's upload rate is bounded, and the body goes to disk, not memory.

- `InstallationCache`: `GET /repos/{repo}/installation` as the App, remembered for five minutes
  (one minute when not installed), so a flood of uploads for a repository the App does not know
  costs one GitHub call a minute and stores nothing (404).
- `spool_body`: the request body into a temporary file, refused at `limit` bytes (413) by
  `Content-Length` and by the bytes actually read; memory holds one chunk at a time.
- `ParseSlots`: how many plans are parsed at once. A parsed 60 MiB plan takes about a gigabyte
  of Python objects; uploads beyond the slots wait on disk instead of in memory.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import mmap
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import IO, Any

from fastapi import HTTPException

from app.config.settings import Settings
from app.core.gc_pause import paused_gc
from app.github.client import CallLog, GitHubApp
from app.semdiff import reject_constant
from app.service.analyze_guard import RateLimiter

POSITIVE_TTL = 300.0
NEGATIVE_TTL = 60.0
SPOOL_CHUNK = 1024 * 1024


class InstallationCache:
    """The App's installation id for a repository (None: not installed), cached (clock injected
    for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._known: dict[str, tuple[int | None, float]] = {}
        self._lock = threading.Lock()

    def installation(self, github: GitHubApp, repo: str) -> int | None:
        """From GitHub or the cache; GitHubError when GitHub cannot say."""
        key = repo.lower()
        now = self._clock()
        with self._lock:
            cached = self._known.get(key)
            if cached is not None and cached[1] > now:
                return cached[0]
        found = github.app_client(CallLog()).call("GET", f"/repos/{repo}/installation", ok_404=True)
        installation = int(found.json()["id"]) if found is not None else None
        ttl = NEGATIVE_TTL if installation is None else POSITIVE_TTL
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()  # bounded: unknown names cannot grow it for ever
            self._known[key] = (installation, now + ttl)
        return installation


async def spool_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> IO[bytes]:
    """The body in a temporary file (rewound), or 413 past `limit` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"plan body larger than {limit:,} bytes")
    spool = tempfile.TemporaryFile(prefix="countersign-plan-")
    try:
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"plan body larger than {limit:,} bytes")
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


class ParseSlots:
    """At most `slots` plan parses at once in this process (created on the serving loop)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._semaphore: asyncio.Semaphore | None = None

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        return self._semaphore


def parse_spooled(spool: IO[bytes]) -> Any:
    """The spooled body as JSON, read through a file mapping (no second copy of the bytes on the
    heap) and decoded exactly as `json.loads(bytes)` would; ValueError when it is not JSON."""
    spool.seek(0, 2)
    if spool.tell() == 0:
        raise ValueError("empty body")
    with mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            text = codecs.decode(view, json.detect_encoding(bytes(view[:4])), "surrogatepass")
        finally:
            view.release()
    with paused_gc():
        return json.loads(text, parse_constant=reject_constant)


@dataclass
class PlanGuard:
    """The upload route's per-process state, built on its first call."""

    settings: Settings
    installations: InstallationCache = field(default_factory=InstallationCache)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    slots: ParseSlots = field(init=False)

    def __post_init__(self) -> None:
        self.slots = ParseSlots(self.settings.plan_parse_concurrency)

    def retry_after(self, repo: str) -> float:
        """0.0 when this repository may upload now, else the seconds to wait."""
        rate, burst = self.settings.plan_rate_per_minute, self.settings.plan_burst
        return self.limiter.take(repo.lower(), rate, burst)
