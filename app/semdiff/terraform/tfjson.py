"""Terraform's JSON syntax (`.tf.json`) read into the same blocks as HCL.

Nested blocks are JSON objects (one) or arrays (repeated), references are template strings, and
`"//"` keys are comments; we map them onto the shape the HCL reader produces so a project can
switch syntax without a semantic diff. JSON gives no positions, so lines are best effort: where
an object's labels first appear in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from app.core.errors import UnparseableError

FIX = "fix the syntax; `terraform validate` reports the same problem"

# How many labels each block type has (the levels of JSON objects before its body).
LABELS = {
    "resource": 2,
    "data": 2,
    "module": 1,
    "variable": 1,
    "output": 1,
    "provider": 1,
    "check": 1,
}

Block = tuple[str, tuple[str, ...], dict[str, Any], int]


def json_blocks(text: str, source: str) -> Iterator[Block]:
    """(block type, labels, body, line) for every block of a `.tf.json` document."""
    try:
        doc = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise UnparseableError(
            f"invalid JSON: {exc.msg}", file=source, line=exc.lineno, hint=FIX
        ) from exc
    if not isinstance(doc, dict):
        raise UnparseableError(
            "a .tf.json file must hold a JSON object", file=source, line=1, hint=FIX
        )
    finder = _LineFinder(text)
    for block_type, content in _drop_comments(doc).items():
        for part in content if isinstance(content, list) else [content]:
            wanted = LABELS.get(block_type, 0)
            for labels, body in _json_bodies(part, wanted, source, block_type):
                line = finder.line(block_type, *labels)
                yield block_type, labels, _json_references(body), line


def _json_bodies(
    content: Any, depth: int, source: str, block_type: str
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """`{"aws_s3_bucket": {"logs": {...}}}` → [(("aws_s3_bucket", "logs"), {...})]."""
    if depth == 0:
        items = content if isinstance(content, list) else [content]
        if not all(isinstance(i, dict) for i in items):
            raise UnparseableError(f"{block_type}: expected a JSON object", file=source, hint=FIX)
        return [((), i) for i in items]
    if not isinstance(content, dict):
        raise UnparseableError(f"{block_type}: expected a JSON object", file=source, hint=FIX)
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    for label, inner in content.items():
        for labels, body in _json_bodies(inner, depth - 1, source, block_type):
            out.append(((label, *labels), body))
    return out


def _json_references(body: dict[str, Any]) -> dict[str, Any]:
    """`"provider": "aws.west"` is a reference in JSON, written `provider = aws.west` in HCL;
    give it the HCL form so both syntaxes compare equal."""
    out = dict(body)
    if isinstance(out.get("provider"), str):
        out["provider"] = _as_expression(out["provider"])
    if isinstance(out.get("depends_on"), list):
        out["depends_on"] = [_as_expression(v) for v in out["depends_on"]]
    return out


def _as_expression(value: Any) -> Any:
    if isinstance(value, str) and not value.startswith("${"):
        return "${" + value + "}"
    return value


def _drop_comments(value: Any) -> Any:
    """Terraform JSON treats `"//"` properties as comments."""
    if isinstance(value, dict):
        return {k: _drop_comments(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [_drop_comments(v) for v in value]
    return value


class _LineFinder:
    """Best-effort lines for `.tf.json` objects: the line where their labels first appear in order."""

    def __init__(self, text: str) -> None:
        self.text = text

    def line(self, *keys: str) -> int:
        pos = 0
        for key in keys:
            found = self.text.find(json.dumps(key), pos)
            if found < 0:
                break
            pos = found
        return self.text.count("\n", 0, pos) + 1
