"""Structured logging (structlog, JSON lines) with request-scoped context.

Handlers bind delivery id, repo, PR, agent and run ID with `bind_contextvars`, so every line
emitted while processing a delivery carries them without being passed around. Secret-looking
keys are redacted in every log line.

Third-party libraries log through the standard library, outside that pipeline, and their
messages quote what they were given: sqlglot prints the SQL it could not parse, `CREATE USER …
PASSWORD '…'` included. So the root stdlib logger gets one handler that scrubs every message
(`scrub_text`) and hands it to structlog, and loggers known to quote their input are silenced.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from app.core.redact import is_secret_name, mask_secret
from app.runtime.stdlib_logs import QUIET_LOGGERS, StdlibBridge, route_stdlib_logging

__all__ = ["QUIET_LOGGERS", "StdlibBridge", "configure_logging", "log", "route_stdlib_logging"]


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key != "event" and is_secret_name(key):
            event[key] = mask_secret(event[key])
    return event


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    """Idempotent set-up for the process (CLI and server call it once)."""
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
        structlog.processors.format_exc_info,
    ]
    processors.append(
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    route_stdlib_logging()


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    """A logger on the current `sys.stderr` (looked up per logger, so a swapped stream is used)."""
    return structlog.PrintLogger(sys.stderr)


log = structlog.get_logger("countersign")
