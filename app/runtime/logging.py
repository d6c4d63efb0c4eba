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

from app.core.redact import is_secret_name, mask_secret, scrub_text

# Loggers whose messages quote the input they parse (SQL, templates): never shown.
QUIET_LOGGERS: tuple[str, ...] = ("sqlglot",)
_SILENT = logging.CRITICAL + 10


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


class StdlibBridge(logging.Handler):
    """Stdlib log records, scrubbed of credentials, written through structlog (or to stderr as
    plain text while structlog is not configured, as in the CLI: stdout stays the report)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = scrub_text(self.format(record))
        except Exception:  # a record that cannot be formatted says so, never its arguments
            text = f"unformattable log record from {record.name}"
        if structlog.is_configured():
            structlog.get_logger("countersign").log(record.levelno, text, logger=record.name)
        else:
            sys.stderr.write(f"{record.levelname.lower()} {record.name}: {text}\n")


def route_stdlib_logging() -> None:
    """Idempotent: silence QUIET_LOGGERS and send every other stdlib record through the bridge
    (replacing the last-resort handler that would print it unscrubbed)."""
    for name in QUIET_LOGGERS:
        quiet = logging.getLogger(name)
        quiet.setLevel(_SILENT)
        quiet.propagate = False
        if not quiet.handlers:
            quiet.addHandler(logging.NullHandler())  # no last-resort printing either
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StdlibBridge)]:
        root.removeHandler(handler)
    root.addHandler(StdlibBridge())


log = structlog.get_logger("countersign")
