"""Per-repository configuration, `.github/countersign.yml`, always read from the base branch.

Parsed with the shared safe YAML loader and validated by pydantic so that an invalid file becomes a
failing check that names the line and the fix, never a silent default.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from app.config.allowlists import Allowlists
from app.config.deploy import DeployConfig
from app.config.freezes import FreezeWindow, validate_freezes
from app.core.errors import ConfigError, UnparseableError
from app.core.globs import PathSpec, dir_spec, file_spec
from app.core.models import KINDS, Kind
from app.core.yamlsafe import line_of, load_yaml_documents

CONFIG_PATH = ".github/countersign.yml"


class PathRule(BaseModel):
    """What a set of paths is: its kind, pricing key/price fields, and environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind | None = None
    key: str | None = None
    price_fields: tuple[str, ...] | None = None
    currency_field: str | None = None
    environment: str | None = None

    def merged(self, other: PathRule) -> PathRule:
        """`other` (a later, more specific entry) wins field by field."""
        data = self.model_dump()
        data.update({k: v for k, v in other.model_dump().items() if v is not None})
        return PathRule(**data)


class TerraformConfig(BaseModel):
    """`terraform:` — whether PRs touching these module directories need a plan of their head."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plans: Literal["required", "optional", "off"] = "optional"
    dirs: tuple[str, ...] = ()
    plan_workflows: tuple[str, ...] = ()
    """Workflow files of this repository whose jobs may post plans with an OIDC token
    (`.github/workflows/plan.yml`). None listed: no OIDC-posted plan counts (fail closed)."""

    @field_validator("plan_workflows")
    @classmethod
    def _workflows(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for path in v:
            if not re.fullmatch(r"\.github/workflows/[A-Za-z0-9._-]+\.ya?ml", path):
                raise ValueError(
                    f"plan workflow {path!r} must be a workflow file of this repository, "
                    "e.g. '.github/workflows/plan.yml'"
                )
        return v

    @cached_property
    def _dirs(self) -> PathSpec:
        return dir_spec(self.dirs)

    def covers(self, directory: str) -> bool:
        """A module directory listed in `dirs` (`app.core.globs.dir_spec`); all when empty."""
        return not self.dirs or self._dirs.match_file(directory)


BREAK_GLASS_LABEL = "countersign/break-glass"


class BreakGlassConfig(BaseModel):
    """`break_glass:` — who may turn the check green in an emergency, and with which label.

    No team means break-glass is disabled (the default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team: str | None = None
    label: str = BREAK_GLASS_LABEL

    @field_validator("team")
    @classmethod
    def _team(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][\w.-]*", v):
            raise ValueError(f"break_glass team {v!r} must be '@org/team'")
        return v

    @field_validator("label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not v.strip() or len(v) > 50:
            raise ValueError("break_glass label must be a non-empty name of at most 50 characters")
        return v

    @property
    def team_key(self) -> str | None:
        """`org/team` in lower case (the snapshot's `team_members` key), or None when disabled."""
        return self.team[1:].lower() if self.team else None


class ReplayConfig(BaseModel):
    """`replay:` how far back a PR that edits the gate's files is replayed (docs/tuning.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: int = Field(default=30, ge=1, le=365)


class RepoConfig(BaseModel):
    """The whole file. Every key is optional; an absent file means these defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paths: dict[str, PathRule] = Field(default_factory=dict)
    approvers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    invalidate_on_push: Literal["content", "strict"] = "content"
    enforce_for: Literal["agents", "all"] = "agents"
    unknown_authors: Literal["enforce", "ignore"] = "enforce"
    """A commit whose author/committer is linked to no account and unknown to the registry
    enforces the gate (default) or, with `ignore`, counts as a human's."""
    labels: bool = True
    replay: ReplayConfig = ReplayConfig()
    mode: Literal["enforce", "observe"] = "enforce"
    """`observe`: the check concludes `neutral` with the full report and requests/labels nothing
    (rolling a gate out). An invalid value is a config error, which fails the check."""
    terraform: TerraformConfig = TerraformConfig()
    allowlists: Allowlists = Allowlists()
    """Where changes may point (regions, accounts, registries…); see `app.config.allowlists`."""
    break_glass: BreakGlassConfig = BreakGlassConfig()
    freezes: Annotated[tuple[FreezeWindow, ...], AfterValidator(validate_freezes)] = ()
    """Named change freezes (`app.config.freezes`; the decision is `app.gate.freeze`)."""
    deploy: DeployConfig = DeployConfig()
    """Environments guarded by the deployment protection rule (`app.config.deploy`)."""

    @field_validator("approvers")
    @classmethod
    def _approver_keys(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        allowed = {*KINDS, "change_board"}
        for key, owners in v.items():
            if key not in allowed:
                raise ValueError(f"unknown approver group {key!r}; use one of {sorted(allowed)}")
            for owner in owners:
                if not owner.startswith("@"):
                    raise ValueError(f"approver {owner!r} must be '@user' or '@org/team'")
        return v

    @cached_property
    def _specs(self) -> list[tuple[PathSpec, PathRule]]:
        return [(file_spec([glob]), rule) for glob, rule in self.paths.items()]

    def rule_for(self, path: str) -> PathRule:
        """Merge every matching `paths` entry in file order (later entries win per field)."""
        rule = PathRule()
        for spec, entry in self._specs:
            if spec.match_file(path):
                rule = rule.merged(entry)
        return rule


def parse_repo_config(data: bytes | str | None, source: str = CONFIG_PATH) -> RepoConfig:
    """Parse and validate the config; None (absent file) gives the defaults."""
    if data is None:
        return RepoConfig()
    try:
        docs = load_yaml_documents(data, source)
    except UnparseableError as exc:
        raise ConfigError(exc.message, file=source, line=exc.line) from exc
    if not docs or docs[0].value is None:
        return RepoConfig()
    if len(docs) > 1:
        raise ConfigError("expected one YAML document", file=source, line=docs[1].line)
    doc = docs[0]
    if not isinstance(doc.value, dict):
        raise ConfigError("the top level must be a mapping", file=source, line=doc.line)
    try:
        return RepoConfig.model_validate(doc.value)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: tuple[Any, ...] = tuple(err["loc"])
        line = None
        for cut in range(len(loc), 0, -1):
            line = line_of(doc.node, loc[:cut])
            if line:
                break
        where = ".".join(str(p) for p in loc) or "(top level)"
        raise ConfigError(
            f"{where}: {err['msg']}",
            file=source,
            line=line or doc.line,
            hint="see the schema in README.md, section 'Repository configuration'",
        ) from exc
