"""The plain `analyze` entry (`app/cli/entry.py`) reads a command line as Typer does, hands
everything else to Typer, and prints what the Typer command prints."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from app.cli.analyze import run_analyze
from app.cli.entry import OPTIONS, PATHS, plain_analyze
from app.cli.main import _analyze_only

DIFF = '--- a/main.tf\n+++ b/main.tf\n@@ -1,3 +1,3 @@\n resource "aws_s3_bucket" "logs" {\n-  bucket = "a"\n+  bucket = "b"\n }\n'


def typer_analyze() -> Any:
    return typer.main.get_command(_analyze_only()).commands["analyze"]  # type: ignore[attr-defined]


def typer_reads(args: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = typer_analyze().make_context("analyze", list(args)).params
    return params


def test_option_table_is_the_typer_commands() -> None:
    options = {p.opts[0]: p.name for p in typer_analyze().params if p.opts[0] != "--help"}
    assert OPTIONS == options
    defaults = {n: p.default for n, p in inspect.signature(run_analyze).parameters.items()}
    assert typer_reads([]) == defaults
    paths = {name for name, value in typer_reads(["--repo", "r", "--rules-dir", "r", "--policies-dir", "p", "--plan", "p"]).items() if isinstance(value, Path)}  # fmt: skip
    assert paths == PATHS


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--repo", "x/y", "--base", "HEAD~1", "--head", "HEAD"],
        ["--diff", "-", "--format=markdown", "--author", "bot[bot]", "--repo-name", "o/r"],
        ["--format", "sarif", "--rules-dir", "r", "--policies-dir", "~/p", "--plan", "p.json"],
        ["--plan=plan.json", "--plan-dir", "infra/prod", "--repo", "."],
    ],
)
def test_plain_reading_agrees_with_typer(args: list[str]) -> None:
    plain = plain_analyze(args)
    assert plain is not None
    assert {**typer_reads([]), **plain} == typer_reads(args)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--debug"],
        ["--version"],
        ["--repo"],
        ["--repo", ""],
        ["--repo="],
        ["--format", "xml"],
        ["--base", "a", "--base", "b"],
        ["--base", "--head", "HEAD"],
        ["--rep", "x"],
        ["extra"],
        ["--", "--repo", "x"],
    ],
)
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert plain_analyze(args) is None


def run(entry: str, *args: str, encoding: str = "utf-8") -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.argv[1:] = {list(args)!r}; from {entry} import main; main()"
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    ("fmt", "encoding"),
    [("json", "utf-8"), ("markdown", "utf-8"), ("sarif", "utf-8"), ("markdown", "ascii")],
)
def test_plain_and_typer_print_the_same(tmp_path: Path, fmt: str, encoding: str) -> None:
    """Byte for byte, also where the locale says ASCII and the Markdown is not (`·`, `—`)."""
    diff = tmp_path / "change.diff"
    diff.write_text(DIFF)
    args = ("analyze", "--diff", str(diff), "--format", fmt, "--author", "infra-bot[bot]")
    plain = run("app.cli.entry", *args, encoding=encoding)
    through_typer = run("app.cli.main", *args, encoding=encoding)
    assert plain.returncode == through_typer.returncode == 0, plain.stderr + through_typer.stderr
    assert plain.stdout == through_typer.stdout
    assert "main.tf" in plain.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "--diff", "-", "--repo", "."),  # a usage error (2)
        ("analyze", "--diff", "/nonexistent/change.diff"),  # cannot read (2)
        ("analyze", "--base", "a", "--head", "b", "--repo", "/nonexistent"),  # not a repo (1)
        ("analyze", "--diff", "-", "--rules-dir", "/nonexistent"),  # no rules (1)
    ],
)
def test_plain_and_typer_fail_the_same(args: tuple[str, ...]) -> None:
    plain, through_typer = run("app.cli.entry", *args), run("app.cli.main", *args)
    assert plain.returncode == through_typer.returncode != 0
    assert plain.stderr == through_typer.stderr
    assert plain.stdout == through_typer.stdout == ""


def test_a_shell_completion_request_goes_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    """click answers `_COUNTERSIGN_COMPLETE=…` before reading arguments; the plain path must not."""
    monkeypatch.setenv("_COUNTERSIGN_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "countersign analyze --")
    monkeypatch.setenv("COMP_CWORD", "2")
    monkeypatch.setattr(sys, "argv", ["countersign", "analyze", "--diff", "/nonexistent"])
    from app.cli.entry import main

    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code != 2  # not the plain path's "cannot read /nonexistent" usage error
