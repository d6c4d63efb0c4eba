"""Keep rapidyaml's own error lines off a pre-flight's stderr.

rapidyaml (C++) prints each parse error to file descriptor 2 before it raises, and its Python
binding offers no way to switch that off. The loader then falls back to ruamel, whose message is
the one users get (with file and line), so the C lines are noise: `countersign analyze` captures
fd 2 while it evaluates and writes back every line that is not theirs, in order. Only the CLI
does this: the service has worker threads whose logs must not wait on a capture.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def filtered_stderr(drop: Callable[[str], bool]) -> Iterator[None]:
    """Capture fd 2 for the block, then replay its lines except those `drop` says are noise."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True) if not drop(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
