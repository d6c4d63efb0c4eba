"""CODEOWNERS resolution, read from the base branch (an agent must not choose its own reviewers).

Matching is the `codeowners` library's port of GitHub's rules: the last matching pattern wins and
a pattern without owners makes its files unowned. What the library does not do, we do before
handing it the text: strip inline ` # …` comments, and drop lines GitHub would skip (bad owners,
negations, character ranges, unparseable patterns), reporting each as a problem with its line
instead of crashing or silently trusting a half-parsed rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library loads when a repository has a CODEOWNERS file to read
    from codeowners import CodeOwners

MAX_CODEOWNERS_BYTES = 3 * 1024 * 1024
"""GitHub ignores a CODEOWNERS file over 3 MB; so do we (and say so)."""

_USER = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_TEAM = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_INLINE_COMMENT = re.compile(r"\s+#.*$")
_ESCAPED_SPACE = "\x00"


@dataclass(frozen=True)
class CodeOwnersProblem:
    """A CODEOWNERS line that was ignored, with where it is and how to fix it."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def is_owner_handle(owner: str) -> bool:
    """`@user`, `@org/team` or an email: the owner forms GitHub accepts."""
    return any(p.fullmatch(owner) for p in (_USER, _TEAM, _EMAIL))


def _tokens(line: str) -> list[str]:
    """Split on whitespace, keeping `\\ ` (an escaped space) inside a pattern."""
    parts = line.replace("\\ ", _ESCAPED_SPACE).split()
    return [p.replace(_ESCAPED_SPACE, "\\ ") for p in parts]


def _check_line(tokens: list[str]) -> str | None:
    """Why GitHub would skip this rule, or None when it is valid."""
    pattern, owners = tokens[0], tokens[1:]
    if pattern.startswith("@") and is_owner_handle(pattern):
        return (
            "the line starts with an owner; write the path pattern first, e.g. `/infra/ @org/team`"
        )
    if pattern.startswith("!"):
        return "negation patterns (`!`) are not supported in CODEOWNERS; remove the line"
    if "[" in pattern.replace("\\[", "") or "]" in pattern.replace("\\]", ""):
        return "character ranges (`[...]`) are not supported in CODEOWNERS; list the paths instead"
    from codeowners import path_to_regex

    try:
        path_to_regex(pattern.replace("\\ ", " "))
    except (ValueError, re.error) as exc:
        return f"pattern {pattern!r} cannot be parsed ({exc}); fix or remove the line"
    bad = [o for o in owners if not is_owner_handle(o)]
    if bad:
        return (
            f"owner {bad[0]!r} is not `@user`, `@org/team` or an email; the whole line is ignored "
            "(as GitHub does): fix the owner, e.g. `@acme/platform`"
        )
    return None


@dataclass(frozen=True)
class CodeOwnersMap:
    """Who owns which path; `problems` lists the lines that were ignored and why."""

    source: str = "CODEOWNERS"
    problems: tuple[CodeOwnersProblem, ...] = ()
    _rules: CodeOwners | None = None
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str | bytes | None, source: str = "CODEOWNERS") -> CodeOwnersMap:
        """Parse CODEOWNERS text (None: the repository has none, so nothing is owned)."""
        if text is None:
            return cls(source=source)
        if isinstance(text, bytes):
            if len(text) > MAX_CODEOWNERS_BYTES:
                return cls._too_big(source)
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                problem = CodeOwnersProblem(
                    source, 1, f"not UTF-8 ({exc.reason}); the file is ignored: save it as UTF-8"
                )
                return cls(source=source, problems=(problem,))
        if len(text.encode("utf-8", "surrogatepass")) > MAX_CODEOWNERS_BYTES:
            return cls._too_big(source)
        from codeowners import CodeOwners

        problems: list[CodeOwnersProblem] = []
        kept: list[str] = []
        # The library numbers lines with str.splitlines(); we keep one output line per input line
        # so its line numbers stay ours.
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                kept.append("")
                continue
            line = _INLINE_COMMENT.sub("", line)
            if (line.startswith("[") and line.endswith("]")) or line.startswith("^["):
                problems.append(
                    CodeOwnersProblem(
                        source,
                        number,
                        "sections (`[name]`) are GitLab syntax that GitHub does not support; "
                        "remove the line",
                    )
                )
                kept.append("")
                continue
            reason = _check_line(_tokens(line))
            if reason is not None:
                problems.append(CodeOwnersProblem(source, number, reason))
                kept.append("")
                continue
            kept.append(line)
        return cls(source=source, problems=tuple(problems), _rules=CodeOwners("\n".join(kept)))

    @classmethod
    def _too_big(cls, source: str) -> CodeOwnersMap:
        problem = CodeOwnersProblem(
            source, 1, "larger than 3 MB, so GitHub ignores it and so do we: split or trim it"
        )
        return cls(source=source, problems=(problem,))

    @property
    def has_rules(self) -> bool:
        """Whether any valid rule exists at all."""
        return self._rules is not None and bool(self._rules.paths)

    def owners_for(self, path: str) -> tuple[str, ...]:
        """Owners of `path` by the last matching rule, in file order; () when unowned."""
        path = path.lstrip("/")
        if path in self._cache:
            return self._cache[path]
        owners: tuple[str, ...] = ()
        if self._rules is not None:
            found = self._rules.of(path)
            owners = tuple(dict.fromkeys(owner for _, owner in found))
        self._cache[path] = owners
        return owners

    def rule_line(self, path: str) -> int | None:
        """The line of the rule that decides `path` (None when no rule matches)."""
        if self._rules is None:
            return None
        line: int | None = self._rules.matching_line(path.lstrip("/"))[1]
        return line
