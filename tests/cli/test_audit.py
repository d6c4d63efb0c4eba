"""`countersign audit export|verify` and `countersign db upgrade` through Typer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from app.cli.audit import audit_app, db_app
from app.core.errors import AuditIntegrityError, DatabaseNotReady
from app.store.audit.records import MergeRecord
from app.store.audit.store import append
from app.store.db import alembic_config, make_engine

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audit"

cli = typer.Typer()
cli.add_typer(audit_app, name="audit")
cli.add_typer(db_app, name="db")


@pytest.fixture
def runner(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", db_url)
    return CliRunner()


# The newest migration (tests/store/test_db.py pins its number).
HEAD_REVISION = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_export_verify_and_tamper(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"at migration {HEAD_REVISION}" in result.output
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0  # idempotent

    engine = make_engine(db_url)
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    for pr in (1, 2, 3):
        append(engine, "merge", MergeRecord.model_validate({**data, "pr": pr}))
    engine.dispose()

    out = tmp_path / "merges.jsonl"
    result = runner.invoke(cli, ["audit", "export", "--format", "jsonl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["audit", "verify", "--file", str(out)])
    assert result.exit_code == 0
    assert "ok: 3 record(s)" in result.output
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0

    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2] + lines[3:]))  # delete seq 2
    result = runner.invoke(cli, ["audit", "verify", "--file", str(out)])
    assert result.exit_code == 1
    assert isinstance(result.exception, AuditIntegrityError)
    assert result.exception.seq == 3
    assert "first bad seq 3" in str(result.exception)


def test_csv_export_to_stdout(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["audit", "export", "--format", "csv", "--repo", "acme/none"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# ")
    assert "seq,hash,prev_hash,repo" in result.stdout


def test_commands_refuse_an_unmigrated_database(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code != 0
    assert "countersign db upgrade" in str(result.exception)
    result = runner.invoke(cli, ["db", "status"])
    assert result.exit_code == 1
    assert f"at <none>, head {HEAD_REVISION}" in result.stdout
    assert isinstance(result.exception, DatabaseNotReady)


def test_installed_entry_point_exits_1_on_tampering(db_url: str, tmp_path: Path) -> None:
    """Through app.cli.main (click standalone_mode=False), as users run it."""
    import subprocess
    import sys

    env = {**os.environ, "COUNTERSIGN_DATABASE_URL": db_url}
    run = [sys.executable, "-c", "from app.cli.main import main; main()"]
    assert subprocess.run([*run, "db", "upgrade"], env=env, capture_output=True).returncode == 0
    engine = make_engine(db_url)
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    for pr in (1, 2):
        append(engine, "merge", MergeRecord.model_validate({**data, "pr": pr}))
    engine.dispose()
    out = tmp_path / "m.jsonl"
    assert subprocess.run([*run, "audit", "export", "-o", str(out)], env=env).returncode == 0
    out.write_text(out.read_text().replace("maria-finance", "mallory", 1))
    done = subprocess.run(
        [*run, "audit", "verify", "--file", str(out)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "first bad seq 1" in done.stderr
