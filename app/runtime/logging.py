"""Structured logging (structlog, JSON lines) with request-scoped context.

Handlers bind delivery id, repo, PR, agent and run ID with `bind_contextvars`, so every line
emitted while processing a delivery carries them without being passed around. Secret-looking
keys are redacted in every log line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from app.core.redact import is_secret_name, mask_secret


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
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


log = structlog.get_logger("countersign")
