"""Plans written by real Terraform (0.12.11 … 1.15.0, format 0.1 … 1.2), read as written.

The files are vendored under tests/fixtures/plans/real/<source>/ with their licence and a README
naming the upstream repository, path and commit. Every expected value below was checked by
reading the JSON: the ops, addresses, reasons and values are what Terraform wrote.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.core.models import REDACTED
from app.semdiff.terraform.plan.merge import plan_from, read_plan
from app.semdiff.terraform.plan.read import UNKNOWN, analyze_plan, load_plan
from app.semdiff.terraform.plan.redact import redact_for_storage

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "plans" / "real"
FILES = sorted(p.relative_to(REAL).as_posix() for p in REAL.glob("*/*.json"))


@dataclass(frozen=True)
class Expected:
    """What `countersign analyze --plan FILE --plan-dir infra/prod` must say about one file."""

    ops: dict[str, str]  # address → op, every change but the plan summary
    tier: int
    rules: dict[str, set[str]]  # address → rules that must fire there
    fields: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # address → path → pair
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # address → facts it must hold
    absent: tuple[str, ...] = ()  # sensitive values in clear in the file, never in the report


OUTPUTS_0_12 = ("foo", "interpolated", "interpolated_deep", "list", "map", "referenced")
EXPECTED: dict[str, Expected] = {
    "terraform/requires-replace.json": Expected(
        ops={"test_instance.test": "replace"},
        tier=2,
        rules={"test_instance.test": {"terraform.replace"}},
        fields={
            "test_instance.test": {
                "ami": ["bar", "force-replace"],
                "id": ["placeholder", UNKNOWN],
            }
        },
        facts={
            "test_instance.test": {
                "replace_paths": ["ami"],
                "action_reason": "replace_because_cannot_update",
                "replace_order": "delete_before_create",
                "actions": ["delete", "create"],
            },
            "plan:infra/prod": {"replaces": 1, "deletes": 0, "format_version": "1.0"},
        },
    ),
    "terraform/basic-delete.json": Expected(
        ops={
            "test_instance.test": "update",
            "test_instance.test-delete": "delete",
            "output.test": "create",
        },
        tier=2,
        rules={"test_instance.test-delete": {"terraform.delete"}},
        fields={
            "test_instance.test": {"ami": ["foo", "bar"]},
            "test_instance.test-delete": {"ami": ["foo", None], "id": ["placeholder", None]},
            "output.test": {"value": [None, "bar"]},
        },
        facts={
            "test_instance.test-delete": {"action_reason": "delete_because_no_resource_config"},
            "plan:infra/prod": {"deletes": 1, "updates": 1, "drifted": []},
        },
    ),
    "terraform/moved-drift.json": Expected(
        ops={
            "test_instance.no_refresh": "update",
            "test_instance.should_refresh_with_move": "update",
        },
        tier=1,
        rules={"plan:infra/prod": {"terraform.plan-drift"}},
        fields={
            "test_instance.no_refresh": {"ami": ["foo", "bar"]},
            # The plan's `before` is the refreshed (drifted) value, not the one in state.
            "test_instance.should_refresh_with_move": {"ami": ["refreshed", "baz"]},
        },
        facts={
            "test_instance.should_refresh_with_move": {
                "previous_address": "test_instance.should_refresh"
            },
            "plan:infra/prod": {"drifted": ["test_instance.should_refresh_with_move"]},
        },
    ),
    "terraform/sensitive-values.json": Expected(
        ops={"test_instance.test": "create", "output.test": "create"},
        tier=1,
        rules={},
        fields={
            "test_instance.test": {"ami": [None, REDACTED], "id": [None, UNKNOWN]},
            "output.test": {"value": [None, REDACTED]},
        },
        facts={"output.test": {"sensitive": True}},
        absent=("boop",),
    ),
    "terraform/unknown-output.json": Expected(
        ops={"output.foo": "create", "output.bar": "create", "output.baz": "create"},
        tier=1,
        rules={},
        fields={
            "output.bar": {"value": [None, ["hello", UNKNOWN, "world"]]},
            "output.baz": {
                "value": [None, {"greeting": "hello", "subject": "world", "time": UNKNOWN}]
            },
        },
    ),
    "terraform-json/action_reason.json": Expected(
        ops={"null_resource.example": "replace"},
        tier=2,
        rules={"null_resource.example": {"terraform.replace"}},
        fields={"null_resource.example": {"id": ["8868159889619753631", UNKNOWN]}},
        facts={
            "null_resource.example": {
                "action_reason": "replace_because_tainted",
                "replace_order": "delete_before_create",
                "provider_name": "registry.terraform.io/hashicorp/null",
            },
            "plan:infra/prod": {"terraform_version": "1.15.0", "format_version": "1.2"},
        },
    ),
    "terraform-json/110_sensitive_values.json": Expected(
        ops={
            "module.foo.null_resource.aliased": "create",
            "module.foo.null_resource.foo": "create",
            "null_resource.bar": "create",
            "null_resource.baz[0]": "create",
            "null_resource.baz[1]": "create",
            "null_resource.baz[2]": "create",
            "null_resource.foo": "create",
        }
        | {f"output.{name}": "create" for name in (*OUTPUTS_0_12, "referenced_deep", "string")},
        tier=1,
        rules={},
        fields={
            "module.foo.null_resource.foo": {"id": [None, UNKNOWN], "triggers.foo": [None, "bar"]},
            "null_resource.bar": {"id": [None, UNKNOWN], "triggers": [None, UNKNOWN]},
            "output.foo": {"value": [None, REDACTED]},
            "output.interpolated": {"value": [None, UNKNOWN]},
        },
        facts={
            "module.foo.null_resource.foo": {"module_address": "module.foo"},
            "null_resource.baz[2]": {"index": 2},
        },
    ),
    "terraform-json/no_changes.json": Expected(
        # Every resource is a no-op; Terraform 0.12 lists each output as `create` all the same.
        ops={f"output.{name}": "create" for name in (*OUTPUTS_0_12, "referenced_deep", "string")},
        tier=1,
        rules={},
        # `foo` is sensitive: 0.12 writes it in clear and marks it only in `planned_values`.
        fields={
            "output.foo": {"value": [None, REDACTED]},
            "output.string": {"value": [None, "foo"]},
        },
        facts={"output.foo": {"sensitive": True}},
    ),
    "terraform-json/deep_module.json": Expected(
        ops={"module.foo.module.bar.null_resource.baz": "create"},
        tier=1,
        rules={},
        fields={"module.foo.module.bar.null_resource.baz": {"id": [None, UNKNOWN]}},
        facts={
            "module.foo.module.bar.null_resource.baz": {"module_address": "module.foo.module.bar"}
        },
    ),
}


def test_every_vendored_plan_has_expectations() -> None:
    assert set(FILES) == set(EXPECTED)
    for source in {f.split("/")[0] for f in FILES}:
        assert (REAL / source / "LICENSE").read_text().count("Mozilla Public License") >= 1
        assert "commit" in (REAL / source / "README.md").read_text()


@pytest.mark.parametrize("name", FILES)
def test_countersign_analyze_reads_the_real_plan(name: str) -> None:
    """In-process (a Python start and the app's imports per file cost more than the reading;
    tests/cli/test_main.py runs the command as a process)."""
    want = EXPECTED[name]
    proc = CliRunner().invoke(
        app, ["analyze", "--plan", str(REAL / name), "--plan-dir", "infra/prod"]
    )
    assert proc.exit_code == 0, (proc.stderr, proc.exception)
    report = json.loads(proc.stdout)
    changes = {c["address"]: c for c in report["changes"]}
    assert {a: c["op"] for a, c in changes.items() if not a.startswith("plan:")} == want.ops
    assert all(c["file"] == "infra/prod/plan.json" for c in changes.values())
    assert all(c["facts"]["source"] == "plan" for c in changes.values())
    assert report["tier"] == want.tier
    fired: dict[str, set[str]] = {}
    for finding in report["findings"]:
        fired.setdefault(finding.get("address") or "", set()).add(finding["rule"])
    for address, rules in want.rules.items():
        assert rules <= fired.get(address, set()), (address, fired.get(address))
    for address, pairs in want.fields.items():
        shown = {f["path"]: [f.get("before"), f.get("after")] for f in changes[address]["fields"]}
        assert {p: shown.get(p) for p in pairs} == pairs, address
    for address, facts in want.facts.items():
        held = changes[address]["facts"]
        assert {k: held.get(k) for k in facts} == facts, address
    for secret in want.absent:
        assert secret in (REAL / name).read_text()  # it is in clear in the file…
        assert secret not in proc.stdout  # …and nowhere in the report


FORMATS = {
    "terraform-json/no_changes.json": ("0.1", "0.12.11"),
    "terraform-json/110_sensitive_values.json": ("0.2", "1.1.0-dev"),
    "terraform/requires-replace.json": ("1.0", None),
    "terraform/unknown-output.json": ("1.1", "1.3.0-dev"),
    "terraform-json/action_reason.json": ("1.2", "1.15.0"),
}


@pytest.mark.parametrize(("name", "version"), FORMATS.items())
def test_each_format_version_parses(name: str, version: tuple[str, str | None]) -> None:
    plan = load_plan((REAL / name).read_bytes(), name)
    assert (plan["format_version"], plan.get("terraform_version")) == version
    assert analyze_plan(plan, "")  # something to say about each of them


@pytest.mark.parametrize("name", FILES)
def test_what_is_stored_is_redacted_and_reads_back_the_same(name: str) -> None:
    plan = load_plan((REAL / name).read_bytes(), name)
    stored = redact_for_storage(plan)
    text = json.dumps(stored)
    for secret in EXPECTED[name].absent:
        assert secret not in text
    assert "variables" not in stored and "prior_state" not in stored
    direct = {c.address: (c.op, c.fields) for c in analyze_plan(plan, "infra/prod")}
    again = {c.address: (c.op, c.fields) for c in analyze_plan(stored, "infra/prod")}
    assert {a: op for a, (op, _f) in again.items()} == {a: op for a, (op, _f) in direct.items()}
    assert again == direct  # the same fields too: sensitive ones were already redacted


@pytest.mark.parametrize("name", FILES)
def test_the_digest_is_the_canonical_json_whatever_the_layout(name: str) -> None:
    data = (REAL / name).read_bytes()
    plan = json.loads(data)
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = read_plan(data, "infra/prod", name).sha256
    assert digest == hashlib.sha256(canonical.encode()).hexdigest()
    pretty = json.dumps(plan, indent=4, ensure_ascii=True).encode()  # as `jq .` might post it
    assert read_plan(pretty, "infra/prod", name).sha256 == digest
    assert plan_from(plan, "infra/prod").sha256 == digest  # what the API computes
