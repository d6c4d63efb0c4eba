"""The agent registry's identity look-ups: logins, commit e-mails and names, branch prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config.agents import AgentRegistry, login_from_noreply
from app.core.errors import PolicyLoadError

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def registry() -> AgentRegistry:
    return AgentRegistry.load(SHIPPED)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "agents.yaml").write_text(text)
    return tmp_path


def test_email_lookups(registry: AgentRegistry) -> None:
    assert registry.agent_for_email("CODEX@agents.acme.example").id == "codex-ci"  # type: ignore[union-attr]
    noreply = "41898282+infra-bot[bot]@users.noreply.github.com"
    assert registry.agent_for_email(noreply).id == "infra-bot"  # type: ignore[union-attr]
    copilot = "198982749+Copilot@users.noreply.github.com"
    assert registry.agent_for_email(copilot).id == "copilot"  # type: ignore[union-attr]
    assert registry.agent_for_email("alice@acme.example") is None
    assert registry.agent_for_name("ACME-Codex").id == "codex-ci"  # type: ignore[union-attr]


def test_branch_prefix_lookup(registry: AgentRegistry) -> None:
    assert registry.agent_for_branch("copilot/fix-123").id == "copilot"  # type: ignore[union-attr]
    assert registry.agent_for_branch("feature/copilot/x") is None


def test_an_agent_needs_some_identity(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="at least one of logins"):
        AgentRegistry.load(write(tmp_path, "agents:\n  - id: ghost\n    kinds: [text]\n"))


def test_same_email_for_two_agents_is_refused(tmp_path: Path) -> None:
    text = (
        "agents:\n"
        "  - id: a\n    emails: [bot@acme.example]\n"
        "  - id: b\n    emails: [BOT@acme.example]\n"
    )
    with pytest.raises(PolicyLoadError, match=r"email 'bot@acme\.example' is registered to both"):
        AgentRegistry.load(write(tmp_path, text))


@pytest.mark.parametrize(
    ("field", "value"),
    [("branch_prefixes", "refs/heads/x/"), ("run_links", "http://insecure.example/runs/")],
)
def test_bad_prefixes_are_refused(tmp_path: Path, field: str, value: str) -> None:
    text = f'agents:\n  - id: a\n    logins: [a-bot]\n    {field}: ["{value}"]\n'
    with pytest.raises(PolicyLoadError, match=field):
        AgentRegistry.load(write(tmp_path, text))


@given(
    number=st.integers(min_value=1, max_value=10**9),
    login=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,30}", fullmatch=True),
    bot=st.booleans(),
)
def test_noreply_emails_name_their_login(number: int, login: str, bot: bool) -> None:
    name = f"{login}[bot]" if bot else login
    assert login_from_noreply(f"{number}+{name}@users.noreply.github.com") == name
    assert login_from_noreply(f"{name}@example.com") is None


TRUST = """
defaults:
  limits: {prs_per_hour: 10, prs_per_day: 50, open_prs: 5}
agents:
  - id: pricing-bot
    logins: ["pricing-bot[bot]"]
    limits: {prs_per_hour: 2}
    graduation:
      - {rules: ["pricing.small-change"], from_tier: 2, to_tier: 1,
         gates: {min_merged: 30, window_days: 30, max_reverted_pct: 0.1, max_bypass: 0,
                 min_run_id_coverage_pct: 100, max_cost_per_merge_usd: 0.25}}
      - {changes: [{kind: pricing, op: update}], from_tier: 1, to_tier: 0}
  - id: docs-bot
    logins: ["docs-bot[bot]"]
"""


def test_graduation_and_limits_parse_with_defaults(tmp_path: Path) -> None:
    registry = AgentRegistry.load(write(tmp_path, TRUST))
    pricing, docs = registry.get("pricing-bot"), registry.get("docs-bot")
    assert pricing is not None and docs is not None
    first, second = pricing.graduation
    assert first.rules == ("pricing.small-change",) and first.gates.max_cost_per_merge_usd == 0.25
    assert (second.from_tier, second.to_tier, second.changes[0].op) == (1, 0, "update")
    own = registry.limits_for(pricing)
    assert (own.prs_per_hour, own.prs_per_day, own.open_prs) == (2, 50, 5)
    assert registry.limits_for(docs).prs_per_hour == 10


def test_a_tier_3_graduation_is_refused_naming_the_line(tmp_path: Path) -> None:
    bad = TRUST.replace("from_tier: 2, to_tier: 1", "from_tier: 3, to_tier: 1")
    with pytest.raises(PolicyLoadError, match="never") as caught:
        AgentRegistry.load(write(tmp_path, bad))
    assert caught.value.line == 9
