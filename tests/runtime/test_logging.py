"""Third-party stdlib loggers go through the redacting pipeline; parsers that quote their input
are silent."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from app.core.models import REDACTED
from app.runtime.logging import configure_logging


def test_stdlib_records_are_scrubbed_and_rendered_by_structlog(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # pytest's own, off for the test
    configure_logging("INFO")
    try:
        logging.getLogger("somelib").warning(
            "connect failed: postgres://app:Hunter2x@db/app password=Hunter3x ALTER ROLE a "
            "PASSWORD '%s'",
            "Hunter4x",
        )
        logging.getLogger("sqlglot").warning("CREATE USER a PASSWORD 'Hunter5x' unsupported")
    finally:
        structlog.reset_defaults()
    text = capsys.readouterr().err
    assert "Hunter" not in text
    line = json.loads(text.strip().splitlines()[-1])
    assert line["logger"] == "somelib"
    assert line["level"] == "warning"
    assert line["event"].count(REDACTED) == 3
    assert "sqlglot" not in text


def test_stdlib_records_before_structlog_is_configured_go_to_stderr_scrubbed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.runtime.logging import route_stdlib_logging

    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    structlog.reset_defaults()
    route_stdlib_logging()
    logging.getLogger("otherlib").error("token=ghp_%s", "a" * 36)
    assert capsys.readouterr().err == f"error otherlib: token={REDACTED}\n"
