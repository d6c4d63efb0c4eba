"""SQL inside DO blocks, function bodies and EXECUTE strings, and templated (golang-migrate,
Jinja) SQL: classified like plain statements, templates shown as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import evaluate, load_rule_pack, tier_for
from app.semdiff.dispatch import analyze_file
from tests.examples import examples

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "sql"
PACK = load_rule_pack(ROOT / "risk_rules")
TEMPLATED = (FIXTURES / "000031_partition_events.up.sql").read_text()
PLPGSQL = (FIXTURES / "0052_cleanup_legacy.sql").read_text()


def analyze(base: str | None, head: str | None, path: str = "db/migrations/x.sql") -> list[Change]:
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


def test_drop_table_inside_do_is_critical() -> None:
    changes = analyze(None, PLPGSQL)
    [drop] = [c for c in changes if c.address == "DROP TABLE legacy_sessions (in DO)"]
    assert drop.facts["statement"] == "DROP_TABLE"
    assert drop.facts["wrapped_in"] == "DO"
    assert drop.line == line_of(PLPGSQL, "DROP TABLE legacy_sessions")
    found = evaluate(PACK, [drop], is_agent=True)
    assert [(f.rule, f.severity) for f in found] == [("sql.destructive", "critical")]
    assert tier_for(found) == 3


def test_execute_strings_and_tagged_dollar_quotes() -> None:
    changes = {c.address: c for c in analyze(None, PLPGSQL)}
    dynamic_drop = changes["DROP TABLE dynamic_value (in DO)"]
    assert dynamic_drop.facts["dynamic"] is True
    assert dynamic_drop.facts["cascade"] is True
    assert dynamic_drop.line == line_of(PLPGSQL, "EXECUTE 'DROP TABLE")
    truncate = changes["TRUNCATE dynamic_value.login_attempts (in DO)"]
    assert truncate.facts["summary"] == "TRUNCATE"


def test_function_bodies_are_classified_and_named() -> None:
    changes = {c.address: c for c in analyze(None, PLPGSQL)}
    assert changes["CREATE FUNCTION purge_expired_tokens"].facts["statement"] == "CREATE_FUNCTION"
    delete = changes["DELETE api_tokens (in FUNCTION purge_expired_tokens)"]
    assert delete.facts["summary"] == "DELETE without WHERE"
    assert delete.facts["wrapped_in"] == "FUNCTION purge_expired_tokens"
    assert changes["CREATE FUNCTION touch_updated_at"].facts["statement"] == "CREATE_FUNCTION"
    rules = {f.rule for f in evaluate(PACK, [delete], is_agent=True)}
    assert rules == {"sql.unbounded-dml"}


def test_grant_all_is_named_and_high() -> None:
    [grant] = [c for c in analyze(None, PLPGSQL) if c.facts.get("statement") == "GRANT"]
    assert grant.facts["summary"] == "GRANT ALL"
    found = evaluate(PACK, [grant], is_agent=True)
    assert [(f.rule, f.severity) for f in found] == [("sql.grant-all", "high")]


def test_removing_a_do_block_runs_nothing() -> None:
    head = PLPGSQL.split("DO $migrate$")[0]
    changes = analyze(PLPGSQL, head)
    assert changes and all(c.op == "delete" for c in changes)
    rules = {f.rule for f in evaluate(PACK, changes, is_agent=True)}
    assert "sql.destructive" not in rules


def test_templated_golang_migrate_sql_is_classified() -> None:
    changes = analyze(None, TEMPLATED, "db/migrations/000031_partition_events.up.sql")
    assert not any("unparseable" in c.facts for c in changes)
    by_statement = {c.facts["statement"]: c for c in changes}
    drop = by_statement["DROP_TABLE"]
    assert drop.address == 'DROP TABLE {{ index .Options "Namespace" }}.events'
    assert drop.facts["templated"] is True
    assert drop.facts["sql"] == 'DROP TABLE {{ index .Options "Namespace" }}.events'
    assert drop.line == line_of(TEMPLATED, "DROP TABLE")
    assert by_statement["CREATE_TABLE"].facts["object"] == (
        '{{ index .Options "Namespace" }}.events_2026'
    )
    assert by_statement["GRANT"].facts["grant_all"] is False
    found = evaluate(PACK, [drop], is_agent=True)
    assert [(f.rule, f.severity) for f in found] == [("sql.destructive", "critical")]


@pytest.mark.parametrize(
    ("sql", "statement", "summary"),
    [
        (
            "{% if full %}\nDELETE FROM {{ var('schema') }}.sessions;\n{% endif %}\n",
            "DELETE",
            "DELETE without WHERE",
        ),
        ("UPDATE {{ .Schema }}.accounts SET plan = 'free' WHERE id = {{ .Id }};\n", "UPDATE", None),
        ("TRUNCATE {{ .Schema }}.audit_log;\n", "TRUNCATE", "TRUNCATE"),
        (
            "{# dbt-style comment #}\nDROP SCHEMA {{ target.schema }}_tmp CASCADE;\n",
            "DROP_SCHEMA",
            "DROP SCHEMA",
        ),
    ],
)
def test_jinja_and_go_templates_in_sql(sql: str, statement: str, summary: str | None) -> None:
    [change] = analyze(None, sql)
    assert change.facts["statement"] == statement
    assert change.facts.get("summary") == summary
    assert "tpl_" not in change.address + change.facts["sql"]


def test_template_edit_that_keeps_the_sql_is_matched() -> None:
    head = TEMPLATED.replace("-- golang-migrate migration", "-- golang-migrate  migration (v2)")
    assert analyze(TEMPLATED, head) == []
    # one more use of the same action earlier in the file shifts no identity
    head = 'SELECT {{ index .Options "Namespace" }};\n' + TEMPLATED
    [change] = analyze(TEMPLATED, head)
    assert change.op == "create" and change.line == 1


@settings(max_examples=examples(20), deadline=None)
@given(st.sampled_from([TEMPLATED, PLPGSQL]))
def test_same_sql_on_both_sides_is_no_change(text: str) -> None:
    assert analyze(text, text) == []


def test_whole_line_actions_between_statements_are_statements_of_their_own() -> None:
    model = (
        "{{ config(materialized='table') }}\n\n"
        "select id,\n"
        "{{ dbt_utils.star(ref('orders')) }}\n"
        "from {{ ref('orders') }};\n"
        '{{ template "drop_all" . }}\n'
    )
    changes = analyze(None, model, "models/orders_wide.sql")
    assert [(c.line, c.facts["sql"]) for c in changes] == [
        (1, "{{ config(materialized='table') }}"),
        (3, "SELECT id, {{ dbt_utils.star(ref('orders')) }} FROM {{ ref('orders') }}"),
        (6, '{{ template "drop_all" . }}'),
    ]
    # an added template call is a change a human must read, never silence
    [added] = analyze(model.rsplit("{{ template", 1)[0], model, "models/orders_wide.sql")
    assert added.facts["sql"] == '{{ template "drop_all" . }}'
    rules = {f.rule for f in evaluate(PACK, [added], is_agent=True)}
    assert rules == {"change.unclassified"}
