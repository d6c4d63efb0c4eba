"""Terraform plan JSON → changes: ops, addresses, reasons, redaction, unknowns, drift, rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change
from app.risk import evaluate_rules, load_rule_pack, tier_for
from app.semdiff.terraform.plan.iam import broad_statements
from app.semdiff.terraform.plan.read import UNKNOWN, analyze_plan, load_plan

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "terraform_plan"
PACK = load_rule_pack(ROOT / "risk_rules")


def plan_changes(name: str, directory: str = "infra/prod") -> list[Change]:
    data = (FIXTURES / name).read_bytes()
    return analyze_plan(load_plan(data, name), directory)


def by_address(changes: list[Change]) -> dict[str, Change]:
    return {c.address: c for c in changes}


def rules_of(changes: list[Change]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for finding in evaluate_rules(PACK, changes, is_agent=True, author="infra-bot[bot]"):
        out.setdefault(finding.address or "", set()).add(finding.rule)
    return out


def test_database_replaced_because_of_engine_is_critical_tier_3() -> None:
    changes = plan_changes("db_replace.json")
    db = by_address(changes)["module.db.aws_db_instance.this[0]"]
    assert db.op == "replace"
    assert db.file == "infra/prod/plan.json"
    assert db.facts["replace_paths"] == ["engine"]
    assert db.facts["action_reason"] == "replace_because_cannot_update"
    assert db.facts["replace_order"] == "delete_before_create"
    assert db.facts["module_address"] == "module.db"
    assert db.facts["source"] == "plan"
    fields = {f.path: (f.before, f.after) for f in db.fields}
    assert fields["engine"] == ("mysql", "postgres")
    assert fields["arn"] == ("arn:aws:rds:eu-west-1:123456789012:db:orders", UNKNOWN)
    group = by_address(changes)["module.db.aws_db_parameter_group.this[0]"]
    assert group.facts["replace_order"] == "create_before_destroy"
    findings = rules_of(changes)
    assert "terraform.replace-stateful" in findings["module.db.aws_db_instance.this[0]"]
    assert "terraform.replace" in findings["module.db.aws_db_parameter_group.this[0]"]
    assert tier_for(evaluate_rules(PACK, changes, is_agent=True, author=None)) == 3


def test_sensitive_values_never_leave_the_analyzer() -> None:
    changes = plan_changes("db_replace.json")
    text = json.dumps([c.model_dump(mode="json") for c in changes])
    assert "hunter2" not in text and "n3w-s3cret" not in text
    db = by_address(changes)["module.db.aws_db_instance.this[0]"]
    # The reviewer sees that the password changes, never what it was or becomes.
    assert [(f.before, f.after) for f in db.fields if f.path == "password"] == [
        (REDACTED, REDACTED)
    ]
    output = by_address(changes)["output.db_password"]
    assert output.facts["sensitive"] is True
    assert [(f.path, f.before, f.after) for f in output.fields] == [("value", REDACTED, REDACTED)]


def test_data_reads_and_no_ops_are_not_changes() -> None:
    assert plan_changes("noop_only.json") == []
    assert "data.aws_iam_policy_document.assume" not in by_address(plan_changes("db_replace.json"))


def test_count_and_for_each_deletes_name_each_instance() -> None:
    changes = plan_changes("count_deletes.json", directory="")
    deletes = sorted(c.address for c in changes if c.op == "delete")
    assert deletes == [
        "aws_instance.web[1]",
        "aws_instance.web[2]",
        'aws_route53_record.web["blue"]',
    ]
    assert by_address(changes)["aws_instance.web[1]"].facts["action_reason"] == (
        "delete_because_count_index"
    )
    summary = by_address(changes)["plan:."]
    assert summary.facts["deletes"] == 3 and summary.file == "plan.json"
    assert "terraform.delete" in rules_of(changes)["aws_instance.web[1]"]


def test_drift_moves_imports_and_forgets() -> None:
    changes = by_address(plan_changes("drift_moved_import.json"))
    moved = changes["aws_s3_bucket.audit_logs"]
    assert moved.op == "rename" and moved.facts["from"] == "aws_s3_bucket.logs"
    imported = changes["aws_iam_role.ci"]
    assert imported.op == "create" and imported.facts["importing"] is True
    forgotten = changes["aws_sqs_queue.jobs"]
    assert forgotten.op == "delete" and forgotten.facts["destroy"] is False
    summary = changes["plan:infra/prod"]
    assert summary.facts["drifted"] == ["aws_s3_bucket.logs"]
    findings = rules_of(list(changes.values()))
    assert "terraform.plan-drift" in findings["plan:infra/prod"]
    assert "terraform.remove-from-state" in findings["aws_sqs_queue.jobs"]
    assert "terraform.delete-stateful" not in findings.get("aws_sqs_queue.jobs", set())


def test_iam_documents_compare_statement_by_statement_and_open_ingress_is_found() -> None:
    changes = by_address(plan_changes("iam_and_ingress.json"))
    policy = changes["module.ci.aws_iam_policy.deployer"]
    assert policy.facts["iam_broad_added"] == [
        "policy Deploy: Action *",
        "policy Deploy: Resource *",
    ]
    (field,) = policy.fields
    assert field.path == "policy.Statement[Deploy]" and field.before is None
    assert field.after == {"Sid": "Deploy", "Effect": "Allow", "Action": "*", "Resource": "*"}
    findings = rules_of(list(changes.values()))
    # Action "*" on Resource "*" is full admin: the critical rule supersedes the generic one.
    assert findings["module.ci.aws_iam_policy.deployer"] == {"terraform.iam-admin"}
    assert findings["aws_security_group.web"] & {
        "terraform.ingress-open",
        "terraform.ingress-open-admin",
    }


def test_broad_statements() -> None:
    doc = {
        "Statement": [
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
            {"Sid": "Pub", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject"},
        ]
    }
    assert broad_statements(doc) == ["#1: NotAction", "#1: Resource *", "Pub: Principal *"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "not a JSON document"),
        ('{"format_version": "1.2", "resource_changes": [], "x": NaN}', "NaN is not a JSON value"),
        ('{"resource_changes": []}', "no format_version"),
        ('{"format_version": "2.0"}', "unsupported plan format_version"),
        ('{"format_version": "1.2", "resource_changes": {}}', "not a list"),
        ('{"format_version": "1.2", "resource_changes": [{"address": "a.b"}]}', "no `change`"),
    ],
)
def test_what_is_not_a_plan_is_unparseable(text: str, why: str) -> None:
    with pytest.raises(UnparseableError, match=why):
        analyze_plan(load_plan(text, "plan.json"), "")


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(before=st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=5))
def test_an_update_to_the_same_values_has_no_fields(before: dict[str, Any]) -> None:
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_s3_bucket.x",
                "mode": "managed",
                "type": "aws_s3_bucket",
                "change": {"actions": ["update"], "before": before, "after": before},
            }
        ],
    }
    (change,) = analyze_plan(plan, "")
    assert change.fields == ()


def secret_plan(actions: list[str], before: Any, after: Any) -> dict[str, Any]:
    return {
        "format_version": "0.1",  # 0.1 plans carry no sensitive marks at all
        "resource_changes": [
            {
                "address": "vendor_app.api",
                "mode": "managed",
                "type": "vendor_app",
                "change": {"actions": actions, "before": before, "after": after},
            }
        ],
    }


@pytest.mark.parametrize(
    ("actions", "before", "after"),
    [
        (["create"], None, {"api_token": "tok-live-1", "db": {"password": "pw-live-1"}}),
        (["delete"], {"api_token": "tok-live-1", "db": {"password": "pw-live-1"}}, None),
        (
            ["update"],
            {"api_token": "tok-live-1", "db": {"password": "pw-live-1"}, "size": 1},
            {"api_token": "tok-live-2", "db": {"password": "pw-live-2"}, "size": 2},
        ),
    ],
)
def test_secret_named_attributes_are_masked_without_sensitive_marks(
    actions: list[str], before: Any, after: Any
) -> None:
    changes = analyze_plan(secret_plan(actions, before, after), "")
    change = by_address(changes)["vendor_app.api"]
    text = json.dumps([c.model_dump(mode="json") for c in changes])
    assert "tok-live" not in text and "pw-live" not in text
    fields = {f.path: (f.before, f.after) for f in change.fields}
    assert set(fields) >= {"api_token", "db.password"}
    assert REDACTED in fields["api_token"] and REDACTED in fields["db.password"]
    if actions == ["update"]:
        assert fields["size"] == (1, 2)  # what is not a secret stays visible


@given(after=st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=5))
def test_a_created_object_lists_each_attribute_as_the_structural_diff_does(
    after: dict[str, Any],
) -> None:
    from app.core.redact import inherits_secret, is_secret_name
    from app.semdiff.common.structure import diff_values

    (change,) = analyze_plan(secret_plan(["create"], None, after), "")
    expected: dict[str, Any] = {}

    def walk(value: dict[str, Any], path: str, named: bool) -> None:
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            secret = is_secret_name(key) or (named and inherits_secret(key))
            if isinstance(item, dict):
                walk(item, sub, secret)
            else:
                expected.update(
                    {f.path: f.after for f in diff_values(None, item, sub, named=secret)}
                )

    walk(after, "", False)
    assert {f.path: f.after for f in change.fields} == expected
    assert all(f.before is None for f in change.fields)


@given(
    after=st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.text(alphabet="xyz", min_size=1, max_size=4).map(lambda s: f"val-{s}")
        | st.dictionaries(
            st.sampled_from(["e", "f"]),
            st.text(alphabet="xyz", min_size=1, max_size=4).map(lambda s: f"val-{s}"),
        ),
        min_size=1,
    ),
    marked=st.sets(st.sampled_from(["a", "b", "c", "d", "a.e", "b.f"])),
    action=st.sampled_from([["create"], ["update"], ["delete", "create"]]),
)
def test_nothing_marked_sensitive_is_shown(
    after: dict[str, Any], marked: set[str], action: list[str]
) -> None:
    after = {  # every value names its path, so a shown value is never also a hidden one
        k: {e: f"{k}.{e}-{x}" for e, x in v.items()} if isinstance(v, dict) else f"{k}-{v}"
        for k, v in after.items()
    }
    mask: dict[str, Any] = {}
    for path in marked:
        top, _, sub = path.partition(".")
        if sub and isinstance(after.get(top), dict):
            inner = mask.setdefault(top, {})
            if isinstance(inner, dict):
                inner[sub] = True
        elif not sub:
            mask[top] = True
    secrets = set()
    for key, value in after.items():
        if mask.get(key) is True:
            secrets |= set(value.values()) if isinstance(value, dict) else {value}
        elif isinstance(value, dict) and isinstance(mask.get(key), dict):
            secrets |= {v for k, v in value.items() if mask[key].get(k) is True}
    shown_values = set()
    for value in after.values():
        if isinstance(value, dict):
            shown_values |= {v for v in value.values() if v not in secrets}
        elif value not in secrets:
            shown_values.add(value)
    before = None if action == ["create"] else dict.fromkeys(after, "old")
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "x_thing.t",
                "type": "x_thing",
                "change": {
                    "actions": action,
                    "before": before,
                    "after": after,
                    "before_sensitive": {},
                    "after_sensitive": mask,
                },
            }
        ],
    }
    text = json.dumps([c.model_dump(mode="json") for c in analyze_plan(plan, "")])
    leaked = [s for s in secrets if f'"{s}"' in text]
    assert not leaked, (after, mask, action, text)
    assert all(f'"{v}"' in text for v in shown_values - secrets)  # the rest stays visible
