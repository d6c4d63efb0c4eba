"""Third-party stdlib log records, scrubbed, through the structlog pipeline (app/runtime/logging.py).

Libraries log through the standard library, outside structlog, and their messages quote what they
were given: sqlglot prints the SQL it could not parse, `CREATE USER … PASSWORD '…'` included. The
root logger gets one handler that scrubs every message (`scrub_text`) and hands it to structlog;
loggers known to quote their input are silenced. Kept apart from logging.py, and importing
nothing heavy, because `countersign analyze` installs it on every start.
"""

from __future__ import annotations

import logging
import sys

# Loggers whose messages quote the input they parse (SQL, templates): never shown.
QUIET_LOGGERS: tuple[str, ...] = ("sqlglot",)
_SILENT = logging.CRITICAL + 10


class StdlibBridge(logging.Handler):
    """Stdlib log records, scrubbed of credentials, written through structlog (or to stderr as
    plain text while structlog is not configured, as in the CLI: stdout stays the report)."""

    def emit(self, record: logging.LogRecord) -> None:
        from app.core.redact import scrub_text

        try:
            text = scrub_text(self.format(record))
        except Exception:  # a record that cannot be formatted says so, never its arguments
            text = f"unformattable log record from {record.name}"
        structlog = sys.modules.get("structlog")  # not imported: cannot be configured
        if structlog is not None and structlog.is_configured():
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
