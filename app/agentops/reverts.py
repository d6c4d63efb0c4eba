"""Which earlier merges a change reverts, read from the words git and GitHub write.

- `git revert` writes `This reverts commit <sha>.` (for a merge commit: `This reverts commit
  <sha>, reversing changes made to <parent>.`: only the first SHA is the reverted one).
- GitHub's "Revert" button opens a PR titled `Revert "<title>"` whose body is `Reverts
  owner/repo#N` and whose commit says `This reverts commit <merge sha>.`

The references are extracted when a PR is evaluated and merged and kept in the merge record, so
no raw body or message is stored. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

_COMMIT = re.compile(r"\bThis reverts commit ([0-9a-fA-F]{7,40})\b")
_PULL = re.compile(
    r"^\s*Reverts\s+(?:([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+))?#(\d{1,9})\b", re.MULTILINE
)
MAX_REFS = 50
"""A change reverting more than this is recorded with the first 50 (bounded record size)."""


class RevertRefs(BaseModel):
    """Merge commit SHAs (lower case, maybe abbreviated) and PRs (`owner/repo#N`) reverted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commits: tuple[str, ...] = Field(default=(), max_length=MAX_REFS)
    pulls: tuple[str, ...] = Field(default=(), max_length=MAX_REFS)

    def __bool__(self) -> bool:
        return bool(self.commits or self.pulls)

    def union(self, other: RevertRefs) -> RevertRefs:
        return RevertRefs(
            commits=_unique([*self.commits, *other.commits]),
            pulls=_unique([*self.pulls, *other.pulls]),
        )

    def names_commit(self, sha: str | None) -> bool:
        """True when one reference is this SHA or an abbreviation of it (7+ hex digits)."""
        if not sha:
            return False
        sha = sha.lower()
        return any(sha.startswith(ref) for ref in self.commits)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))[:MAX_REFS]


def revert_refs(repo: str, texts: Iterable[str]) -> RevertRefs:
    """The revert references in a PR's title, body and commit messages (`repo` fills `#N`)."""
    commits: list[str] = []
    pulls: list[str] = []
    for text in texts:
        if not text:
            continue
        commits += [m.group(1).lower() for m in _COMMIT.finditer(text)]
        pulls += [f"{(m.group(1) or repo).lower()}#{int(m.group(2))}" for m in _PULL.finditer(text)]
    return RevertRefs(commits=_unique(commits), pulls=_unique(pulls))


def pull_key(repo: str, number: int) -> str:
    """How a PR is named in `RevertRefs.pulls`."""
    return f"{repo.lower()}#{number}"
