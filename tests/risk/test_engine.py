"""Findings: rule matching, CEL at run time, supersession, fallbacks, floors, production bump."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.models import KINDS, REDACTED, Change, FieldChange
from app.risk import RulePack, evaluate, evaluate_rules, load_rule_pack, tier_for
from tests.examples import examples

REPLICAS = """\
rules:
  - id: k8s.scale-down
    description: Fewer replicas than before.
    match:
      kind: [kubernetes]
      op: [update]
    when: change.facts.replicas_after < change.facts.replicas_before
    severity: medium
    message: "Scales {address} down to {facts.replicas_after} ({field})."
    examples:
      match:
        - {file: k8s/web.yaml, kind: kubernetes, address: Deployment/shop/web, op: update,
           facts: {replicas_before: 4, replicas_after: 2}}
  - id: k8s.pinned-tier
    description: Any change in the payments namespace needs two people.
    match:
      kind: [kubernetes]
    when: has(change.facts.namespace) && change.facts.namespace == "payments"
    severity: low
    tier: 2
    message: "Payments object {address}."
    examples:
      match:
        - {file: k8s/pay.yaml, kind: kubernetes, address: Deployment/payments/api, op: update,
           facts: {namespace: payments}}
"""


def deployment(**facts: object) -> Change:
    return Change(
        file="k8s/shop/web.yaml",
        kind="kubernetes",
        address="Deployment/shop/web",
        op="update",
        line=7,
        fields=(FieldChange(path="spec.replicas", before=4, after=2),),
        facts={"object_kind": "Deployment", **facts},
    )


@pytest.fixture
def replicas_pack(rule_file: Callable[..., Path]) -> RulePack:
    return load_rule_pack(rule_file(REPLICAS).parent)


def test_match_renders_message_and_location(replicas_pack: RulePack) -> None:
    [finding] = evaluate(
        replicas_pack, [deployment(replicas_before=4, replicas_after=2)], is_agent=False
    )
    assert finding.model_dump() == {
        "rule": "k8s.scale-down",
        "severity": "medium",
        "tier": 1,
        "file": "k8s/shop/web.yaml",
        "line": 7,
        "address": "Deployment/shop/web",
        "message": "Scales Deployment/shop/web down to 2 (spec.replicas).",
    }
    assert evaluate_rules is evaluate


def test_cel_runtime_error_is_a_finding_not_a_silent_miss(replicas_pack: RulePack) -> None:
    findings = evaluate(replicas_pack, [deployment(replicas_after=2)], is_agent=True)
    rules = [f.rule for f in findings]
    assert rules == ["change.unclassified", "risk.rule-error"]
    error = findings[1]
    assert error.severity == "medium"
    assert "k8s.scale-down" in error.message
    assert "custom.yaml:2" in error.message
    assert "KeyError" in error.message
    assert tier_for(findings) == 1


def test_non_boolean_when_is_a_rule_error(rule_file: Callable[..., Path]) -> None:
    pack = load_rule_pack(
        rule_file(
            REPLICAS.replace(
                "when: change.facts.replicas_after < change.facts.replicas_before",
                "when: change.facts.replicas_after",
            )
        ).parent
    )
    findings = evaluate(pack, [deployment(replicas_before=4, replicas_after=2)], is_agent=False)
    assert [f.rule for f in findings] == ["change.unclassified", "risk.rule-error"]
    assert "not a boolean" in findings[1].message


def test_pinned_tier_survives_and_production_bump(replicas_pack: RulePack) -> None:
    change = deployment(namespace="payments", replicas_before=4, replicas_after=2)
    staging = evaluate(replicas_pack, [change], is_agent=False)
    assert [(f.rule, f.severity, f.tier) for f in staging] == [
        ("k8s.scale-down", "medium", 1),
        ("k8s.pinned-tier", "low", 2),
    ]
    prod = change.model_copy(update={"facts": {**change.facts, "environment": "production"}})
    bumped = evaluate(replicas_pack, [prod], is_agent=False)
    assert [(f.rule, f.severity, f.tier) for f in bumped] == [
        ("k8s.scale-down", "high", 2),  # tier recomputed from the raised severity
        ("k8s.pinned-tier", "medium", 2),  # pinned tier kept
    ]
    assert bumped[0].message.endswith("(spec.replicas) (production: raised from medium).")


def test_critical_stays_critical_in_production(default_pack: RulePack) -> None:
    change = Change(
        file="infra/prod/db.tf",
        kind="terraform",
        address="aws_db_instance.main",
        op="delete",
        facts={
            "block_type": "resource",
            "resource_type": "aws_db_instance",
            "environment": "production",
        },
    )
    [finding] = evaluate(default_pack, [change], is_agent=True)
    assert (finding.rule, finding.severity, finding.tier) == (
        "terraform.delete-stateful",
        "critical",
        3,
    )
    assert "production" not in finding.message


def test_supersedes_drops_the_generic_finding(default_pack: RulePack) -> None:
    stateful = Change(
        file="infra/db.tf",
        kind="terraform",
        address="aws_rds_cluster.orders",
        op="delete",
        facts={"block_type": "resource", "resource_type": "aws_rds_cluster"},
    )
    plain = stateful.model_copy(
        update={
            "address": "aws_sns_topic.alerts",
            "facts": {"block_type": "resource", "resource_type": "aws_sns_topic"},
        }
    )
    assert [f.rule for f in evaluate(default_pack, [stateful], is_agent=False)] == [
        "terraform.delete-stateful"
    ]
    assert [f.rule for f in evaluate(default_pack, [plain], is_agent=False)] == ["terraform.delete"]


def test_every_change_gets_a_finding_even_with_a_narrow_pack(replicas_pack: RulePack) -> None:
    changes = [
        Change(
            file="README.md", kind="text", address="README.md", op="update", facts={"docs": True}
        ),
        Change(file="scripts/x.sh", kind="text", address="scripts/x.sh", op="create"),
        Change(
            file="infra/a.tf",
            kind="text",
            address="infra/a.tf",
            op="update",
            facts={"unparseable": "invalid HCL at line 3"},
        ),
        Change(
            file="k8s/a.yaml",
            kind="kubernetes",
            address="k8s/a.yaml",
            op="update",
            facts={"partial": True},
        ),
    ]
    findings = evaluate(replicas_pack, changes, is_agent=True)
    assert [(f.file, f.rule, f.severity) for f in findings] == [
        ("README.md", "change.unclassified", "low"),  # this pack has no docs rule: fail closed
        ("scripts/x.sh", "change.unclassified", "low"),
        ("infra/a.tf", "analysis.unparseable", "medium"),
        ("k8s/a.yaml", "analysis.partial", "medium"),
        ("k8s/a.yaml", "risk.rule-error", "medium"),  # scale-down reads facts this change lacks
    ]
    assert {f.file for f in findings} == {c.file for c in changes}


def test_defaults_in_the_shipped_pack(default_pack: RulePack) -> None:
    docs = Change(
        file="docs/runbooks/failover.md",
        kind="text",
        address="docs/runbooks/failover.md",
        op="update",
        facts={"docs": True, "lines_added": 4, "lines_removed": 1},
    )
    script = Change(
        file="scripts/deploy.sh",
        kind="text",
        address="scripts/deploy.sh",
        op="update",
        facts={"lines_added": 2, "lines_removed": 2},
    )
    binary = Change(
        file="assets/logo.png",
        kind="text",
        address="assets/logo.png",
        op="update",
        facts={"binary": True, "unparseable": "binary content cannot be reviewed semantically"},
    )
    partial = Change(
        file="catalog/plans.json",
        kind="data",
        address="catalog/plans.json",
        op="update",
        facts={"partial": True},
    )
    findings = evaluate(default_pack, [docs, script, binary, partial], is_agent=True)
    assert [(f.file, f.rule, f.severity, f.tier) for f in findings] == [
        ("docs/runbooks/failover.md", "docs.only", "info", 0),
        ("scripts/deploy.sh", "change.unclassified", "low", 1),
        ("assets/logo.png", "analysis.unparseable", "medium", 1),
        ("catalog/plans.json", "analysis.partial", "medium", 1),
    ]
    assert tier_for(findings[:1]) == 0
    assert tier_for([]) == 0


def test_secrets_never_reach_messages(rule_file: Callable[..., Path]) -> None:
    pack = load_rule_pack(
        rule_file("""\
        rules:
          - id: test.leaky
            description: A careless message template.
            severity: low
            message: "token={facts.api_token} password={facts.db_password} seen={facts.labels}"
            examples:
              match:
                - {file: a.json, kind: data, address: a, op: update}
        """).parent
    )
    change = Change(
        file="config/app.json",
        kind="data",
        address="app",
        op="update",
        facts={
            "api_token": "tok_live_abc123",
            "db_password": "hunter2",
            "labels": {"team": "core", "client_secret": "s3cr3t-value"},
        },
    )
    [finding] = evaluate(pack, [change], is_agent=False)
    text = json.dumps(finding.model_dump())
    for secret in ("tok_live_abc123", "hunter2", "s3cr3t-value"):
        assert secret not in text
    assert f"token={REDACTED}" in finding.message
    assert '"team":"core"' in finding.message


def test_missing_fact_renders_as_question_mark(replicas_pack: RulePack) -> None:
    change = Change(
        file="k8s/pay.yaml",
        kind="kubernetes",
        address="Deployment/payments/api",
        op="create",
        facts={"namespace": "payments"},
    )
    [finding] = evaluate(replicas_pack, [change], is_agent=False)
    assert finding.message == "Payments object Deployment/payments/api."


def test_pr_context_reaches_rules(default_pack: RulePack) -> None:
    change = Change(
        file=".github/CODEOWNERS",
        kind="governance",
        address=".github/CODEOWNERS",
        op="update",
        facts={"governance": True},
    )
    by_agent = evaluate(default_pack, [change], is_agent=True, author="infra-bot[bot]")
    by_human = evaluate(default_pack, [change], is_agent=False, author="alice")
    assert [(f.rule, f.tier) for f in by_agent] == [("governance.agent-change", 3)]
    assert [(f.rule, f.tier) for f in by_human] == [("governance.human-change", 2)]


def test_unconvertible_values_do_not_crash(default_pack: RulePack) -> None:
    change = Change(
        file="k8s/odd.yaml",
        kind="kubernetes",
        address="Deployment/x/y",
        op="update",
        fields=(
            FieldChange(
                path="metadata.annotations", before={1: float("nan")}, after={"t": object()}
            ),
        ),
        facts={"object_kind": "Deployment", "replicas_before": 2, "replicas_after": float("inf")},
    )
    findings = evaluate(default_pack, [change], is_agent=False)
    assert findings, "every change yields at least one finding"


FACT_KEYS = (
    "block_type", "resource_type", "object_kind", "environment", "docs", "partial",
    "unparseable", "price_delta_pct", "price_after_num", "replicas_before", "replicas_after",
    "images_after", "statement", "has_where", "governance", "new_secrets", "destroy",
    "governance_routine", "library_role", "library_module",
)  # fmt: skip
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
changes = st.builds(
    Change,
    file=st.sampled_from(["infra/db.tf", "k8s/web.yaml", "catalog/plans.json", "README.md"]),
    kind=st.sampled_from(KINDS),
    address=st.text(min_size=1, max_size=20),
    op=st.sampled_from(["create", "update", "delete", "rename"]),
    fields=st.lists(
        st.builds(
            FieldChange,
            path=st.sampled_from(["ingress", "policy", "acl", "count", "x.y"]),
            before=values,
            after=values,
        ),
        max_size=3,
    ).map(tuple),
    facts=st.dictionaries(st.sampled_from(FACT_KEYS), values, max_size=6),
)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(changes, min_size=1, max_size=5), st.booleans())
def test_any_change_fails_closed(
    default_pack: RulePack, batch: list[Change], is_agent: bool
) -> None:
    findings = evaluate(default_pack, batch, is_agent=is_agent)
    for index, change in enumerate(batch):
        mine = [f for f in findings if f.address == change.address and f.file == change.file]
        assert mine, f"change {index} has no finding"
    if tier_for(findings) == 0:
        assert all(f.severity == "info" for f in findings)
