"""The SQL migration analyzer: classification from the syntax tree, matching, lines, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FileDiff
from app.semdiff.sql.analyzer import analyze

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sql"
MIGRATION = "0042_retire_legacy_billing.sql"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def run(base: str | None, head: str | None, path: str = "migrations/0042.sql") -> list[Change]:
    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(
        path=path,
        status=status,
        base=None if base is None else base.encode(),
        head=None if head is None else head.encode(),
    )
    return analyze(file, PathRule())


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("sql", "statement", "obj"),
    [
        ("DROP TABLE public.users", "DROP_TABLE", "public.users"),
        ("DROP TABLE IF EXISTS audit.events, audit.events_archive CASCADE", "DROP_TABLE",
         "audit.events, audit.events_archive"),
        ("DROP SCHEMA staging CASCADE", "DROP_SCHEMA", "staging"),
        ("DROP DATABASE analytics_old", "DROP_DATABASE", "analytics_old"),
        ("TRUNCATE TABLE billing.payment_attempts", "TRUNCATE", "billing.payment_attempts"),
        ("DELETE FROM auth.sessions", "DELETE", "auth.sessions"),
        ("UPDATE accounts SET plan = 'free'", "UPDATE", "accounts"),
        ("INSERT INTO feature_flags (name, enabled) VALUES ('new-checkout', true)", "INSERT",
         "feature_flags"),
        ("ALTER TABLE orders RENAME COLUMN total TO total_cents", "RENAME_COLUMN", "orders"),
        ("ALTER TABLE orders DROP COLUMN coupon_code", "DROP_COLUMN", "orders"),
        ("ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2)", "ALTER_COLUMN_TYPE",
         "orders"),
        ("ALTER TABLE orders ALTER COLUMN note SET DEFAULT ''", "ALTER_TABLE", "orders"),
        ("ALTER TABLE orders ADD COLUMN gift_message text", "ADD_COLUMN", "orders"),
        ("ALTER TABLE orders ADD COLUMN a int, DROP COLUMN b", "DROP_COLUMN", "orders"),
        ("CREATE TABLE IF NOT EXISTS billing.refunds (id bigserial PRIMARY KEY)", "CREATE_TABLE",
         "billing.refunds"),
        ("CREATE UNIQUE INDEX idx_users_email ON users (lower(email))", "CREATE_INDEX", "users"),
        ("DROP INDEX CONCURRENTLY idx_users_email", "DROP_INDEX", "idx_users_email"),
        ("GRANT SELECT, INSERT ON TABLE billing.invoices TO etl_writer", "GRANT",
         "billing.invoices"),
        ("REVOKE ALL ON TABLE billing.invoices FROM PUBLIC", "REVOKE", "billing.invoices"),
        ("GRANT SELECT ON ALL TABLES IN SCHEMA billing TO reporting", "GRANT", None),
        ("CREATE EXTENSION IF NOT EXISTS pgcrypto", "OTHER", None),
        ("CREATE VIEW active_users AS SELECT * FROM users WHERE active", "OTHER", None),
        ("DROP VIEW active_users", "OTHER", "active_users"),
    ],
)  # fmt: skip
def test_classification_table(sql: str, statement: str, obj: str | None) -> None:
    [change] = run(None, f"-- migration\n{sql};\n")
    assert change.kind == "sql"
    assert change.op == "create"
    assert change.facts["statement"] == statement
    assert change.facts["object"] == obj
    assert change.line == 2
    assert change.facts["line"] == 2


def test_added_migration_gives_one_change_per_statement() -> None:
    head = fixture(MIGRATION)
    changes = run(None, head)
    assert [c.facts["statement"] for c in changes] == [
        "OTHER",
        "DROP_COLUMN",
        "ALTER_COLUMN_TYPE",
        "ADD_COLUMN",
        "CREATE_INDEX",
        "DROP_INDEX",
        "DELETE",
        "UPDATE",
        "DROP_TABLE",
        "GRANT",
        "OTHER",
    ]
    by_address = {c.address: c for c in changes}
    assert len(by_address) == len(changes)

    drop = by_address["DROP TABLE billing.legacy_payments"]
    assert drop.line == line_of(head, "DROP TABLE billing.legacy_payments")
    assert drop.facts["sql"] == "DROP TABLE billing.legacy_payments"

    delete = by_address["DELETE auth.sessions"]
    assert delete.facts["has_where"] is False
    assert delete.line == line_of(head, "DELETE FROM auth.sessions")  # not the comment above it
    update = by_address["UPDATE billing.customers"]
    assert update.facts["has_where"] is True
    assert update.line == line_of(head, "UPDATE billing.customers")

    alter_type = changes[2]
    assert alter_type.address == "ALTER TABLE billing.invoices ALTER COLUMN amount_cents"
    assert alter_type.facts["columns"] == ["amount_cents"]
    assert alter_type.line == line_of(head, "ALTER TABLE billing.invoices\n")

    index = by_address["CREATE INDEX idx_invoices_ledger_id"]
    assert index.facts["object"] == "billing.invoices"
    assert index.facts["concurrently"] is True
    assert by_address["DROP INDEX billing.idx_invoices_legacy_status"].facts["statement"] == (
        "DROP_INDEX"
    )
    assert changes[0].address == "migrations/0042.sql#1"  # BEGIN has no object
    assert changes[1].address == "ALTER TABLE billing.invoices DROP COLUMN legacy_status"
    assert changes[3].address == "ALTER TABLE billing.invoices ADD COLUMN ledger_id"


def test_repeated_addresses_stay_unique() -> None:
    head = "UPDATE users SET a = 1 WHERE id = 1;\nUPDATE users SET a = 2 WHERE id = 2;\n"
    changes = run(None, head)
    assert [c.address for c in changes] == ["UPDATE users#1", "UPDATE users#2"]


def test_comments_whitespace_and_keyword_case_are_no_change() -> None:
    base = fixture(MIGRATION)
    assert run(base, base) == []
    assert run(base, fixture("0042_retire_legacy_billing_reformatted.sql")) == []


def test_modified_migration_reports_added_and_removed_statements() -> None:
    base, head = fixture(MIGRATION), fixture("0042_retire_legacy_billing_v2.sql")
    changes = run(base, head)
    summary = {(c.op, c.facts["statement"], c.facts.get("has_where")) for c in changes}
    assert summary == {
        ("delete", "DELETE", False),
        ("create", "DELETE", True),
        ("delete", "DROP_TABLE", None),
        ("create", "TRUNCATE", None),
    }
    truncate = next(c for c in changes if c.facts["statement"] == "TRUNCATE")
    assert truncate.line == line_of(head, "TRUNCATE billing.legacy_payments")
    dropped = next(c for c in changes if c.facts["statement"] == "DROP_TABLE")
    assert dropped.op == "delete"
    assert dropped.line == line_of(base, "DROP TABLE billing.legacy_payments")


def test_deleted_migration_deletes_every_statement() -> None:
    changes = run(fixture(MIGRATION), None)
    assert len(changes) == 11
    assert {c.op for c in changes} == {"delete"}


def test_comment_only_file_has_no_statements() -> None:
    assert run(None, "-- placeholder: nothing to migrate yet\n/* see BILL-1200 */\n") == []
    assert run("-- old note\n", "-- new note\n") == []


def test_commented_out_statement_does_not_count() -> None:
    base = "ALTER TABLE users ADD COLUMN nickname text;\n"
    head = base + "-- DROP TABLE users;\n/* TRUNCATE users; */\n"
    assert run(base, head) == []


def test_dollar_quoted_function_body_is_one_statement() -> None:
    head = (
        "CREATE FUNCTION touch_updated_at() RETURNS trigger AS $$\n"
        "BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
        "DELETE FROM jobs WHERE finished_at < now() - interval '30 days';\n"
    )
    changes = run(None, head)
    # the body's statements are read too (none classify here); the function is named
    assert [c.facts["statement"] for c in changes] == ["CREATE_FUNCTION", "DELETE"]
    assert changes[0].address == "CREATE FUNCTION touch_updated_at"
    assert changes[1].line == 7


def test_passwords_never_reach_the_report() -> None:
    head = fixture("0043_reporting_role.sql")
    changes = run(None, head)
    dumped = json.dumps([c.model_dump(mode="json") for c in changes])
    assert "Tr0ub4dor" not in dumped
    assert "<redacted>" in dumped
    assert changes[1].facts["statement"] == "GRANT"
    key_value = "UPDATE settings SET value = 'sk_live_51Hx9' WHERE name = 'stripe_secret_key';"
    [change] = run(None, key_value)
    assert "sk_live_51Hx9" not in json.dumps(change.model_dump(mode="json"))


def test_long_statements_are_truncated_in_facts() -> None:
    values = ", ".join(f"('flag-{i}', true)" for i in range(200))
    [change] = run(None, f"INSERT INTO feature_flags (name, enabled) VALUES {values};")
    assert len(change.facts["sql"]) == 500
    assert change.facts["sql"].endswith("…")


def test_unparseable_statement_names_its_line() -> None:
    head = fixture("0044_broken.sql")
    with pytest.raises(UnparseableError) as info:
        run(None, head, "migrations/0044.sql")
    assert info.value.file == "migrations/0044.sql"
    assert info.value.line == line_of(head, "CREATE INDEX idx_refunds_invoice")
    assert "line" in str(info.value)


def test_unterminated_string_is_unparseable() -> None:
    with pytest.raises(UnparseableError, match="tokenize") as info:
        run(None, "SELECT 1;\n\nUPDATE users SET name = 'O''Brien;\n")
    assert info.value.line == 3


def test_binary_content_is_unparseable() -> None:
    with pytest.raises(UnparseableError, match="NUL"):
        analyze(FileDiff(path="m.sql", status="added", head=b"DROP\x00TABLE"), PathRule())
