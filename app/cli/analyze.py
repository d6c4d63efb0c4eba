"""`countersign analyze`: the pre-flight itself, free of Typer.

Agents run it on every change, so its start-up is the cost they pay each time (BENCHMARKS.md,
"Start-up"). The Typer command in `app/cli/main.py` and the plain entry in `app/cli/entry.py`
both call `run_analyze`, so the two ways in cannot drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.core.errors import UsageError

if TYPE_CHECKING:  # imported inside the functions: start-up stays light
    from app.core.snapshot import PullRequestSnapshot

Format = Literal["json", "markdown", "sarif"]
FORMATS: tuple[Format, ...] = ("json", "markdown", "sarif")


def run_analyze(
    *,
    repo: Path | None = None,
    base: str | None = None,
    head: str | None = None,
    diff: str | None = None,
    author: str | None = None,
    repo_name: str | None = None,
    fmt: Format = "json",
    rules_dir: Path | None = None,
    policies_dir: Path | None = None,
    plan: Path | None = None,
    plan_dir: str = "",
) -> str:
    """The report of one change as the text `analyze` prints (JSON, Markdown or SARIF)."""
    from app.gate.pipeline import Gatekeeper, evaluate
    from app.gate.render.markdown import render_markdown

    if diff is not None and (repo or base or head):
        raise UsageError("use either --diff or --repo/--base/--head, not both")
    if diff is None and plan is None and not (base and head):
        raise UsageError(
            "give --base and --head (with --repo, default .), --diff FILE|-, or --plan FILE"
        )
    from app.cli.stderr_filter import filtered_stderr
    from app.config.shipped import gate_dir
    from app.core.yaml_fast import is_parser_noise

    with filtered_stderr(is_parser_noise):
        # Only the two folders, not the deployment Settings (pydantic-settings is slow to import).
        gate = Gatekeeper.load(
            rules_dir or gate_dir("rules_dir"), policies_dir or gate_dir("policies_dir")
        )
        snapshot = _read_snapshot(repo, base, head, diff, author, repo_name, plan, plan_dir)
        report = evaluate(snapshot, gate)
    if fmt == "json":
        return json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=False)
    if fmt == "sarif":
        from app.gate.render.sarif import render_sarif, rule_infos

        return json.dumps(render_sarif(report, rule_infos(gate.rules)), indent=2)
    return render_markdown(report, limit=10_000_000)


def _read_snapshot(
    repo: Path | None,
    base: str | None,
    head: str | None,
    diff: str | None,
    author: str | None,
    repo_name: str | None,
    plan: Path | None,
    plan_dir: str,
) -> PullRequestSnapshot:
    """The change `analyze` judges: from a unified diff, from git, or a plan alone (plus a plan)."""
    from app.core.snapshot import PullRequestSnapshot

    if diff is not None:
        from app.sources.diff import files_from_diff

        if diff == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(diff).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise UsageError(f"cannot read {diff}: {exc.strerror}") from exc
        snapshot = PullRequestSnapshot(
            repo=repo_name or "local/diff",
            author=author,
            author_is_bot=bool(author and author.endswith("[bot]")),
            files=tuple(files_from_diff(text)),
        )
    elif base and head:
        from app.sources.git import snapshot_from_git

        snapshot = snapshot_from_git(
            repo or Path("."), base, head, author=author, repo_name=repo_name
        )
    else:
        snapshot = PullRequestSnapshot(
            repo=repo_name or "local/plan",
            author=author,
            author_is_bot=bool(author and author.endswith("[bot]")),
        )
    if plan is not None:
        from app.semdiff import read_plan

        try:
            data = plan.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {plan}: {exc.strerror}") from exc
        snapshot = snapshot.model_copy(update={"plans": (read_plan(data, plan_dir, str(plan)),)})
    return snapshot
