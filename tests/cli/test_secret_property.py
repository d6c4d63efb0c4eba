"""Property: a secret planted in any analyzer's input, in any shape app/core/redact.py knows, never
reaches stdout, stderr, the report, the check text or the audit store.

`countersign analyze` runs in-process (capfd sees both file descriptors, so third-party loggers
writing to stderr are caught), and the report goes into the audit store through `append`, the
path the evaluator uses.
"""

from __future__ import annotations

import functools
import json
import logging
import string
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from app.cli.main import app
from app.core.models import REDACTED
from app.core.report import Report
from app.gate.render.markdown import annotations_for, check_title, conclusion_for, render_markdown
from app.store.audit.records import EvaluationRecord
from app.store.audit.store import append
from app.store.tables import EVENTS
from tests.examples import examples

if TYPE_CHECKING:
    from typer._click.core import Command  # what `get_command` returns (typer vendors click)

# One input per analyzer family and secret shape: (path, file text with {S} where the secret goes).
PLANTS: dict[str, tuple[str, str]] = {
    "terraform secret-named literal": (
        "infra/db.tf",
        'resource "aws_db_instance" "orders" {\n  identifier = "orders"\n  password   = "{S}"\n}\n',
    ),
    "terraform sensitive value": (
        "infra/variables.tf",
        'variable "support_contact" {\n  type      = string\n  sensitive = true\n'
        '  default   = "{S}"\n}\n',
    ),
    "kubernetes Secret data": (
        "k8s/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-db\n  namespace: shop\n"
        "stringData:\n  connection: {S}\n",
    ),
    "kubernetes env literal": (
        "k8s/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: api\n"
        "          image: ghcr.io/acme/api:1.0.0\n          env:\n"
        "            - name: STRIPE_API_KEY\n              value: {S}\n",
    ),
    "kubernetes URL password": (
        "k8s/cm.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
        "          image: ghcr.io/acme/web:1.0.0\n          env:\n"
        "            - name: DATABASE_URL\n              value: postgres://orders:{S}@db:5432/x\n",
    ),
    "workflow env token": (
        ".github/workflows/release.yml",
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: {S}\n",
    ),
    "json data api_key": ("config/assistant.json", '{"openai": {"api_key": "{S}"}}\n'),
    "yaml data password": ("config/app.yaml", "database:\n  password: {S}\n  user: app\n"),
    "yaml URL password": ("config/db.yaml", "database:\n  url: mysql://app:{S}@db/app\n"),
    "sql CREATE USER": (
        "migrations/0007_users.sql",
        "CREATE TABLE audit_log (id int);\nCREATE USER reporting WITH PASSWORD '{S}';\n",
    ),
    "sql ALTER ROLE": (
        "db/migrate/0008_role.sql",
        "ALTER ROLE app WITH LOGIN ENCRYPTED PASSWORD '{S}';\n",
    ),
}

_BODY = st.text(alphabet=string.ascii_letters + string.digits, min_size=10, max_size=24)
# Literal shapes: a plain password, a GitHub token, a Stripe-style key.
SECRETS = st.one_of(
    _BODY.map(lambda s: f"Pw{s}7q"),
    _BODY.map(lambda s: f"ghp_{(s * 4)[:36]}"),
    _BODY.map(lambda s: f"sk_live_{s}Zz"),
)


def new_file_diff(path: str, text: str) -> str:
    lines = text.splitlines()
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines)
    )


@functools.cache
def command() -> Command:
    """The click command the CLI builds at start-up, built once: building it from the Typer app
    costs as much as the analysis of a one-file change, and a process builds it once too."""
    return get_command(app)


def analyze(capfd: pytest.CaptureFixture[str], diff: Path, fmt: str) -> tuple[str, str]:
    """Run the CLI with the root logger as a fresh process has it: pytest's capture handlers,
    which would swallow what a library logs, are taken off for the call (and put back)."""
    root = logging.getLogger()
    kept = root.handlers
    capfd.readouterr()
    root.handlers = []
    try:
        args = ["analyze", "--diff", str(diff), "--author", "infra-bot[bot]", "--format", fmt]
        command().main(args=args, prog_name="countersign", standalone_mode=False)
    finally:
        root.handlers = kept
    captured = capfd.readouterr()
    return captured.out, captured.err


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plant=st.sampled_from(sorted(PLANTS)), secret=SECRETS)
def test_a_planted_secret_reaches_no_output(
    plant: str,
    secret: str,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    db_engine: sa.Engine,
) -> None:
    path, template = PLANTS[plant]
    diff = tmp_path / "change.diff"
    diff.write_text(new_file_diff(path, template.replace("{S}", secret)), encoding="utf-8")

    out, err = analyze(capfd, diff, "json")
    assert secret not in out + err, plant
    report = Report.model_validate(json.loads(out))
    assert REDACTED in out, f"{plant}: the analyzer did not see the secret (test input broken)"
    markdown_out, markdown_err = analyze(capfd, diff, "markdown")
    assert secret not in markdown_out + markdown_err, plant

    conclusion = conclusion_for(report)
    check_text = render_markdown(report) + check_title(report, conclusion)
    check_text += json.dumps(annotations_for(report))
    assert secret not in check_text, plant

    record = EvaluationRecord(
        report=report.model_dump(mode="json"),
        head_sha="a" * 40,
        policy_version=report.policy_version or "",
        conclusion=conclusion,
    )
    event = append(db_engine, "evaluation", record, repo="acme/shop", pr_number=1)
    with db_engine.connect() as conn:
        stored = conn.execute(sa.select(EVENTS).where(EVENTS.c.seq == event.seq)).one()
    assert secret not in json.dumps([str(v) for v in stored]), plant
