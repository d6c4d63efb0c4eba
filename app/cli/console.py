"""The command line's stderr console, built on first use: rich costs tens of milliseconds to
import, which `countersign analyze` (JSON or Markdown on stdout) never needs unless it fails."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def stderr() -> Console:
    from rich.console import Console

    # soft_wrap: an error names a file and line; rich must not break the path across lines
    # (the terminal wraps it for the eye, while copy, paste and grep still see one line).
    return Console(stderr=True, soft_wrap=True)
