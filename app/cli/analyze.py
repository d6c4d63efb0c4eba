"""`countersign analyze`: the pre-flight itself.

Agents run it on every change, so its start-up is the cost they pay each time (BENCHMARKS.md,
"Start-up"): heavy modules load inside the functions, the gate's modules are imported with the
collector paused and then frozen (`import_gate_frozen`), and the Typer command in
`app/cli/main.py` freezes the heap once the report is out.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.core.errors import UsageError

if TYPE_CHECKING:  # imported inside the functions: start-up stays light
    from app.core.report import Report
    from app.core.snapshot import PullRequestSnapshot
    from app.gate.pipeline import Gatekeeper

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
    outputs: Sequence[tuple[Format, Path]] = (),
) -> str:
    """The report of one change as the text `analyze` prints (JSON, Markdown or SARIF); each
    of `outputs` is the same report, of the same evaluation, written to a file in a format."""
    from app.gate.pipeline import Gatekeeper, evaluate

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
    for kind, path in outputs:
        try:
            path.write_text(render(report, gate, kind) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
    return render(report, gate, fmt)


def render(report: Report, gate: Gatekeeper, fmt: Format) -> str:
    """The report in one of `analyze`'s formats."""
    if fmt == "json":
        return json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=False)
    if fmt == "sarif":
        from app.gate.render.sarif import render_sarif, rule_infos

        return json.dumps(render_sarif(report, rule_infos(gate.rules)), indent=2)
    from app.gate.render.markdown import render_markdown

    return render_markdown(report, limit=10_000_000)


def parse_output(value: str) -> tuple[Format, Path]:
    """`FORMAT=PATH` of `--output` (e.g. `sarif=out/countersign.sarif`)."""
    kind, sep, path = value.partition("=")
    if not sep or kind not in FORMATS or not path:
        raise UsageError(
            f"--output {value!r}: write it as FORMAT=PATH with FORMAT one of "
            f"{', '.join(FORMATS)} (e.g. --output sarif=countersign.sarif)"
        )
    return kind, Path(path)  # checked against FORMATS above


def import_gate_frozen() -> None:
    """Import the gate's modules with the collector paused, then freeze what they made: those
    objects live until exit, and the collections an import-heavy start triggers (about a hundred)
    would walk them again and again."""
    gc.disable()
    try:
        import_module("app.gate.pipeline")
    finally:
        gc.freeze()
        gc.enable()


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
