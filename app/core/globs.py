"""Glob dialects, in one place: every path or name pattern Countersign reads goes through here.

Each dialect is named for what it matches, because users write each one in a different file and
expect it to behave like the tool they know there:

- `glob_regex`: simple `*`/`?` globs as one anchored regex; the caller says whether `*` may cross
  a path separator (risk-rule addresses, types and fields may; allowlist hosts and registries may
  not). No character classes.
- `file_spec`: path globs as CODEOWNERS and `.gitignore` users write them (risk rules' `file:`,
  `.github/countersign.yml` `paths:`); `dir/**.json` is read as `dir/**/*.json` (any depth).
  `LazyGlob` is the same, compiled on first use (a rule pack holds hundreds; one change
  consults a few).
- `gitignore_spec`: gitignore lines exactly as git reads them, for the product's own fixed path
  sets (workflow files, governance files, migration folders).
- `dir_spec`: module directories (`terraform.dirs`), anchored at the repository root; `*` stays
  within one folder.
- `repo_glob_match`: `owner/name` repository patterns of the agent registry (`repos:`), fnmatch
  style: case-insensitive, `*` crosses `/` (`*` is every repository, `acme/*` every one of acme),
  `[abc]` classes allowed.

`pathspec` and `fnmatch` are imported only here (ruff's banned-api check keeps it so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, TypeAlias

import pathspec

__all__ = [
    "LazyGlob",
    "dir_spec",
    "file_spec",
    "gitignore_spec",
    "glob_regex",
    "repo_glob_match",
]

PathSpec: TypeAlias = "pathspec.PathSpec[Any]"
"""A compiled path glob set: `.match_file(path)`."""


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


@dataclass(eq=True)
class LazyGlob:
    """`glob_regex(globs, star=…, one=…)`, compiled when first matched: Python's regex compiler
    is slow enough that compiling every rule's globs up front was a third of a rule pack's load,
    and most rules never see a change of their kind."""

    globs: tuple[str, ...]
    star: str = ".*"
    one: str = "."
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def match(self, text: str) -> re.Match[str] | None:
        if self._pattern is None:
            self._pattern = glob_regex(self.globs, star=self.star, one=self.one)
        return self._pattern.match(text)


def _any_depth(glob: str) -> str:
    """`catalog/**.json` means any depth, as users write it: rewrite to `catalog/**/*.json`."""
    return re.sub(r"\*\*(?!/)", "**/*", glob)


def file_spec(globs: Iterable[str]) -> PathSpec:
    """User-written path globs, gitignore style, with `**` not followed by `/` at any depth."""
    return gitignore_spec(_any_depth(glob) for glob in globs)


def gitignore_spec(lines: Iterable[str]) -> PathSpec:
    """Gitignore lines as git reads them (no rewriting): the product's fixed path sets."""
    return pathspec.PathSpec.from_lines("gitignore", lines)


def dir_spec(globs: Iterable[str]) -> PathSpec:
    """Directory globs anchored at the repository root (`modules/*` is one level below
    `modules/`, not `x/modules/y`); surrounding slashes are ignored."""
    return gitignore_spec(f"/{glob.strip('/')}" for glob in globs)


def repo_glob_match(repo: str, globs: Iterable[str]) -> bool:
    """Whether `owner/name` matches one of the registry's repository patterns (fnmatch,
    case-insensitive as GitHub names are; `*` crosses `/`, unlike the allowlists)."""
    name = repo.lower()
    return any(fnmatchcase(name, glob.lower()) for glob in globs)
