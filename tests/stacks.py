"""End-to-end stacks that are cheap per test: start once per module, `reset()` per test.

Starting a `LocalStack` (two servers, Alembic, rules, policies, an RSA key) costs seconds; a test
body costs a fraction of that. A module keeps one stack running, and each test gets it back as
if new: `LocalStack.reset()` empties the simulator and re-registers the App, swaps in a freshly
migrated database, and drops the runtime's cached tokens, metrics and rate limiters. The App key
is made once per session.

    @pytest.fixture(scope="module")
    def running(module_db_url: str) -> Iterator[LocalStack]:
        with local_stack(module_db_url) as s:
            yield s

    @pytest.fixture
    def stack(running: LocalStack) -> LocalStack:
        return fresh(running, SETUP)

A module that needs special settings starts its own stack with them (they are per stack).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.demo.stack import LocalStack
from app.sim.auth import app_key_pair
from app.sim.scenario import apply_setup


@functools.cache
def session_key_pair() -> tuple[str, str]:
    """One App key for the whole test session (the demo makes a new one per run)."""
    return app_key_pair()


@contextmanager
def local_stack(database_url: str, **kwargs: Any) -> Iterator[LocalStack]:
    """A `LocalStack` with the session's App key: for a module (`fresh` it before each test)
    or for one test that needs settings of its own."""
    with LocalStack(database_url, key_pair=session_key_pair(), **kwargs) as stack:
        yield stack


def fresh(
    stack: LocalStack, setup: dict[str, Any] | None = None, *, processed: bool = True
) -> LocalStack:
    """`stack` reset to an empty world, then `setup` applied (app.sim.scenario); waits until the
    App has handled what the set-up sent (the installation event), or only until GitHub's
    webhook queue is idle with `processed=False` (for a stack without workers)."""
    stack.reset()
    if setup is not None:
        apply_setup(stack.sim, setup)
    if processed:
        stack.wait_processed()
    else:
        stack.sim.wait_idle()
    return stack
