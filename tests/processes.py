"""Child processes for the concurrency tests, started without importing the app again each time.

Those tests want separate processes (own connections, own GIL, SQLite's file locks across
processes), not separate imports: with `spawn` every child starts an interpreter and imports the
app, its database layer and Alembic (a second or more of CPU each on a busy machine). A
forkserver imports the children's entry modules once per test session, in a process of its own
that never runs a test, and forks each child from it: a child starts in milliseconds, from the
same clean state every time.

The forkserver keeps the environment and `sys.path` of the first test that used it: children get everything
they need as arguments (the tests pass URLs and settings), never from variables set by a test.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import ForkServerContext

# Entry modules of the children (spawned children import them by name).
PRELOAD = [
    "tests.store._inbox_workers",
    "tests.store.audit._workers",
    "tests.service._agentops_workers",
]


def child_processes() -> ForkServerContext:
    """The multiprocessing context for a test's child processes (see the module docstring)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # no effect once the server runs
    return context
