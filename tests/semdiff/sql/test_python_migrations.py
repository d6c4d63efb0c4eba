"""Alembic and Django migrations read with `ast`: what the upgrade does to the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import evaluate, load_rule_pack
from app.semdiff.dispatch import analyze_file, kind_for
from tests.examples import examples

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "migrations"
ALEMBIC = (FIXTURES / "alembic" / "versions" / "8f3a2c1d9e4b_retire_legacy_invoices.py").read_text()
DJANGO = (FIXTURES / "django" / "0014_remove_order_fax_delete_legacycoupon.py").read_text()
ALEMBIC_PATH = "migrations/versions/8f3a2c1d9e4b_retire_legacy_invoices.py"
DJANGO_PATH = "shop/migrations/0014_remove_order_fax_delete_legacycoupon.py"
PACK = load_rule_pack(ROOT / "risk_rules")


def analyze(path: str, base: str | None, head: str | None) -> list[Change]:
    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(
        path=path,
        status=status,
        base=None if base is None else base.encode(),
        head=None if head is None else head.encode(),
    )
    return analyze_file(file, RepoConfig())


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def rules_of(change: Change) -> set[tuple[str, str]]:
    return {(f.rule, f.severity) for f in evaluate(PACK, [change], is_agent=True)}


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (ALEMBIC_PATH, ALEMBIC, "sql"),
        ("services/billing/alembic/versions/8f3a_retire.py", ALEMBIC, "sql"),
        # Netflix/dispatch keeps Alembic under database/revisions/{core,tenant}/versions/.
        ("src/dispatch/database/revisions/tenant/versions/2022-12-09_f809.py", ALEMBIC, "sql"),
        ("tools/versions/bump.py", "def upgrade():\n    return 1\n", "text"),
        (DJANGO_PATH, DJANGO, "sql"),
        ("shop/migrations/0014_helpers.py", "def helper():\n    return 1\n", "text"),
        ("shop/management/commands/0014_fix.py", DJANGO, "text"),
        ("app/core/models.py", "from django.db import models\n", "text"),
    ],
)
def test_detection_by_path_and_content(path: str, text: str, expected: str) -> None:
    file = FileDiff(path=path, status="added", base=None, head=text.encode())
    assert kind_for(file, RepoConfig().rule_for(path)) == expected


def test_alembic_upgrade_operations() -> None:
    changes = analyze(ALEMBIC_PATH, None, ALEMBIC)
    upgrade = {c.address: c for c in changes if c.facts.get("phase") == "upgrade"}
    expected = {
        "op.create_table invoice_lines": "CREATE_TABLE",
        "op.create_index invoice_lines ix_invoice_lines_invoice_id": "CREATE_INDEX",
        "op.drop_index legacy_invoices ix_legacy_invoices_customer": "DROP_INDEX",
        "op.drop_table legacy_invoices": "DROP_TABLE",
        "batch_op.drop_column invoices.fax_number": "DROP_COLUMN",
        "batch_op.alter_column invoices.customer_id": "SET_NOT_NULL",
        "op.alter_column invoices.total": "ALTER_COLUMN_TYPE",
        "op.drop_constraint invoices invoices_legacy_ref_key": "DROP_CONSTRAINT",
        "op.rename_table payment_attempts": "RENAME_TABLE",
        "DELETE invoice_drafts": "DELETE",
        "UPDATE invoices": "UPDATE",
        "TRUNCATE dynamic_value": "TRUNCATE",
    }
    assert {a: c.facts["statement"] for a, c in upgrade.items()} == expected
    assert all(c.kind == "sql" and c.facts["source"] == "alembic" for c in changes)
    drop = upgrade["op.drop_table legacy_invoices"]
    assert drop.line == line_of(ALEMBIC, 'op.drop_table("legacy_invoices")')
    assert rules_of(drop) == {("sql.destructive", "critical")}
    delete = upgrade["DELETE invoice_drafts"]
    assert delete.facts["summary"] == "DELETE without WHERE"
    assert delete.facts["operation"] == "op.execute"
    assert rules_of(delete) == {("sql.unbounded-dml", "critical")}
    update = upgrade["UPDATE invoices"]
    assert update.facts["has_where"] is True
    assert update.line == line_of(ALEMBIC, "UPDATE invoices")
    assert upgrade["TRUNCATE dynamic_value"].facts["dynamic"] is True
    assert rules_of(upgrade["batch_op.drop_column invoices.fax_number"]) == {
        ("sql.breaking-ddl", "high")
    }
    assert rules_of(upgrade["batch_op.alter_column invoices.customer_id"]) == {
        ("sql.constraint-change", "medium")
    }


def test_alembic_downgrade_is_information_only() -> None:
    changes = analyze(ALEMBIC_PATH, None, ALEMBIC)
    downgrade = [c for c in changes if c.facts.get("phase") == "downgrade"]
    assert {c.facts["downgrade_statement"] for c in downgrade} == {
        "RENAME_TABLE",
        "DROP_INDEX",
        "DROP_TABLE",
    }
    assert all("statement" not in c.facts for c in downgrade)
    for change in downgrade:
        assert rules_of(change) == {("sql.downgrade", "info")}


def test_django_operations() -> None:
    changes = {c.address: c for c in analyze(DJANGO_PATH, None, DJANGO)}
    assert {a: c.facts["statement"] for a, c in changes.items()} == {
        "migrations.RemoveField order.fax": "DROP_COLUMN",
        "migrations.DeleteModel LegacyCoupon": "DROP_TABLE",
        "migrations.AlterField order.currency": "ALTER_COLUMN",
        "migrations.RenameField customer.phone": "RENAME_COLUMN",
        "migrations.AddField order.paid_at": "ADD_COLUMN",
        "migrations.RunPython backfill_currency": "RUN_PYTHON",
        "DROP TABLE shop_coupon_archive": "DROP_TABLE",
        "GRANT shop_order": "GRANT",
    }
    assert all(c.facts["source"] == "django" for c in changes.values())
    delete_model = changes["migrations.DeleteModel LegacyCoupon"]
    assert rules_of(delete_model) == {("sql.destructive", "critical")}
    assert delete_model.line == line_of(DJANGO, "migrations.DeleteModel(")
    run_sql = changes["DROP TABLE shop_coupon_archive"]
    assert run_sql.facts["operation"] == "migrations.RunSQL"
    assert run_sql.line == line_of(DJANGO, "DROP TABLE IF EXISTS")
    assert rules_of(changes["migrations.RunPython backfill_currency"]) == {
        ("sql.code-migration", "medium")
    }
    assert changes["GRANT shop_order"].facts["summary"] == "GRANT ALL"


def test_edit_of_one_operation_is_one_change_each_way() -> None:
    head = ALEMBIC.replace(
        'op.drop_table("legacy_invoices")', 'op.drop_table("legacy_invoices_v1")'
    )
    changes = analyze(ALEMBIC_PATH, ALEMBIC, head)
    assert sorted((c.op, c.address) for c in changes) == [
        ("create", "op.drop_table legacy_invoices_v1"),
        ("delete", "op.drop_table legacy_invoices"),
    ]


def test_comment_and_formatting_edits_are_no_change() -> None:
    head = ALEMBIC.replace("    # ### end Alembic commands ###\n", "").replace(
        'op.drop_table("legacy_invoices")', "op.drop_table(\n        'legacy_invoices'\n    )"
    )
    assert analyze(ALEMBIC_PATH, ALEMBIC, head) == []


def test_python_syntax_error_is_unparseable() -> None:
    broken = ALEMBIC.replace("def downgrade() -> None:", "def downgrade() -> None")
    [change] = analyze(ALEMBIC_PATH, ALEMBIC, broken)
    assert change.kind == "text"
    assert "Python syntax error" in change.facts["unparseable"]
    assert change.facts["detected_kind"] == "sql"
    assert ("analysis.unparseable", "medium") in rules_of(change)


def test_a_drop_in_a_comment_or_string_constant_is_not_an_operation() -> None:
    text = ALEMBIC.replace(
        '    op.drop_table("legacy_invoices")\n',
        '    # op.drop_table("legacy_invoices")\n    NOTE = "op.drop_table(\'x\')"\n',
    )
    addresses = {c.address for c in analyze(ALEMBIC_PATH, None, text)}
    assert "op.drop_table legacy_invoices" not in addresses
    assert not any("drop_table x" in a for a in addresses)


@settings(max_examples=examples(10), deadline=None)
@given(st.sampled_from([(ALEMBIC_PATH, ALEMBIC), (DJANGO_PATH, DJANGO)]))
def test_same_migration_on_both_sides_is_no_change(item: tuple[str, str]) -> None:
    path, text = item
    assert analyze(path, text, text) == []
