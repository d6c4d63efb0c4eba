"""`replay: {days: N}` in the repo config: how far back a gate-editing PR is replayed."""

from __future__ import annotations

import pytest

from app.config.repo import parse_repo_config
from app.core.errors import ConfigError


def test_days_default_and_bounds() -> None:
    assert parse_repo_config(None).replay.days == 30
    assert parse_repo_config(b"replay: {days: 14}\n").replay.days == 14
    for bad in (b"replay: {days: 0}\n", b"replay: {days: 366}\n", b"replay: {weeks: 2}\n"):
        with pytest.raises(ConfigError) as caught:
            parse_repo_config(bad)
        assert caught.value.line == 1
