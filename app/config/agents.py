"""The agent registry (`policies/agents.yaml`): which logins are agents and what they may propose."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml.nodes import Node

from app.config.agent_ops import AgentLimits, GraduationEntry
from app.config.agent_tokens import TokenIndex, check_reference, resolve_reference
from app.config.allowlists import Allowlists
from app.core.errors import PolicyLoadError, UnparseableError
from app.core.globs import repo_glob_match
from app.core.models import KINDS, Kind
from app.core.yamlsafe import line_of, load_yaml_documents

REGISTRY_FILE = "agents.yaml"
NOREPLY = re.compile(
    r"^(?:\d+\+)?([A-Za-z0-9][A-Za-z0-9-]*(?:\[bot\])?)@users\.noreply\.[a-z0-9.-]+$", re.I
)
"""GitHub's no-reply commit e-mail, `12345+login@users.noreply.github.com` (or a GHES host)."""


def login_from_noreply(email: str) -> str | None:
    """The login a GitHub no-reply e-mail names (`41898282+infra-bot[bot]@…` → `infra-bot[bot]`)."""
    match = NOREPLY.match(email.strip())
    return match.group(1) if match else None


class ApiRateLimit(BaseModel):
    """Per-agent override of the pre-flight API's token bucket (`COUNTERSIGN_ANALYZE_RATE_*`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_minute: float = Field(gt=0, le=100_000)
    burst: int = Field(ge=1, le=10_000)


class Agent(BaseModel):
    """One registered agent; Cedar sees it as `Agent::"<id>"` in its groups."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    logins: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    """Commit e-mails the agent writes (recognised even when GitHub links no account to them)."""
    names: tuple[str, ...] = ()
    """Commit author names the agent writes (exact, case-insensitive)."""
    branch_prefixes: tuple[str, ...] = ()
    """Head-branch prefixes only this agent uses, e.g. `copilot/`."""
    groups: tuple[str, ...] = ()
    team: str | None = None
    repos: tuple[str, ...] = ("*/*",)
    kinds: tuple[Kind, ...] = ()
    max_price_delta_pct: float | None = Field(default=None, ge=0, le=10_000)
    environments: tuple[str, ...] | None = None
    run_signing_key: str | None = None
    automation: bool = False
    """Deterministic automation (Renovate, release-please, Dependabot), not an AI agent: gated
    like an agent with its grants, but it has no agent run, so no `Agent-Run-Id` is required."""
    run_links: tuple[str, ...] = ()
    """URL prefixes of the agent's session links (e.g. `https://chatgpt.com/codex/tasks/`): when no
    `Agent-Run-Id:` trailer is present, the first such link in the PR body or a commit message is
    the run URL and the rest of its path the run ID."""
    api_tokens: tuple[str, ...] = ()
    """Bearer tokens of `POST /api/analyze`: `sha256:<hex>` or `env:VAR_NAME`, never plaintext."""
    api_rate_limit: ApiRateLimit | None = None
    allowlists: Allowlists | None = None
    """Destinations this agent's changes may introduce; narrows the repository's lists."""
    limits: AgentLimits | None = None
    """How fast it may open PRs (unset keys come from the file's `defaults.limits`)."""
    graduation: tuple[GraduationEntry, ...] = ()
    """Trust-ramp entries: tiers its audited record has earned the right to skip."""

    @field_validator("api_tokens")
    @classmethod
    def _token_refs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_reference(ref) for ref in v)

    @field_validator("logins", "emails", "names")
    @classmethod
    def _lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(item.strip().lower() for item in v)

    @field_validator("run_links")
    @classmethod
    def _links(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for link in v:
            if not link.startswith("https://") or link.count("/") < 3:
                raise ValueError(f"run link {link!r} must be an https:// URL prefix with a path")
        return v

    @field_validator("branch_prefixes")
    @classmethod
    def _prefixes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in v:
            if not prefix.strip() or prefix.startswith("refs/"):
                raise ValueError(
                    f"branch prefix {prefix!r} must be a branch name prefix like 'copilot/'"
                )
        return v

    @model_validator(mode="after")
    def _identified(self) -> Agent:
        if not (self.logins or self.emails or self.names or self.branch_prefixes):
            raise ValueError(
                f"agent {self.id!r} needs at least one of logins, emails, names, branch_prefixes"
            )
        return self

    def may_touch_repo(self, repo: str) -> bool:
        return repo_glob_match(repo, self.repos)


class RegistryDefaults(BaseModel):
    """What applies to every agent unless its own entry says otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    limits: AgentLimits | None = None


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: RegistryDefaults = RegistryDefaults()
    agents: list[Agent] = Field(default_factory=list)


class AgentRegistry:
    """Look-ups by login; loaded once per process with the policies."""

    def __init__(
        self,
        agents: Iterable[Agent],
        tokens: TokenIndex | None = None,
        defaults: RegistryDefaults | None = None,
    ) -> None:
        self.agents = tuple(agents)
        self.defaults = defaults or RegistryDefaults()
        self.tokens = tokens if tokens is not None else _hashed_tokens(self.agents)
        """Pre-flight API tokens (those from `env:` entries only when built by `load`)."""
        self._by_login = {login: a for a in self.agents for login in a.logins}
        self._by_email = {email: a for a in self.agents for email in a.emails}
        self._by_name = {name: a for a in self.agents for name in a.names}
        self._by_id = {a.id: a for a in self.agents}

    @classmethod
    def load(cls, directory: Path, environ: Mapping[str, str] | None = None) -> AgentRegistry:
        path = directory / REGISTRY_FILE
        source = str(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise PolicyLoadError(
                f"cannot read the agent registry: {error.strerror}", file=source
            ) from error
        try:
            docs = load_yaml_documents(data, source)
        except UnparseableError as error:
            raise PolicyLoadError(error.message, file=source, line=error.line) from error
        value = docs[0].value if docs else {}
        try:
            parsed = _RegistryFile.model_validate(value or {})
        except ValidationError as error:
            first = error.errors()[0]
            loc = tuple(first["loc"])
            line = _line(docs[0].node, loc) if docs else None
            raise PolicyLoadError(
                f"{'.'.join(str(p) for p in loc)}: {first['msg']}",
                file=source,
                line=line,
                hint=f"kinds are {', '.join(KINDS)}",
            ) from error
        for field in ("logins", "emails", "names", "branch_prefixes"):
            seen: dict[str, str] = {}
            for agent in parsed.agents:
                for value in getattr(agent, field):
                    if value in seen:
                        raise PolicyLoadError(
                            f"{field[:-1].replace('_', ' ')} {value!r} is registered to both "
                            f"{seen[value]!r} and {agent.id!r}",
                            file=source,
                        )
                    seen[value] = agent.id
        ids = [a.id for a in parsed.agents]
        if len(set(ids)) != len(ids):
            raise PolicyLoadError("duplicate agent id", file=source)
        env = os.environ if environ is None else environ
        entries: list[tuple[bytes, str]] = []
        owners: dict[bytes, str] = {}
        for index, agent in enumerate(parsed.agents):
            for n, ref in enumerate(agent.api_tokens):
                where = ("agents", index, "api_tokens", n)
                try:
                    digest = resolve_reference(ref, env)
                except ValueError as error:
                    raise PolicyLoadError(
                        f"agents.{index}.api_tokens.{n} ({agent.id}): {error}",
                        file=source,
                        line=_line(docs[0].node, where),
                        hint="set the variable in the service's environment, or use sha256:<hex>",
                    ) from error
                if owners.get(digest, agent.id) != agent.id:
                    raise PolicyLoadError(
                        f"agents.{index}.api_tokens.{n}: the same token is declared for both "
                        f"{owners[digest]!r} and {agent.id!r}; a token must identify one agent",
                        file=source,
                        line=_line(docs[0].node, where),
                    )
                owners[digest] = agent.id
                entries.append((digest, agent.id))
        return cls(parsed.agents, TokenIndex(entries), parsed.defaults)

    def agent_for_logins(self, logins: Iterable[str]) -> Agent | None:
        """The first registered agent among these logins (author first, then commits)."""
        for login in logins:
            agent = self._by_login.get(login.lower())
            if agent is not None:
                return agent
        return None

    def agent_for_email(self, email: str) -> Agent | None:
        """A registered commit e-mail, or a no-reply e-mail naming a registered login."""
        email = email.strip().lower()
        if email in self._by_email:
            return self._by_email[email]
        login = login_from_noreply(email)
        return self._by_login.get(login.lower()) if login else None

    def agent_for_name(self, name: str) -> Agent | None:
        return self._by_name.get(name.strip().lower())

    def agent_for_branch(self, branch: str) -> Agent | None:
        """The agent whose branch prefix the head branch starts with (longest prefix wins)."""
        matches = [
            (len(prefix), a)
            for a in self.agents
            for prefix in a.branch_prefixes
            if branch.startswith(prefix)
        ]
        return max(matches, key=lambda m: m[0])[1] if matches else None

    def get(self, agent_id: str) -> Agent | None:
        return self._by_id.get(agent_id)

    def agent_for_token(self, token: str) -> tuple[Agent, str] | None:
        """The agent a pre-flight API bearer token belongs to, and the token's fingerprint."""
        found = self.tokens.match(token)
        if found is None:
            return None
        agent = self._by_id.get(found[0])
        return (agent, found[1]) if agent is not None else None

    def limits_for(self, agent: Agent) -> AgentLimits:
        """The agent's PR rate limits, unset keys filled from `defaults.limits`."""
        own = agent.limits or AgentLimits()
        return own.over(self.defaults.limits)

    def all_logins(self) -> tuple[str, ...]:
        return tuple(self._by_login)


def _hashed_tokens(agents: Iterable[Agent]) -> TokenIndex:
    """The `sha256:` entries alone (for registries built in code, without an environment)."""
    return TokenIndex(
        (bytes.fromhex(ref[7:]), a.id)
        for a in agents
        for ref in a.api_tokens
        if ref.startswith("sha256:")
    )


def _line(node: Node | None, loc: tuple[str | int, ...]) -> int | None:
    """The line of the most precise part of `loc` that exists in the file."""
    for end in range(len(loc), 0, -1):
        line = line_of(node, loc[:end])
        if line is not None:
            return line
    return None
