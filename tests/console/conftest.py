"""One seeded console per test module (playing the demo scenario takes a few seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.console.harness import ConsoleStack


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    with ConsoleStack(tmp_path_factory.mktemp("console")) as stack:
        yield stack
