"""The shipped rule pack: every example passes, required rules exist, and realistic change sets
are classified as a reviewer would expect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.models import Change
from app.risk import RulePack, evaluate, load_rule_pack, risk_summary, run_examples, tier_for

LoadSet = Callable[[str], tuple[list[Change], dict[str, Any]]]

REQUIRED = {
    "terraform.delete-stateful", "terraform.delete", "terraform.change", "terraform.scaling",
    "terraform.protection-removed", "terraform.ingress-open", "terraform.ingress-open-admin",
    "terraform.iam-admin", "terraform.iam-wildcard", "terraform.public-bucket",
    "terraform.module-source", "terraform.provider-backend",
    "k8s.delete", "k8s.delete-stateful", "k8s.privileged", "k8s.rbac-wildcard",
    "k8s.scale-to-zero", "k8s.replicas-change", "k8s.image-change", "k8s.image-unpinned",
    "k8s.secret-change", "k8s.service-exposed",
    "pricing.large-change", "pricing.change", "pricing.record-removed", "pricing.record-added",
    "pricing.currency-change", "pricing.non-positive",
    "workflow.permissions-broadened", "workflow.pull-request-target", "workflow.new-secrets",
    "workflow.unpinned-actions", "governance.agent-change", "governance.human-change",
    "sql.destructive", "sql.unbounded-dml", "sql.breaking-ddl", "sql.additive-ddl",
    "analysis.unparseable", "analysis.partial", "docs.only", "change.unclassified",
}  # fmt: skip


def test_every_shipped_example_passes(default_pack: RulePack) -> None:
    results = run_examples(default_pack)
    failed = [r for r in results if not r.ok]
    assert not failed, "\n".join(
        f"{r.rule} {r.expected}[{r.index}]: got {r.actual} {r.error or ''}" for r in failed
    )
    assert len(results) >= 2 * len(default_pack.rules)


def test_pack_inventory(default_pack: RulePack) -> None:
    ids = {r.id for r in default_pack.rules}
    assert REQUIRED <= ids, sorted(REQUIRED - ids)
    for rule in default_pack.rules:
        assert any(e.expected for e in rule.examples), rule.id
    files = {Path(r.source).name for r in default_pack.rules}
    assert files == {
        "general.yaml",
        "governance.yaml",
        "kubernetes.yaml",
        "pricing.yaml",
        "sql.yaml",
        "terraform.yaml",
        "terraform_plan.yaml",
        "workflow.yaml",
    }
    assert len(default_pack.digest) == 64


def test_run_examples_reports_a_wrong_example(rule_file: Callable[..., Path]) -> None:
    pack = load_rule_pack(
        rule_file("""\
        rules:
          - id: sql.drop
            description: Dropping tables deletes data.
            match: {kind: sql}
            when: change.facts.statement == "DROP_TABLE"
            severity: critical
            message: "{facts.statement} {address}"
            examples:
              match:
                - {file: m.sql, kind: sql, address: orders, op: create, facts: {statement: DROP_TABLE}}
                - {file: m.sql, kind: sql, address: orders, op: create, facts: {statement: TRUNCATE}}
              no_match:
                - {file: m.sql, kind: sql, address: orders, op: create, facts: {statement: DROP_TABLE}}
                - {file: m.sql, kind: sql, address: orders, op: create, facts: {}}
        """).parent
    )
    results = [(r.expected, r.index, r.actual, r.ok) for r in run_examples(pack)]
    assert results == [
        ("match", 0, "match", True),
        ("match", 1, "no_match", False),
        ("no_match", 0, "match", False),
        ("no_match", 1, "error", False),
    ]


def test_database_deletion_is_critical_tier_3(default_pack: RulePack, change_set: LoadSet) -> None:
    changes, pr = change_set("db_decommission.json")
    findings = evaluate(default_pack, changes, **pr)
    assert [(f.address, f.rule, f.severity) for f in findings] == [
        ("aws_db_instance.orders_legacy", "terraform.delete-stateful", "critical"),
        ("aws_cloudwatch_metric_alarm.orders_legacy_cpu", "terraform.delete", "critical"),
        ("output.orders_legacy_endpoint", "terraform.change", "medium"),
    ]
    assert "raised from high" in findings[1].message
    assert findings[0].line == 14
    assert tier_for(findings) == 3
    risk = risk_summary(findings)
    assert risk.level == "critical"
    assert risk.score >= 90
    assert "<redacted>" not in " ".join(f.message for f in findings)


def test_forty_percent_price_cut_is_high_tier_2(
    default_pack: RulePack, change_set: LoadSet
) -> None:
    changes, pr = change_set("price_cut.json")
    findings = evaluate(default_pack, changes, **pr)
    assert [(f.address, f.rule, f.severity, f.tier) for f in findings] == [
        ("plan_code:pro-monthly", "pricing.large-change", "high", 2),
        ("plan_code:team-monthly", "pricing.record-update", "low", 1),
    ]
    assert findings[0].message == (
        "Price of plan_code:pro-monthly changes: monthly_usd 49.00 → 29.40 (-40 %)."
    )
    assert tier_for(findings) == 2
    assert risk_summary(findings).level == "high"


def test_docs_edit_is_info_tier_0(default_pack: RulePack, change_set: LoadSet) -> None:
    changes, pr = change_set("docs_edit.json")
    findings = evaluate(default_pack, changes, **pr)
    assert {(f.rule, f.severity) for f in findings} == {("docs.only", "info")}
    assert len(findings) == len(changes)
    assert tier_for(findings) == 0
    assert risk_summary(findings).model_dump() == {"level": "info", "score": 2}


def test_platform_mix(default_pack: RulePack, change_set: LoadSet) -> None:
    changes, pr = change_set("platform_mix.json")
    findings = evaluate(default_pack, changes, **pr)
    got = sorted((f.address, f.rule, f.severity) for f in findings)
    assert got == sorted(
        [
            ("Deployment/shop/web", "k8s.replicas-change", "low"),
            ("Deployment/shop/web", "k8s.image-change", "low"),
            ("Service/shop/web-public", "k8s.service-exposed", "medium"),
            ("Secret/shop/db-credentials", "k8s.secret-change", "medium"),
            ("jobs.deploy", "workflow.unpinned-actions", "medium"),
            ("jobs.deploy", "governance.agent-change", "critical"),
            ("ALTER TABLE customers ADD COLUMN phone", "sql.additive-ddl", "low"),
            ("infra/prod/terraform.tfvars", "analysis.unparseable", "high"),
        ]
    )
    assert tier_for(findings) == 3


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {
                "kind": "kubernetes",
                "address": "StatefulSet/data/pg",
                "op": "delete",
                "facts": {"object_kind": "StatefulSet"},
            },
            {"k8s.delete-stateful"},
        ),
        (
            {
                "kind": "kubernetes",
                "address": "Deployment/shop/web",
                "op": "update",
                "facts": {"object_kind": "Deployment", "replicas_before": 3, "replicas_after": 0},
            },
            {"k8s.scale-to-zero"},
        ),
        (
            {
                "kind": "kubernetes",
                "address": "Deployment/shop/web",
                "op": "update",
                "facts": {
                    "object_kind": "Deployment",
                    "images_before": {"web": "nginx:1.25"},
                    "images_after": {"web": "nginx:latest"},
                },
            },
            {"k8s.image-unpinned"},
        ),
        (
            {
                "kind": "pricing",
                "address": "sku:x",
                "op": "update",
                "facts": {"price_delta_pct": -100.0, "price_after_num": 0.0},
            },
            {"pricing.large-change", "pricing.non-positive"},
        ),
        (
            {
                "kind": "sql",
                "address": "orders",
                "op": "create",
                "facts": {"statement": "DELETE", "has_where": False},
            },
            {"sql.unbounded-dml"},
        ),
        (
            {
                "kind": "terraform",
                "address": "aws_db_instance.x",
                "op": "update",
                "facts": {"block_type": "resource", "resource_type": "aws_db_instance"},
                "fields": [{"path": "tags.Team", "before": "a", "after": "b"}],
            },
            {"terraform.change"},
        ),
    ],
)
def test_single_classifications(
    default_pack: RulePack, change: dict[str, Any], expected: set[str]
) -> None:
    findings = evaluate(
        default_pack, [Change.model_validate({"file": "f", **change})], is_agent=True
    )
    assert {f.rule for f in findings} == expected
