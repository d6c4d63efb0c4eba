"""Finding messages: `{address}`, `{file}`, `{op}`, `{kind}`, `{field}`, `{facts.X}`.

Templates are parsed at load (an unknown placeholder is a rule error, not a "?" at review time)
and rendered without ever raising: a missing value renders as "?". Values of secret-named facts
render as the redaction marker even if an analyzer forgot to redact them, and long values are cut
so a message stays one readable line in a check run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from app.core.models import Change
from app.core.redact import is_secret_name, mask_secret, redact_tree

SIMPLE = ("address", "file", "op", "kind", "field")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_FACT = re.compile(r"facts\.([A-Za-z_][A-Za-z0-9_]*)")
MAX_VALUE = 80
MAX_TEXT = 400
"""Facts named `*_text` are prose an analyzer wrote for the message (every price move of a
record): they may be longer than a value."""


class TemplateError(ValueError):
    """A message template names a placeholder that does not exist."""


@dataclass(frozen=True)
class Template:
    """Literal text and placeholder names, alternating (`parts[1::2]` are names)."""

    parts: tuple[str, ...]

    def render(self, change: Change, field: str | None) -> str:
        out: list[str] = []
        for index, part in enumerate(self.parts):
            out.append(part if index % 2 == 0 else _value(part, change, field))
        return "".join(out)


def parse_template(text: str) -> Template:
    parts: list[str] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        name = (match.group(1) or "").strip()
        if name not in SIMPLE and not _FACT.fullmatch(name):
            raise TemplateError(
                f"unknown placeholder {{{name}}}; use one of "
                "{address} {file} {op} {kind} {field} {facts.NAME} (write {{ for a literal brace)"
            )
        parts.extend(["".join(literal), name])
        literal = []
    literal.append(text[position:])
    parts.append("".join(literal))
    return Template(tuple(parts))


def _value(name: str, change: Change, field: str | None) -> str:
    if name == "field":
        return field or "?"
    if name in SIMPLE:
        return str(getattr(change, name))
    key = name.removeprefix("facts.")
    if key not in change.facts or change.facts[key] is None:
        return "?"
    if is_secret_name(key):
        return format_value(mask_secret(change.facts[key]))
    return format_value(change.facts[key], MAX_TEXT if key.endswith("_text") else MAX_VALUE)


def format_value(value: Any, limit: int = MAX_VALUE) -> str:
    """Short, stable text: 40.0 → "40", 12.3456 → "12.35", containers as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else f"{round(value, 2)}"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(redact_tree(value), sort_keys=True, separators=(",", ":"), default=str)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
