"""Waivers, decided purely: who may waive, what binds them to content, when they stop."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.core.models import Change
from app.core.report import Finding
from app.gate.approval_scope import Directory
from app.gate.commands import Asker, Parties, Waive
from app.gate.waivers import WaiverGrant, active_grants, apply_waivers, judge_waive
from app.risk.rules import Rule, load_rule_file

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HEAD = "a" * 40
RULES = """
rules:
  - id: pricing.big
    description: A big price move.
    match: {kind: [pricing]}
    severity: high
    message: "Price of {address} moves."
    waivable_by: ["@acme/security"]
    examples: {match: [{file: p.json, kind: pricing, address: "plan:pro", op: update}]}
  - id: pricing.crit
    description: A critical price move.
    match: {kind: [pricing]}
    severity: critical
    message: "Price of {address} moves a lot."
    waivable_by: ["@acme/security"]
    examples: {match: [{file: p.json, kind: pricing, address: "plan:pro", op: update}]}
  - id: pricing.locked
    description: Nobody waives this.
    match: {kind: [pricing]}
    severity: high
    message: "Price of {address} moves."
    examples: {match: [{file: p.json, kind: pricing, address: "plan:pro", op: update}]}
"""
PARTIES = Parties(author="agent-bot[bot]", operator="olga", agent_logins=frozenset({"coder"}))
DIRECTORY = Directory({"acme/security": ("sue", "olga", "coder")})


def rules() -> dict[str, Rule]:
    return {r.id: r for r in load_rule_file(RULES, "rules.yaml")}


def change(price: float, address: str = "plan:pro") -> Change:
    return Change(
        file="p.json",
        kind="pricing",
        address=address,
        op="update",
        facts={"price_after": price},
        line=3,
    )


def finding(
    rule: str = "pricing.big", address: str = "plan:pro", severity: str = "high"
) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        tier=2,
        file="p.json",
        address=address,
        message="m",  # type: ignore[arg-type]
    )


def waive(
    login: str, rule: str = "pricing.big", *, expires: str | None = None, **kw: object
) -> WaiverGrant | str:
    return judge_waive(
        Waive(rule, None, "known promo", expires),
        Asker(login, bool(kw.get("is_bot", False)), PARTIES, DIRECTORY, NOW),
        rule=rules().get(rule),
        findings=[finding(rule, severity="critical" if rule == "pricing.crit" else "high")],
        changes=[change(29.0)],
        head_sha=HEAD,
    )


def test_a_member_waives_until_the_default_expiry_bound_to_the_objects_content() -> None:
    grant = waive("sue")
    assert isinstance(grant, WaiverGrant)
    assert grant.team == "@acme/security" and grant.by == "sue"
    assert grant.expires_at == "2026-12-14T12:00:00Z"
    assert grant.objects == (("p.json", "plan:pro"),)


@pytest.mark.parametrize(
    ("login", "why"),
    [
        ("agent-bot[bot]", "is a bot"),
        ("coder", "is a registered agent"),
        ("olga", "is the operator of the agent run"),
        ("dave", "dave is not a member of @acme/security"),
    ],
)
def test_agents_bots_the_operator_and_non_members_are_refused(login: str, why: str) -> None:
    verdict = waive(login)
    assert isinstance(verdict, str) and why in verdict


def test_the_author_is_refused_even_as_a_member() -> None:
    parties = Parties(author="sue", operator=None, agent_logins=frozenset())
    verdict = judge_waive(
        Waive("pricing.big", None, "r", None),
        Asker("sue", False, parties, DIRECTORY, NOW),
        rule=rules()["pricing.big"],
        findings=[finding()],
        changes=[change(29.0)],
        head_sha=HEAD,
    )
    assert verdict == "sue is the PR author: the author can never waive pricing.big"


def test_rules_without_waivable_by_critical_findings_and_past_expiry_are_refused() -> None:
    assert "names nobody under `waivable_by`" in str(waive("sue", "pricing.locked"))
    assert "findings are never waivable unless" in str(waive("sue", "pricing.crit"))
    assert "has already expired" in str(waive("sue", expires="2026-12-01"))
    assert "more than 90 days" in str(waive("sue", expires="91d"))
    assert "no rule `nope.x`" in str(waive("sue", "nope.x"))


def test_waive_critical_lets_a_rule_waive_its_critical_findings() -> None:
    text = RULES.replace(
        'message: "Price of {address} moves a lot."',
        'message: "Price of {address} moves a lot."\n    waive_critical: true',
    )
    rule = {r.id: r for r in load_rule_file(text, "r.yaml")}["pricing.crit"]
    verdict = judge_waive(
        Waive("pricing.crit", None, "r", "1d"),
        Asker("sue", False, PARTIES, DIRECTORY, NOW),
        rule=rule,
        findings=[finding("pricing.crit", severity="critical")],
        changes=[change(29.0)],
        head_sha=HEAD,
    )
    assert isinstance(verdict, WaiverGrant)


def test_an_active_waiver_drops_its_finding_and_a_push_elsewhere_keeps_it() -> None:
    grant = waive("sue")
    assert isinstance(grant, WaiverGrant)
    findings = [finding(), finding(address="plan:team")]
    # A new head whose waived object is the same (its line moved), with another object added.
    moved = change(29.0).model_copy(update={"line": 9})
    kept, [status] = apply_waivers(
        [grant], findings, [moved, change(5.0, "plan:team")], "b" * 40, NOW, rules().get
    )
    assert status.state == "active" and [f.address for f in status.findings] == ["plan:pro"]
    assert [f.address for f in kept] == ["plan:team"]  # a new object is never waived


def test_a_push_that_changes_the_waived_object_voids_it_and_expiry_ends_it() -> None:
    grant = waive("sue")
    assert isinstance(grant, WaiverGrant)
    kept, [status] = apply_waivers([grant], [finding()], [change(19.0)], "b" * 40, NOW, rules().get)
    assert status.state == "voided" and "a push changed `plan:pro`" in (status.why or "")
    assert kept == (finding(),)
    later = NOW + timedelta(days=8)
    kept, [status] = apply_waivers([grant], [finding()], [change(29.0)], HEAD, later, rules().get)
    assert status.state == "expired" and kept == (finding(),)


def test_the_latest_waiver_per_rule_counts_and_a_revocation_removes_it() -> None:
    grant = waive("sue")
    assert isinstance(grant, WaiverGrant)
    data = grant.as_data()
    assert active_grants([("waiver", data)]) == (grant,)
    revoked = {"rule": "pricing.big", "address": None, "by": "sue"}
    assert active_grants([("waiver", data), ("waiver_revoked", revoked)]) == ()
    assert active_grants([("waiver", {"rule": "x"})]) == ()  # unreadable: skipped


def test_a_bad_waivable_by_fails_the_pack_with_file_line_and_fix() -> None:
    from app.core.errors import RuleLoadError

    bad = RULES.replace('waivable_by: ["@acme/security"]', 'waivable_by: ["acme/security"]', 1)
    with pytest.raises(RuleLoadError, match="must be '@org/team' or '@user'") as caught:
        load_rule_file(bad, "rules.yaml")
    assert caught.value.line == 8  # the `waivable_by` line
    lonely = RULES.replace(
        "  - id: pricing.locked\n    description: Nobody waives this.",
        "  - id: pricing.locked\n    description: Nobody waives this.\n    waive_critical: true",
    )
    with pytest.raises(RuleLoadError, match="without `waivable_by` waives nothing"):
        load_rule_file(lonely, "rules.yaml")


def test_a_waiver_holds_only_while_the_rule_pack_allows_it() -> None:
    """Given on a high finding; since, the pack made it critical, or dropped the rule or its
    `waivable_by`: the finding counts again (fail closed), and the check says why."""
    grant = waive("sue")
    assert isinstance(grant, WaiverGrant)
    pack = rules()
    big = pack["pricing.big"]
    critical = finding(severity="critical")
    kept, [status] = apply_waivers([grant], [critical], [change(29.0)], HEAD, NOW, pack.get)
    assert kept == (critical,) and status.state == "voided"
    assert "no longer lets `pricing.big` be waived" in (status.why or "")
    for now_pack in ({}, {big.id: dataclasses.replace(big, waivable_by=())}):
        kept, [status] = apply_waivers(
            [grant], [finding()], [change(29.0)], HEAD, NOW, now_pack.get
        )
        assert kept == (finding(),) and status.state == "voided"
    lenient = {big.id: dataclasses.replace(big, waive_critical=True)}
    kept, [status] = apply_waivers([grant], [critical], [change(29.0)], HEAD, NOW, lenient.get)
    assert kept == () and status.state == "active"
