"""Destination allowlists: where infrastructure and config may point (regions, accounts, registries…).

Lists come from `.github/countersign.yml` (`allowlists:`, base branch) and from an agent's entry in
`policies/agents.yaml`. An agent's list *narrows* the repository's: a value must be allowed by
every list that configures its category. A category no list configures is not checked; an empty
list (`registries: []`) allows nothing.

Patterns are globs, compared case-insensitively: `*` is any run of characters except `/`, `?` one
such character (`eu-*`, `*.acme.com`, `*.dkr.ecr.eu-west-1.amazonaws.com`). A registry pattern
also allows everything below it (`ghcr.io/acme` allows `ghcr.io/acme/web`); a principal pattern
also allows ARNs of the account it names (`123456789012` allows `arn:aws:iam::123456789012:root`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from app.core.globs import glob_regex

Category = Literal[
    "regions",
    "accounts",
    "registries",
    "action_owners",
    "destinations",
    "principals",
    "export_buckets",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)

NOUNS: dict[Category, str] = {
    "regions": "region",
    "accounts": "account",
    "registries": "registry",
    "action_owners": "action owner",
    "destinations": "destination",
    "principals": "principal",
    "export_buckets": "export bucket",
}
"""How a message names one value of a category: `registry ghcr.io/evil/app`."""

_PATTERN = re.compile(r"[^\s]{1,253}")
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):", re.I)

Patterns = tuple[str, ...] | None


class Allowlists(BaseModel):
    """One `allowlists:` mapping; None for a category means "not configured here"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regions: Patterns = None
    """Cloud regions and locations: `eu-west-1`, `europe-west1`, `westeurope`, `eu-*`."""
    accounts: Patterns = None
    """AWS account ids, GCP project ids, Azure subscription ids."""
    registries: Patterns = None
    """Container registries or repository prefixes: `ghcr.io/acme`, `*.dkr.ecr.*.amazonaws.com`."""
    action_owners: Patterns = None
    """Owners of GitHub Actions and reusable workflows (`uses: OWNER/repo@ref`)."""
    destinations: Patterns = None
    """Hosts of outbound URLs (webhooks, HTTP/HTTPS subscriptions) and e-mail domains."""
    principals: Patterns = None
    """Principals of bucket, key, queue and trust policies: account ids or ARNs."""
    export_buckets: Patterns = None
    """Buckets that logs, replicas and exports may be written to."""

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, value: object) -> object:
        if isinstance(value, dict) and "domains" in value:
            raise ValueError(
                "`domains` is spelled `destinations` (hosts of outbound URLs and e-mail domains)"
            )
        return value

    @field_validator(*CATEGORIES, mode="before")
    @classmethod
    def _patterns(cls, value: object) -> object:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, int | float):
                    raise ValueError(
                        f"{item!r} must be quoted: YAML reads it as a number, which drops "
                        "leading zeros of account ids (write '012345678901')"
                    )
                if not isinstance(item, str) or not _PATTERN.fullmatch(item.strip()):
                    raise ValueError(
                        f"pattern {item!r} must be a non-empty string without spaces, "
                        "e.g. 'eu-*' or '*.acme.com'"
                    )
            return tuple(item.strip() for item in value)
        return value

    def patterns(self, category: Category) -> Patterns:
        value: Patterns = getattr(self, category)
        return value

    @property
    def configured(self) -> bool:
        return any(self.patterns(c) is not None for c in CATEGORIES)


@dataclass(frozen=True)
class AllowlistLayer:
    """One source of lists and how a message names it (`.github/countersign.yml`)."""

    source: str
    lists: Allowlists


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    return glob_regex([pattern.lower()], star="[^/]*", one="[^/]")


def _prefixes(repository: str) -> list[str]:
    parts = repository.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]


def allows(category: Category, value: str, patterns: Sequence[str]) -> bool:
    """Whether one list allows `value` (see the module docstring for the per-category rules)."""
    text = value.lower()
    candidates = [text]
    if category == "registries":
        candidates = _prefixes(text)
    elif category == "principals":
        account = _ACCOUNT_IN_ARN.match(text)
        if account:
            candidates.append(account.group(1))
    return any(_glob(p).fullmatch(c) for p in patterns for c in candidates)


def refusing_layer(
    category: Category, value: str, layers: Sequence[AllowlistLayer]
) -> AllowlistLayer | None:
    """The first layer that configures `category` and does not allow `value` (None: allowed)."""
    for layer in layers:
        patterns = layer.lists.patterns(category)
        if patterns is not None and not allows(category, value, patterns):
            return layer
    return None


REPO_SOURCE = ".github/countersign.yml"


def effective_layers(
    repo: Allowlists, agent_id: str | None = None, agent: Allowlists | None = None
) -> tuple[AllowlistLayer, ...]:
    """The lists a change is held to: the repository's, then (for an agent change) the agent's."""
    layers = [AllowlistLayer(REPO_SOURCE, repo)] if repo.configured else []
    if agent is not None and agent.configured and agent_id:
        layers.append(AllowlistLayer(f"agent {agent_id} in policies/agents.yaml", agent))
    return tuple(layers)
