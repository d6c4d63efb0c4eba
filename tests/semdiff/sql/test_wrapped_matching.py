"""Statements inside an edited DO block or function are matched by content (issue #24).

The migration is an excerpt of supabase/auth's `20230116124310_alter_phone_type.up.sql` at
ab445f170b (MIT), where only an exception handler was added.
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_file

ROOT = Path(__file__).resolve().parents[3]
PACK = load_rule_pack(ROOT / "risk_rules")

PHONE = """-- alter phone field column type to accomodate for soft deletion

do $$
begin
  alter table {{ index .Options "Namespace" }}.users
    alter column phone type text,
    alter column phone_change type text;
exception
  when SQLSTATE '0A000' then
    raise notice 'Unable to change data type of phone, phone_change columns due to use by a view or rule';
  when SQLSTATE '2BP01' then
    raise notice 'Unable to change data type of phone, phone_change columns due to dependent objects';%s
end $$;
"""
ORIOLE = """
  when SQLSTATE 'XX000' then
    raise notice 'Unable to change data type of phone, phone_change columns due to internal error (OrioleDB)';"""

CLEANUP = """do $$
begin
  %s
  update {{ index .Options "Namespace" }}.identities set email = lower(email) where email is not null;
  alter table {{ index .Options "Namespace" }}.identities add column if not exists last_sign_in_at timestamptz;
end $$;

create or replace function {{ index .Options "Namespace" }}.uid() returns uuid as $$
  select %s
$$ language sql stable;
"""


def analyze(base: str, head: str) -> list[Change]:
    path = "migrations/20230116124310_alter_phone_type.up.sql"
    file = FileDiff(path=path, base=base.encode(), head=head.encode())
    return analyze_file(file, RepoConfig())


def rules(changes: list[Change]) -> list[str]:
    findings = evaluate_rules(PACK, changes, is_agent=True, author="renovate[bot]")
    return sorted(f.rule for f in findings)


def test_an_added_exception_handler_does_not_flag_the_untouched_alter_column() -> None:
    changes = analyze(PHONE % "", PHONE % ORIOLE)
    assert [(c.op, c.facts["statement"]) for c in changes] == [("update", "OTHER")]
    assert "sql.breaking-ddl" not in rules(changes)


def test_unchanged_statements_of_an_edited_do_block_are_not_created_and_deleted() -> None:
    base = CLEANUP % ("", "auth.jwt()->>'sub'")
    head = CLEANUP % (
        "delete from {{ index .Options \"Namespace\" }}.identities where provider = 'legacy';",
        "auth.jwt()->>'sub'",
    )
    changes = analyze(base, head)
    assert [(c.op, c.facts["statement"]) for c in changes] == [("create", "DELETE")]
    assert changes[0].facts["wrapped_in"] == "DO"


def test_a_statement_removed_from_a_do_block_is_still_a_delete() -> None:
    base = CLEANUP % ('truncate table {{ index .Options "Namespace" }}.sessions;', "1")
    changes = analyze(base, CLEANUP % ("", "1"))
    assert [(c.op, c.facts["statement"]) for c in changes] == [("delete", "TRUNCATE")]


def test_an_edited_function_body_is_one_update_of_the_function() -> None:
    changes = analyze(CLEANUP % ("", "1"), CLEANUP % ("", "2"))
    assert [(c.op, c.facts["statement"]) for c in changes] == [("update", "CREATE_FUNCTION")]
