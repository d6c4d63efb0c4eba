"""The CEL side of risk rules: compiling `when` once, and the context each change is seen through.

Rules read `change` (file, kind, address, op, fields, facts, before, after, line) and `pr`
(is_agent, author). The context is built once per change as a `cel.Context` (building it costs
about as much as converting a dict on every `execute`, so one build serves every rule).

Helpers are registered because analyzers hand over nested values whose shape varies with the
source (a Terraform `ingress` block is a dict when there is one and a list when there are
several; an IAM policy is a JSON string, a `jsonencode(...)` expression or nested blocks), and
because the cel package's `matches` compiles its regex on every call (~120 µs, measured):
- `find(x, pattern)`: True when string `x` contains a match of the Python regex `pattern`
  (compiled once and cached; ~1 µs); False for non-strings;
- `text(x)`: a string as itself, null as "", anything else as compact canonical JSON, so a
  regex can read a policy whatever its form;
- `strings(x)`: every string leaf of `x` (depth first), e.g. `strings(f.after).exists(s, s ==
  "0.0.0.0/0")` on a CIDR list, a block or a list of blocks alike;
- `blocks(x)`: a dict as a one-item list, a list as its dict items, anything else as [];
- `version_majors(x)`: the major version of each clause of a version constraint
  (`">= 6.39, < 7.0"` → [6, 7]), [] for anything that is not one, so a rule can tell a floor
  bump within a major version from a move to another major.
"""

from __future__ import annotations

import functools
import json as _json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from app.core.models import Change
from app.risk.celext import load_cel_extension

cel = load_cel_extension()

ROOTS = frozenset({"change", "pr"})

# Named functions the cel package provides natively, plus ours. Operators (`_==_`, `!_`, `@in`…)
# are not listed: they start with `_`, `!`, `-` or `@`.
_BUILTINS = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double",
        "string", "bytes", "bool", "timestamp", "duration", "dyn", "type", "max", "min",
        "has", "exists", "exists_one", "all", "map", "filter",
        "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek",
        "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    }
)  # fmt: skip
_TYPE_NAMES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)
_BINDER = re.compile(r"\.\s*(?:exists_one|exists|all|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return _json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _find(text: Any, pattern: str) -> bool:
    return isinstance(text, str) and _regex(pattern).search(text) is not None


def _strings(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return out


def _blocks(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


_CLAUSE = re.compile(r"^\s*(?:[<>=!~^]+\s*)?v?(\d+)(?:\.[0-9A-Za-z.+-]*)?\s*$")


def _version_majors(value: Any) -> list[int]:
    if not isinstance(value, str) or not value.strip():
        return []
    majors: list[int] = []
    for clause in value.split(","):
        match = _CLAUSE.match(clause)
        if match is None:
            return []
        majors.append(int(match.group(1)))
    return majors


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "find": _find,
    "text": _text,
    "strings": _strings,
    "blocks": _blocks,
    "version_majors": _version_majors,
}


class WhenError(ValueError):
    """A `when` expression cannot be used; the message says why and how to fix it."""


def compile_when(expression: str) -> Any:
    """Compile once at load; refuse syntax errors, unknown functions and unknown names."""
    try:
        program = cel.compile(expression)
    except (ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()
        detail = " ".join(line.strip() for line in first[1:2]) or str(exc)
        raise WhenError(f"CEL does not compile: {detail}") from exc
    unknown = [
        name
        for name in program.functions()
        if name[:1] not in ("_", "!", "-", "@") and name not in _BUILTINS and name not in FUNCTIONS
    ]
    if unknown:
        raise WhenError(
            f"unknown CEL function {unknown[0]!r}; use a CEL built-in "
            "(size, contains, startsWith, endsWith, matches, exists, all…) or "
            "find/text/strings/blocks/version_majors"
        )
    bound = set(_BINDER.findall(expression))
    names = [n for n in program.variables() if n not in ROOTS | bound | _TYPE_NAMES]
    if names:
        raise WhenError(f"unknown name {names[0]!r}; a rule can read only `change` and `pr`")
    return program


def _plain(value: Any, depth: int = 0) -> Any:
    """Only what CEL can hold: str keys, lists, finite numbers, str for anything exotic."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth > 50:
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, depth + 1) for v in value]
    return str(value)


def change_view(change: Change) -> dict[str, Any]:
    """The `change` variable: the Change as plain data plus {path: value} maps per side."""
    fields = [
        {"path": f.path, "before": _plain(f.before), "after": _plain(f.after)}
        for f in change.fields
    ]
    return {
        "file": change.file,
        "kind": change.kind,
        "address": change.address,
        "op": change.op,
        "line": change.line if change.line is not None else 0,
        "fields": fields,
        "facts": _plain(change.facts),
        "before": {f["path"]: f["before"] for f in fields},
        "after": {f["path"]: f["after"] for f in fields},
    }


def pr_view(is_agent: bool, author: str | None) -> dict[str, Any]:
    return {"is_agent": bool(is_agent), "author": author or ""}


def build_context(change: Change, pr: Mapping[str, Any]) -> Any:
    """One `cel.Context` for one change, shared by every rule evaluated on it."""
    return cel.Context({"change": change_view(change), "pr": dict(pr)}, dict(FUNCTIONS))


def run_when(program: Any, context: Any) -> bool:
    """True/False, or raise WhenError for a runtime error or a non-boolean result."""
    try:
        result = program.execute(context)
    except Exception as exc:  # the cel package raises KeyError/TypeError/RuntimeError/…
        text = str(exc).split(". ")[0].strip()[:160]
        raise WhenError(f"{type(exc).__name__}: {text}") from exc
    if not isinstance(result, bool):
        raise WhenError(f"`when` returned {type(result).__name__}, not a boolean")
    return result
