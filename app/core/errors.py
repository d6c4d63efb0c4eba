"""Typed errors. Each says where (file, line) and what to do, because users read them in check runs.

Tree:
    CountersignError
    ├── ConfigError            invalid `.github/countersign.yml` (fails the check, names the line)
    ├── RuleLoadError          a risk rule file is malformed or a rule is invalid
    ├── PolicyLoadError        Cedar policies/schema/agent registry cannot be loaded or validated
    ├── UnparseableError       an analyzer could not parse one side of a file (becomes a finding)
    ├── UsageError             a command was called wrongly (exit code 2)
    ├── SignatureInvalid       a webhook body does not match its HMAC signature (HTTP 401)
    ├── GitHubError            GitHub answered with an error we cannot work around
    │   ├── GitHubUnavailable  GitHub is down, slow or rate limiting: retry later
    │   └── GitHubPermissionDenied  the installation lacks a permission (403 "not accessible")
    ├── AuditIntegrityError    the audit hash chain does not verify
    └── DatabaseNotReady       the database is unreachable or not migrated
"""

from __future__ import annotations


class CountersignError(Exception):
    """Base class: a message for a human, plus where it happened and how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class ConfigError(CountersignError):
    """The repository's `.github/countersign.yml` is invalid."""


class RuleLoadError(CountersignError):
    """A risk rule file or rule is invalid."""


class PolicyLoadError(CountersignError):
    """The Cedar policies, schema or agent registry cannot be loaded or do not validate."""


class UnparseableError(CountersignError):
    """One side of a file cannot be parsed by its analyzer."""


class UsageError(CountersignError):
    """A command was called with arguments that cannot work."""


class SignatureInvalid(CountersignError):
    """A webhook's `X-Hub-Signature-256` is missing or does not match the body."""


class GitHubError(CountersignError):
    """GitHub answered with an error that retrying will not fix."""


class GitHubPermissionDenied(GitHubError):
    """GitHub refused a call the App's installation has no permission for (HTTP 403
    "Resource not accessible by integration"): retrying cannot help until an admin grants it."""


class GitHubUnavailable(GitHubError):
    """GitHub is unreachable, failing or rate limiting; `retry_after` seconds if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuditIntegrityError(CountersignError):
    """The audit hash chain is broken; `seq` is the first bad event."""

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class DatabaseNotReady(CountersignError):
    """The database is unreachable or its schema is not at the current migration."""
