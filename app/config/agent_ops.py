"""What `policies/agents.yaml` says about earned trust and pace: `graduation:` and `limits:`.

Tier 3 and `blocked` never graduate, so an entry may only start at tier 1 or 2 and must end lower.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.models import Kind, Op


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentLimits(_Config):
    """How fast an agent may open PRs. Unset = no limit of that kind."""

    prs_per_hour: int | None = Field(default=None, ge=1, le=100_000)
    prs_per_day: int | None = Field(default=None, ge=1, le=1_000_000)
    open_prs: int | None = Field(default=None, ge=1, le=100_000)

    def over(self, other: AgentLimits | None) -> AgentLimits:
        """These limits with unset ones taken from `other` (the registry's `defaults`)."""
        if other is None:
            return self
        return AgentLimits(
            prs_per_hour=self.prs_per_hour if self.prs_per_hour is not None else other.prs_per_hour,
            prs_per_day=self.prs_per_day if self.prs_per_day is not None else other.prs_per_day,
            open_prs=self.open_prs if self.open_prs is not None else other.open_prs,
        )


class ChangeSelector(_Config):
    """Findings on changes of this kind (and op, when given) are covered by the entry."""

    kind: Kind
    op: Op | None = None


class GraduationGates(_Config):
    """What the agent's record over the last `window_days` must show for the tier to drop."""

    min_merged: int = Field(default=1, ge=1)
    window_days: int = Field(default=30, ge=1, le=3650)
    max_reverted_pct: float = Field(default=0.0, ge=0, le=100)
    max_bypass: int = Field(default=0, ge=0)
    min_run_id_coverage_pct: float = Field(default=100.0, ge=0, le=100)
    max_cost_per_merge_usd: float | None = Field(default=None, ge=0)


class GraduationEntry(_Config):
    """One trust-ramp step: findings these selectors cover drop from `from_tier` to `to_tier`."""

    rules: tuple[str, ...] = ()
    """Rule ids (`pricing.small-change`) or a class with a wildcard (`pricing.*`)."""
    changes: tuple[ChangeSelector, ...] = ()
    from_tier: int
    to_tier: int = Field(ge=0)
    gates: GraduationGates = GraduationGates()

    @model_validator(mode="after")
    def _sane(self) -> GraduationEntry:
        if self.from_tier not in (1, 2):
            raise ValueError(
                f"from_tier {self.from_tier}: only tiers 1 and 2 graduate "
                "(tier 3 and blocked never do)"
            )
        if self.to_tier >= self.from_tier:
            raise ValueError(f"to_tier {self.to_tier} must be below from_tier {self.from_tier}")
        if not (self.rules or self.changes):
            raise ValueError("a graduation entry needs `rules` or `changes` selectors")
        return self

    def covers_rule(self, rule: str) -> bool:
        return any(
            rule == sel or (sel.endswith(".*") and rule.startswith(sel[:-1])) for sel in self.rules
        )

    def covers_change(self, kind: str, op: str) -> bool:
        return any(s.kind == kind and (s.op is None or s.op == op) for s in self.changes)
