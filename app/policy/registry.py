"""The agent registry (`policies/agents.yaml`): which logins are agents and what they may propose."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import PolicyLoadError, UnparseableError
from app.models import KINDS, Kind
from app.yamlsafe import line_of, load_yaml_documents

REGISTRY_FILE = "agents.yaml"


class Agent(BaseModel):
    """One registered agent; Cedar sees it as `Agent::"<id>"` in its groups."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    logins: tuple[str, ...] = Field(min_length=1)
    groups: tuple[str, ...] = ()
    team: str | None = None
    repos: tuple[str, ...] = ("*/*",)
    kinds: tuple[Kind, ...] = ()
    max_price_delta_pct: float | None = Field(default=None, ge=0, le=10_000)
    environments: tuple[str, ...] | None = None
    run_signing_key: str | None = None

    @field_validator("logins")
    @classmethod
    def _lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(login.lower() for login in v)

    def may_touch_repo(self, repo: str) -> bool:
        return any(fnmatchcase(repo.lower(), glob.lower()) for glob in self.repos)


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agents: list[Agent] = Field(default_factory=list)


class AgentRegistry:
    """Look-ups by login; loaded once per process with the policies."""

    def __init__(self, agents: Iterable[Agent]) -> None:
        self.agents = tuple(agents)
        self._by_login = {login: a for a in self.agents for login in a.logins}
        self._by_id = {a.id: a for a in self.agents}

    @classmethod
    def load(cls, directory: Path) -> AgentRegistry:
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
            line = line_of(docs[0].node, loc[:2]) if docs else None
            raise PolicyLoadError(
                f"{'.'.join(str(p) for p in loc)}: {first['msg']}",
                file=source,
                line=line,
                hint=f"kinds are {', '.join(KINDS)}",
            ) from error
        seen: dict[str, str] = {}
        for agent in parsed.agents:
            for login in agent.logins:
                if login in seen:
                    raise PolicyLoadError(
                        f"login {login!r} is registered to both {seen[login]!r} and {agent.id!r}",
                        file=source,
                    )
                seen[login] = agent.id
        ids = [a.id for a in parsed.agents]
        if len(set(ids)) != len(ids):
            raise PolicyLoadError("duplicate agent id", file=source)
        return cls(parsed.agents)

    def agent_for_logins(self, logins: Iterable[str]) -> Agent | None:
        """The first registered agent among these logins (author first, then commits)."""
        for login in logins:
            agent = self._by_login.get(login.lower())
            if agent is not None:
                return agent
        return None

    def get(self, agent_id: str) -> Agent | None:
        return self._by_id.get(agent_id)

    def all_logins(self) -> tuple[str, ...]:
        return tuple(self._by_login)
