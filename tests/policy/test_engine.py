"""Loading, validation, fail-closed decisions, who-can and the policy version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.config.settings import shipped_dir
from app.core.errors import PolicyLoadError
from app.core.models import Change
from app.core.report import Finding
from app.policy import PolicyEngine, ProposeSummary, summarize


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(shipped_dir("policies"), target)
    return target


def test_shipped_policies_check_clean() -> None:
    engine = PolicyEngine.load(shipped_dir("policies"))
    assert engine.check() == []


def test_syntax_error_names_the_file(policies: Path) -> None:
    (policies / "broken.cedar").write_text(
        '@id("x")\npermit (principal, action, resource) when { ;\n'
    )
    with pytest.raises(PolicyLoadError) as info:
        PolicyEngine.load(policies)
    assert "broken.cedar" in str(info.value)


def test_schema_violation_is_refused(policies: Path) -> None:
    (policies / "extra.cedar").write_text(
        '@id("typo")\npermit (principal, action == Action::"propose", resource)\n'
        "when { context.no_such_field };\n"
    )
    with pytest.raises(PolicyLoadError, match="do not validate"):
        PolicyEngine.load(policies)


def test_duplicate_ids_are_refused_with_both_places(policies: Path) -> None:
    (policies / "dup.cedar").write_text(
        '@id("humans-may-approve")\npermit (principal, action == Action::"approve", resource);\n'
    )
    with pytest.raises(PolicyLoadError) as info:
        PolicyEngine.load(policies)
    assert "duplicate policy @id('humans-may-approve')" in str(info.value)
    assert "approve.cedar:" in str(info.value)


def test_policy_without_id_is_a_check_problem(policies: Path) -> None:
    (policies / "anon.cedar").write_text(
        'forbid (principal, action == Action::"propose", resource) when { context.deletes };\n'
    )
    problems = PolicyEngine.load(policies).check()
    assert any("anon.cedar" in p and "@id" in p for p in problems)


def test_bad_registry_names_line(policies: Path) -> None:
    (policies / "agents.yaml").write_text(
        "agents:\n  - id: x\n    logins: [x-bot]\n    kinds: [rockets]\n"
    )
    with pytest.raises(PolicyLoadError) as info:
        PolicyEngine.load(policies)
    assert "agents.yaml" in str(info.value)
    assert "kinds" in str(info.value)


def test_same_login_for_two_agents_is_refused(policies: Path) -> None:
    text = (policies / "agents.yaml").read_text()
    (policies / "agents.yaml").write_text(
        text + '  - id: copycat\n    logins: ["infra-bot[bot]"]\n    kinds: [text]\n'
    )
    with pytest.raises(PolicyLoadError, match="registered to both"):
        PolicyEngine.load(policies)


def test_version_changes_with_any_policy_file(policies: Path) -> None:
    before = PolicyEngine.load(policies).version
    path = policies / "approve.cedar"
    path.write_text(path.read_text() + "\n// a comment is still a new version\n")
    assert PolicyEngine.load(policies).version != before


def test_deny_explains_which_registration_failed() -> None:
    engine = PolicyEngine.load(shipped_dir("policies"))
    result = engine.decide_propose(
        "docs-bot", "acme/platform", ProposeSummary(kinds=frozenset({"terraform"}))
    )
    assert result.decision == "deny"
    assert "agent docs-bot may not propose terraform changes" in result.reasons


def test_who_can_delete_production_data() -> None:
    engine = PolicyEngine.load(shipped_dir("policies"))
    rows = engine.who_can("propose", kind="terraform", op="delete", env="production")
    assert [r.agent for r in rows] == ["infra-bot"]
    assert rows[0].policies == ("agent-within-registration",)
    assert engine.who_can("propose", kind="governance") == []
    assert "renovate" not in [
        r.agent for r in engine.who_can("propose", kind="data", env="production")
    ]


def test_summary_carries_what_policies_need() -> None:
    changes = [
        Change(
            file="c.json",
            kind="pricing",
            address="sku:a",
            op="update",
            facts={"price_delta_pct": -42.5},
        ),
        Change(
            file="d.tf",
            kind="text",
            address="d.tf",
            op="update",
            facts={"unparseable": "x", "detected_kind": "terraform", "environment": "production"},
        ),
        Change(file=".github/CODEOWNERS", kind="governance", address="codeowners:*", op="delete"),
    ]
    findings = [Finding(rule="r", severity="high", tier=2, message="m")]
    s = summarize(changes, findings)
    assert s.kinds == {"pricing", "text", "terraform", "governance"}
    assert s.max_price_delta_pct == 42.5
    assert s.environments == {"production"}
    assert s.touches_governance and s.deletes
    assert s.context(repo_allowed=True)["max_price_delta_bp"] == 4250
    assert s.context(repo_allowed=True)["max_severity_rank"] == 3
