"""Glob dialects, in one place: every path or name pattern Countersign reads goes through here.

- `glob_regex`: simple `*`/`?` globs as one anchored regex; the caller says whether `*` may cross
  a path separator (rule addresses and types may; allowlist hosts and registries may not).
- `file_spec`: gitignore-style path globs (`**` crosses directories), as CODEOWNERS users write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pathspec


def glob_regex(
    globs: Sequence[str], *, star: str = ".*", one: str = ".", flags: int = 0
) -> re.Pattern[str]:
    """One anchored regex for a list of simple globs (`*` and `?`; `star`/`one` say what they
    may match, e.g. `[^/]*` where a pattern must not cross a path separator)."""
    alternatives = []
    for glob in globs:
        pieces = []
        for char in glob:
            if char == "*":
                pieces.append(star)
            elif char == "?":
                pieces.append(one)
            else:
                pieces.append(re.escape(char))
        alternatives.append("".join(pieces))
    return re.compile("(?:" + "|".join(alternatives) + r")\Z", re.DOTALL | flags)


def file_spec(globs: Sequence[str]) -> pathspec.PathSpec[Any]:
    lines = [re.sub(r"\*\*(?!/)", "**/*", glob) for glob in globs]
    return pathspec.PathSpec.from_lines("gitignore", lines)
