"""Shared database fixtures: every DB test runs on SQLite, and on PostgreSQL when
COUNTERSIGN_TEST_DATABASE_URL is set (`bash scripts/start-postgres.sh` prints it).

- `sqlite_url`: a fresh SQLite file per test.
- `pg_url`: a fresh schema per test in the test database (search_path points at it), dropped
  afterwards; skips cleanly without the variable.
- `db_url`: both of the above (the PostgreSQL param carries the `postgres` marker).
- `db_engine`: an engine on `db_url` migrated to head: a copy of a database this session
  migrated once (tests/databases.py), not an Alembic run per test.
- `module_db_url`: like `db_url`, one database per test module, for a module-scoped
  `LocalStack` whose `reset()` gives each test a fresh database (tests/stacks.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings

from app.demo.loadkit import temporary_schema
from app.sim import taps
from app.store.db import make_engine, upgrade
from tests import databases
from tests.specs.traffic import TrafficChecker

PG_ENV = "COUNTERSIGN_TEST_DATABASE_URL"

# The rule-parse cache (app/risk/rulecache.py) goes to a folder of this run, not the user's cache,
# so a test never reads what another run (or another checkout) left behind.
os.environ["COUNTERSIGN_CACHE_DIR"] = tempfile.mkdtemp(prefix="countersign-test-cache-")

# CI replays the same examples every run (a red CI must mean a regression, not a new random draw);
# developers' runs keep exploring new inputs, and what they find becomes a fixed test.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
# `make test-fast`: fewer examples where a test names no count (tests/examples.py for the rest).
settings.register_profile("fast", max_examples=20)
if os.environ.get("CI"):
    settings.load_profile("ci")
elif os.environ.get("COUNTERSIGN_FAST_TESTS") == "1":
    settings.load_profile("fast")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'countersign.db'}"


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A new schema in the test database (search_path points at it), dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (run scripts/start-postgres.sh)")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(temporary_schema(base))
        except sa.exc.OperationalError as error:
            pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {error.orig}")
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    with _pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per module and backend (pytest groups a module's tests by backend)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('stack') / 'countersign.db'}"
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per session (per xdist worker), to copy."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> str | None:
    """SQL that rebuilds a schema migrated to head (tests/databases.py), once per session."""
    base = os.environ.get(PG_ENV)
    return databases.dump_migrated_postgres(base) if base else None


@pytest.fixture
def db_engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """An engine on `db_url` migrated to head: a copy of a database this session migrated."""
    target = databases.new_sqlite_file(db_url)
    script = None if target else request.getfixturevalue("migrated_postgres")
    if target is not None:
        databases.copy_sqlite(request.getfixturevalue("migrated_sqlite"), target)
    elif script is not None and databases.schema_of(db_url) is not None:
        databases.restore_postgres(db_url, script)
    else:
        upgrade(db_url)
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


_CHECKERS: list[TrafficChecker] = []


@pytest.fixture(scope="session")
def github_traffic() -> Iterator[TrafficChecker]:
    """Every simulator of the session reports what it serves and sends to this checker."""
    checker = TrafficChecker()
    _CHECKERS.append(checker)
    remove = taps.add(checker)
    try:
        yield checker
    finally:
        remove()


@pytest.fixture(autouse=True)
def _simulator_conforms_to_github(
    request: pytest.FixtureRequest, github_traffic: TrafficChecker
) -> Iterator[None]:
    """After each test, validate the new shapes the simulators produced against GitHub's
    published descriptions (tests/specs): the test errors with the endpoint, the JSON pointer
    and the schema message. A test that talks off-spec on purpose says so with
    `@pytest.mark.github_off_spec("why")`."""
    yield
    violations = github_traffic.drain()
    if violations and request.node.get_closest_marker("github_off_spec") is None:
        listed = "\n".join(f"- {v}" for v in violations[:20])
        more = f"\n… and {len(violations) - 20} more" if len(violations) > 20 else ""
        pytest.fail(
            f"the simulator departs from GitHub's published API descriptions "
            f"(tests/specs/github):\n{listed}{more}",
            pytrace=False,
        )


_WORKER_CHECKED: list[int] = []
"""Spec checks counted by pytest-xdist workers, reported back to the controller."""


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the count to the controller
        workeroutput["spec_checked"] = sum(checker.checked for checker in _CHECKERS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _WORKER_CHECKED.append(int(getattr(node, "workeroutput", {}).get("spec_checked", 0)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly when the PostgreSQL half of the suite did not run; count the spec checks."""
    if _WORKER_CHECKED:
        terminalreporter.write_line(
            f"GitHub spec check: {sum(_WORKER_CHECKED)} simulator shapes validated across "
            f"{len(_WORKER_CHECKED)} workers (REST, GraphQL, webhooks; tests/specs/github)"
        )
    for checker in _CHECKERS:
        terminalreporter.write_line(
            f"GitHub spec check: {checker.checked} distinct simulator shapes validated "
            "(REST, GraphQL, webhooks; tests/specs/github)"
        )
    if os.environ.get(PG_ENV):
        return
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if PG_ENV in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"PostgreSQL tests skipped: {len(skipped)} (set {PG_ENV}, e.g. "
            '`eval "$(bash scripts/start-postgres.sh --print-env)"`, to run them)',
            yellow=True,
        )
