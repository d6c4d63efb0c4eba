"""Pre-flight API tokens in agents.yaml: hashes or env references, resolved at load, never plaintext."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config.agents import AgentRegistry
from app.core.errors import PolicyLoadError
from tests.service._agent_tokens import policies_with_tokens, sha256_ref

TOKEN = "pf_4f1c0c6e0b8a4a7f9d2e5b7c1a3d9e8f"
OTHER = "pf_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"


def test_hash_entries_identify_the_agent(tmp_path: Path) -> None:
    policies = policies_with_tokens(
        tmp_path / "p", {"pricing-bot": f'api_tokens: ["{sha256_ref(TOKEN)}"]'}
    )
    registry = AgentRegistry.load(policies, environ={})
    found = registry.agent_for_token(TOKEN)
    assert found is not None and found[0].id == "pricing-bot"
    assert len(found[1]) == 12 and found[1] not in TOKEN
    assert registry.agent_for_token(OTHER) is None
    assert registry.agent_for_token("") is None
    assert registry.agent_for_token(TOKEN[:-1]) is None


def test_env_entries_resolve_at_load(tmp_path: Path) -> None:
    policies = policies_with_tokens(
        tmp_path / "p",
        {
            "infra-bot": "api_tokens: [env:INFRA_BOT_PREFLIGHT_TOKEN]",
            "docs-bot": f"api_tokens:\n  - {sha256_ref(OTHER)}",
        },
    )
    registry = AgentRegistry.load(policies, environ={"INFRA_BOT_PREFLIGHT_TOKEN": TOKEN})
    assert registry.agent_for_token(TOKEN)[0].id == "infra-bot"  # type: ignore[index]
    assert registry.agent_for_token(OTHER)[0].id == "docs-bot"  # type: ignore[index]


def test_a_missing_variable_is_a_load_error_naming_file_and_line(tmp_path: Path) -> None:
    policies = policies_with_tokens(
        tmp_path / "p", {"renovate": "api_tokens:\n  - env:RENOVATE_PREFLIGHT_TOKEN"}
    )
    with pytest.raises(PolicyLoadError) as caught:
        AgentRegistry.load(policies, environ={})
    error = caught.value
    assert "RENOVATE_PREFLIGHT_TOKEN is not set" in error.message
    assert error.file == str(policies / "agents.yaml")
    lines = (policies / "agents.yaml").read_text().splitlines()
    assert error.line is not None and "env:RENOVATE_PREFLIGHT_TOKEN" in lines[error.line - 1]
    with pytest.raises(PolicyLoadError, match="shorter than 24"):
        AgentRegistry.load(policies, environ={"RENOVATE_PREFLIGHT_TOKEN": "short"})


def test_a_plaintext_token_is_refused_without_repeating_it(tmp_path: Path) -> None:
    policies = policies_with_tokens(tmp_path / "p", {"docs-bot": f"api_tokens: [{TOKEN}]"})
    with pytest.raises(PolicyLoadError) as caught:
        AgentRegistry.load(policies, environ={})
    error = caught.value
    assert "never write a token itself" in error.message
    assert TOKEN not in str(error) and TOKEN not in (error.hint or "")
    lines = (policies / "agents.yaml").read_text().splitlines()
    assert error.line is not None and "api_tokens" in lines[error.line - 1]


def test_one_token_cannot_belong_to_two_agents(tmp_path: Path) -> None:
    ref = sha256_ref(TOKEN)
    policies = policies_with_tokens(
        tmp_path / "p",
        {"docs-bot": f'api_tokens: ["{ref}"]', "renovate": f'api_tokens: ["{ref}"]'},
    )
    with pytest.raises(PolicyLoadError, match="both 'docs-bot' and 'renovate'"):
        AgentRegistry.load(policies, environ={})


def test_per_agent_rate_limit_is_validated(tmp_path: Path) -> None:
    good = policies_with_tokens(
        tmp_path / "good", {"docs-bot": "api_rate_limit: {per_minute: 6, burst: 2}"}
    )
    agent = AgentRegistry.load(good, environ={}).get("docs-bot")
    assert agent is not None and agent.api_rate_limit is not None
    assert (agent.api_rate_limit.per_minute, agent.api_rate_limit.burst) == (6, 2)
    bad = policies_with_tokens(
        tmp_path / "bad", {"docs-bot": "api_rate_limit: {per_minute: 0, burst: 2}"}
    )
    with pytest.raises(PolicyLoadError, match="per_minute"):
        AgentRegistry.load(bad, environ={})


def test_policy_check_resolves_env_tokens(tmp_path: Path) -> None:
    policies = policies_with_tokens(
        tmp_path / "p", {"infra-bot": "api_tokens: [env:INFRA_BOT_PREFLIGHT_TOKEN]"}
    )
    cli = [sys.executable, "-m", "app.cli.main", "policy", "check", "--policies-dir", str(policies)]
    env = {k: v for k, v in os.environ.items() if k != "INFRA_BOT_PREFLIGHT_TOKEN"}
    missing = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 1
    assert "INFRA_BOT_PREFLIGHT_TOKEN is not set" in missing.stderr
    assert "agents.yaml" in missing.stderr
    ok = subprocess.run(
        cli,
        capture_output=True,
        text=True,
        env={**env, "INFRA_BOT_PREFLIGHT_TOKEN": TOKEN},
        timeout=120,
    )
    assert ok.returncode == 0 and "policies OK" in ok.stdout, ok.stderr
