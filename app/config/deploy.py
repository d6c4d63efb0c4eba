"""`deploy:` in `.github/countersign.yml` — which environments Countersign guards, and how.

GitHub asks the App (a custom deployment protection rule) before a workflow job deploys to an
environment; Countersign answers from this section of the *default branch's* config. An
environment that is not listed is rejected (never approved by default), so enabling the rule in
GitHub before writing the config blocks deployments instead of waving them through.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ENV_NAME = re.compile(r"^[^\x00-\x1f'\"`,;\\]{1,255}$")


class EnvironmentRule(BaseModel):
    """What a deployment to one environment must show before Countersign approves it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_direct_pushes: bool = False
    """Commits that reached the default branch without a pull request are named and rejected
    unless this is true."""
    require_run_id: bool = True
    """A merge of an agent's PR must carry the agent's run ID (`Agent-Run-Id:`)."""
    require_plan: bool = False
    """The apply job's plan for the deployed commit must match the plan the PR was approved
    with (see docs/deployments.md)."""


class DeployConfig(BaseModel):
    """`deploy: {environments: {production: {...}}}`; no environments means none is guarded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environments: dict[str, EnvironmentRule] = Field(default_factory=dict)

    @field_validator("environments")
    @classmethod
    def _names(cls, v: dict[str, EnvironmentRule]) -> dict[str, EnvironmentRule]:
        for name in v:
            if not _ENV_NAME.match(name):
                raise ValueError(
                    f"environment name {name!r} is not one GitHub allows (1-255 characters, "
                    "no quotes, commas, semicolons, backslashes or control characters)"
                )
        return v

    def rule_for(self, environment: str) -> EnvironmentRule | None:
        """The rule of `environment`; GitHub compares environment names case-insensitively."""
        for name, rule in self.environments.items():
            if name.casefold() == environment.casefold():
                return rule
        return None
