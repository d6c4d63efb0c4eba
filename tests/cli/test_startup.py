"""What a one-file `countersign analyze` does not load: its start-up is what agents pay on every
change (BENCHMARKS.md, "Start-up")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "pydantic_settings",
    "sqlglot",
    "fastapi",
    "githubkit",
    "sqlalchemy",
    "httpx",
    "uvicorn",
)
UNUSED = (
    "app.agentops",  # the agent's record: read for an agent's change only
    "app.gate.waivers",  # waivers and freezes: loaded when a PR or repo has some
    "app.gate.freeze",
    "app.gate.commands",
    "codeowners",  # when the repository has a CODEOWNERS file
)
DIFF = '--- a/main.tf\n+++ b/main.tf\n@@ -1,3 +1,3 @@\n resource "aws_s3_bucket" "logs" {\n-  bucket = "a"\n+  bucket = "b"\n }\n'


def loaded_after(code: str) -> dict[str, object]:
    probe = (
        "import contextlib, io, json, sys\n"
        f"{code}\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "risk = sorted(m for m in sys.modules if m.startswith('app.risk'))\n"
        f"unused = sorted(m for m in sys.modules if m.startswith({UNUSED!r}))\n"
        "print(json.dumps({'heavy': heavy, 'risk': risk, 'unused': unused}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


def test_analyze_loads_no_settings_sql_or_http_stack(tmp_path: Path) -> None:
    """Through the console script's entry (pyproject.toml `countersign`), a human's change."""
    diff = tmp_path / "change.diff"
    diff.write_text(DIFF)
    run = (
        f"sys.argv = ['countersign', 'analyze', '--diff', {str(diff)!r}]\n"
        "from app.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    main()\n"
        "assert json.loads(out.getvalue())['schema_version'] == 1\n"
    )
    loaded = loaded_after(run)
    assert loaded["heavy"] == []
    assert loaded["unused"] == []  # see UNUSED


def test_config_does_not_import_the_risk_engine() -> None:
    loaded = loaded_after("import app.config.repo, app.config.agents, app.config.allowlists")
    assert loaded["risk"] == []


def test_the_console_script_is_the_typer_application() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["countersign"] == "app.cli.main:main"


def test_analyze_leaves_its_objects_out_of_shutdown_collections(tmp_path: Path) -> None:
    """Interpreter shutdown's full collections were a fifth of a pre-flight's CPU (BENCHMARKS.md);
    `analyze` freezes the gate's modules once imported, and the heap once the report is out."""
    diff = tmp_path / "change.diff"
    diff.write_text(DIFF)
    probe = (
        "import contextlib, gc, io, sys\n"
        f"sys.argv = ['countersign', 'analyze', '--diff', {str(diff)!r}]\n"
        "from app.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main()\n"
        "print(gc.isenabled(), gc.get_freeze_count())\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    enabled, frozen = proc.stdout.split()[-2:]
    assert enabled == "True"  # paused for the gate's imports only
    assert int(frozen) > 10_000


def test_python_dash_m_app_cli_is_the_console_script(tmp_path: Path) -> None:
    diff = tmp_path / "change.diff"
    diff.write_text(DIFF)
    cli = [sys.executable, "-m", "app.cli"]
    proc = subprocess.run([*cli, "analyze", "--diff", str(diff)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema_version"] == 1
    usage = subprocess.run([*cli, "analyze", "--format", "xml"], capture_output=True, text=True)
    assert usage.returncode == 2  # Typer's refusal, through the same entry
