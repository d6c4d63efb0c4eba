"""Allowlists: the patterns, where they are configured, and how the agent's narrows the repo's."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.agents import AgentRegistry
from app.config.allowlists import (
    REPO_SOURCE,
    Allowlists,
    Category,
    allows,
    effective_layers,
    refusing_layer,
)
from app.config.repo import parse_repo_config
from app.core.errors import ConfigError, PolicyLoadError


@pytest.mark.parametrize(
    ("category", "value", "patterns", "expected"),
    [
        ("regions", "eu-west-1", ["eu-*"], True),
        ("regions", "us-east-1", ["eu-*"], False),
        ("regions", "eu", ["eu-*"], False),
        ("destinations", "hooks.acme.com", ["*.acme.com"], True),
        ("destinations", "a.b.acme.com", ["*.acme.com"], True),
        ("destinations", "acme.com", ["*.acme.com"], False),
        ("destinations", "acme.com.evil.io", ["*.acme.com"], False),
        ("destinations", "Hooks.ACME.com", ["hooks.acme.com"], True),
        ("registries", "ghcr.io/acme/web", ["ghcr.io/acme"], True),
        ("registries", "ghcr.io/acme-evil/web", ["ghcr.io/acme"], False),
        ("registries", "ghcr.io/evil/web", ["ghcr.io"], True),
        ("registries", "123.dkr.ecr.eu-west-1.amazonaws.com/etl", ["*.dkr.ecr.*.amazonaws.com"],
         True),
        # `*` never crosses `/`: a look-alike path cannot satisfy a host pattern
        ("registries", "evil.io/x.dkr.ecr.y.amazonaws.com/app", ["*.dkr.ecr.*.amazonaws.com"],
         False),
        ("principals", "arn:aws:iam::123456789012:role/deploy", ["123456789012"], True),
        ("principals", "arn:aws:iam::210987654321:root", ["123456789012"], False),
        ("principals", "arn:aws:iam::123456789012:role/deploy",
         ["arn:aws:iam::123456789012:role/*"], True),
        ("principals", "*", ["123456789012"], False),
        ("accounts", "123456789012", ["123456789012", "acme-*"], True),
        ("accounts", "acme-prod", ["123456789012", "acme-*"], True),
        ("action_owners", "actions", ["actions", "acme"], True),
        ("action_owners", "some-dev", ["actions", "acme"], False),
        ("export_buckets", "acme-audit-replica", ["acme-*"], True),
        ("export_buckets", "partner-audit-drop", ["acme-*"], False),
    ],
)  # fmt: skip
def test_pattern_matching(
    category: Category, value: str, patterns: list[str], expected: bool
) -> None:
    assert allows(category, value, patterns) is expected


def test_an_agent_list_narrows_the_repository_list() -> None:
    repo = Allowlists(regions=("eu-*",), registries=("ghcr.io/acme",))
    agent = Allowlists(regions=("eu-west-1",))
    layers = effective_layers(repo, "infra-bot", agent)
    assert refusing_layer("regions", "eu-west-1", layers) is None
    refused = refusing_layer("regions", "eu-central-1", layers)
    assert refused is not None and refused.source == "agent infra-bot in policies/agents.yaml"
    refused = refusing_layer("regions", "us-east-1", layers)
    assert refused is not None and refused.source == REPO_SOURCE
    # the agent configures no registries: the repository's list alone applies
    assert refusing_layer("registries", "ghcr.io/acme/web", layers) is None
    assert refusing_layer("registries", "quay.io/x/y", layers) is not None


def test_unconfigured_categories_are_not_checked_and_an_empty_list_allows_nothing() -> None:
    layers = effective_layers(Allowlists(registries=()))
    assert refusing_layer("registries", "ghcr.io/acme/web", layers) is not None
    assert refusing_layer("regions", "us-east-1", layers) is None
    assert effective_layers(Allowlists()) == ()
    # an agent list without an agent id (a human's PR) is not applied
    assert effective_layers(Allowlists(), None, Allowlists(regions=("eu-*",))) == ()


def test_repo_config_reads_allowlists() -> None:
    config = parse_repo_config(
        b"allowlists:\n"
        b"  regions: [eu-west-1, eu-central-1]\n"
        b"  registries: [ghcr.io/acme, '*.dkr.ecr.eu-west-1.amazonaws.com']\n"
        b"  destinations: ['*.acme.com', hooks.slack.com]\n"
        b"  action_owners: actions\n"
    )
    lists = config.allowlists
    assert lists.regions == ("eu-west-1", "eu-central-1")
    assert lists.registries == ("ghcr.io/acme", "*.dkr.ecr.eu-west-1.amazonaws.com")
    assert lists.action_owners == ("actions",)
    assert lists.accounts is None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (b"labels: true\nallowlists:\n  region: [eu-west-1]\n", 3, "allowlists.region"),
        (b"allowlists:\n  regions: ['eu west']\n", 2, "without spaces"),
        (b"allowlists:\n  accounts: [123456789012]\n", 2, "must be quoted"),
        (b"allowlists:\n  domains: [acme.com]\n", 2, "spelled `destinations`"),
    ],
)
def test_a_bad_allowlist_names_the_line(text: bytes, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_repo_config(text)
    assert caught.value.line == line
    assert words in str(caught.value)


def test_agent_registry_reads_an_agents_allowlists(tmp_path: Path) -> None:
    (tmp_path / "agents.yaml").write_text(
        "agents:\n"
        "  - id: infra-bot\n"
        "    logins: ['infra-bot[bot]']\n"
        "    allowlists:\n"
        "      regions: [eu-west-1]\n"
        "      destinations: ['*.acme.com']\n"
    )
    agent = AgentRegistry.load(tmp_path).get("infra-bot")
    assert agent is not None and agent.allowlists is not None
    assert agent.allowlists.regions == ("eu-west-1",)
    assert agent.allowlists.registries is None


def test_agent_registry_refuses_an_unknown_category(tmp_path: Path) -> None:
    (tmp_path / "agents.yaml").write_text(
        "agents:\n"
        "  - id: infra-bot\n"
        "    logins: ['infra-bot[bot]']\n"
        "    allowlists:\n"
        "      domains: [acme.com]\n"
    )
    with pytest.raises(PolicyLoadError) as caught:
        AgentRegistry.load(tmp_path)
    assert "spelled `destinations`" in str(caught.value)
    assert caught.value.line == 5
