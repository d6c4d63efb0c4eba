"""Run a composite action's steps as the runner does: `env:` and `if:` expressions evaluated
against a context, each `run:` script in `bash -eo pipefail`, `$GITHUB_OUTPUT` read back.

Only the expression forms action.yml uses are understood (`a.b.c`, `x || y`, `'literal'`,
`a == 'b'`, `p && q`); anything else raises, so a new form cannot be silently misread.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ACTION = Path(__file__).resolve().parents[2] / "action.yml"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)*$")


def load_action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(ACTION.read_text())
    return data


def _term(term: str, ctx: dict[str, Any]) -> Any:
    term = term.strip()
    if term.startswith("'") and term.endswith("'"):
        return term[1:-1]
    if not _PATH.match(term):
        raise ValueError(f"expression form not understood: {term!r}")
    value: Any = ctx
    for part in term.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return value


def evaluate(expr: str, ctx: dict[str, Any]) -> Any:
    """`p && q`, `a == 'b'`, `x || y`, a path or a literal."""
    if "&&" in expr:
        return all(evaluate(part, ctx) for part in expr.split("&&"))
    if "==" in expr:
        left, right = expr.split("==", 1)
        return str(_term(left, ctx)) == str(_term(right, ctx))
    for alternative in expr.split("||"):
        value = _term(alternative, ctx)
        if value:
            return value
    return ""


def interpolate(text: str, ctx: dict[str, Any]) -> str:
    return _EXPR.sub(lambda m: str(evaluate(m.group(1), ctx)), str(text))


@dataclass
class StepRun:
    id: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Runner:
    """One job's files (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`…) under `tmp`, and its context."""

    tmp: Path
    inputs: dict[str, str]
    github: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        action = load_action()
        defaults = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
        self.context = {"inputs": {**defaults, **self.inputs}, "github": self.github}
        self.steps: list[dict[str, Any]] = action["runs"]["steps"]
        self.summary = self.tmp / "summary.md"
        self.summary.touch()
        (self.tmp / "runner-temp").mkdir(exist_ok=True)

    def run(self, step_id: str) -> StepRun | None:
        """Run one step (None when its `if:` is false)."""
        step = next(s for s in self.steps if s.get("id") == step_id)
        condition = step.get("if")
        if condition is not None and not evaluate(condition, self.context):
            return None
        output = self.tmp / f"output-{step_id}"
        output.write_text("")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")},
            **self.env,
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_PATH": str(self.tmp / "path"),
            "RUNNER_TEMP": str(self.tmp / "runner-temp"),
            **{k: interpolate(v, self.context) for k, v in (step.get("env") or {}).items()},
        }
        cwd = interpolate(step.get("working-directory", "."), self.context)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=Path(self.github["workspace"]) / cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = output.read_text().splitlines()
        outputs = dict(line.split("=", 1) for line in lines if "=" in line)
        return StepRun(step_id, done.returncode, done.stdout, done.stderr, outputs)
