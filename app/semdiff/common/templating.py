"""Masking Go-template (Helm) and Jinja actions so templated YAML and SQL can be parsed.

Helm chart templates and templated migrations are ordinary files with `{{ … }}` (and Jinja's
`{% … %}`, `{# … #}`) actions in them. Before parsing, each action is replaced, line numbers kept:

- a control action (`if`, `else`, `end`, `range`, `with`, `define`, `$x := …`, comments, Jinja
  statements) produces no text, so a line holding only control actions becomes an empty line;
- an output action in value position becomes a placeholder scalar (`tpl_<digest>`);
- an output action that is a whole line (`{{- include "x.labels" . | nindent 4 }}`) becomes a
  harmless placeholder entry at the indentation it renders to: `tpl_<digest>: tpl_<digest>` in a
  mapping, `- tpl_<digest>` in a list.

Placeholders are derived from the action's text, so the same action gets the same placeholder on
both sides of a diff; `unmask` turns them back into the action as written, which is what the
reviewer is shown. GitHub Actions' `${{ … }}` expressions are not template actions.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from app.core.errors import UnparseableError
from app.semdiff.common.template_layout import (
    MARK,
    entry_form,
    in_block_scalar,
    indent_of,
    key_follows,
    statement_boundary,
)

__all__ = ["Action", "Masked", "find_actions", "has_actions", "mask", "unmask", "unmask_tree"]

Target = Literal["yaml", "sql"]

_OPENERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_CONTROL_WORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "block", "break", "continue"}
)
_ASSIGNMENT = re.compile(r"^\$[A-Za-z0-9_]*\s*:?=")
_INDENT = re.compile(r"\bn?indent\s+(\d+)")
_NINDENT = re.compile(r"\|\s*nindent\s+(\d+)\s*-?\}\}$")
_PLACEHOLDER = re.compile(r"tpl_[0-9a-f]{12}(?:_\d+)?")


@dataclass(frozen=True)
class Action:
    """One template action: its span in the text, its text as written, whether it outputs."""

    start: int
    end: int
    text: str
    control: bool


@dataclass(frozen=True)
class Masked:
    """Masked text (same line count) and what each placeholder stands for."""

    text: str
    originals: dict[str, str] = field(default_factory=dict)
    templated: bool = False
    hidden: dict[int, str] = field(default_factory=dict)  # line -> text of a pruned branch


def _opener_at(text: str, index: int) -> str | None:
    pair = text[index : index + 2]
    if pair not in _OPENERS:
        return None
    if index > 0 and text[index - 1] == "$":
        # GitHub Actions `${{ … }}`, and shell parameter expansion (`${#files[@]}`, `${%…}`):
        # neither is a Go or Jinja template action.
        return None
    return pair


def _action_end(text: str, start: int, opener: str, source: str) -> int:
    """Index just after the action that opens at `start` (strings and comments skipped)."""
    closer = _OPENERS[opener]
    body = start + 2
    stripped = text[body:].lstrip(" -\t")
    if opener == "{{" and stripped.startswith("/*"):
        close = text.find("*/", body)
        end = text.find(closer, close + 2) if close >= 0 else -1
        if end < 0:
            _unterminated(text, start, source)
        return end + 2
    if opener == "{#":
        end = text.find(closer, body)
        if end < 0:
            _unterminated(text, start, source)
        return end + 2
    index = body
    while index < len(text):
        ch = text[index]
        if text.startswith(closer, index):
            return index + 2
        if ch in "\"'`":
            close = index + 1
            while close < len(text) and text[close] != ch:
                if text[close] == "\\" and ch != "`":
                    close += 1
                if text[close] == "\n" and ch != "`":
                    break
                close += 1
            index = close + 1
            continue
        index += 1
    _unterminated(text, start, source)
    raise AssertionError  # unreachable: _unterminated raises


def _unterminated(text: str, start: int, source: str) -> None:
    line = text.count("\n", 0, start) + 1
    raise UnparseableError(
        f"template action at line {line} is never closed",
        file=source,
        line=line,
        hint="close every `{{` with `}}` (and `{%` with `%}`)",
    )


def _is_control(action: str, opener: str) -> bool:
    if opener != "{{":
        return True  # Jinja statements and comments render no value of their own
    inner = action[2:-2].strip().strip("-").strip()
    if inner.startswith("/*") or not inner:
        return True
    word = inner.split(None, 1)[0] if inner.split() else ""
    return word in _CONTROL_WORDS or bool(_ASSIGNMENT.match(inner))


def find_actions(text: str, source: str = "<template>") -> list[Action]:
    """Every template action of `text`, in order; UnparseableError for one never closed."""
    out: list[Action] = []
    index = text.find("{")
    while 0 <= index < len(text):
        opener = _opener_at(text, index)
        if opener is None:
            index = text.find("{", index + 1)
            continue
        end = _action_end(text, index, opener, source)
        action = text[index:end]
        out.append(Action(index, end, action, _is_control(action, opener)))
        index = text.find("{", end)
    return out


def has_actions(data: bytes | str) -> bool:
    """Cheap test: does this text contain a template action opener at all?"""
    if isinstance(data, bytes):
        if b"{{" not in data and b"{%" not in data and b"{#" not in data:
            return False
        data = data.decode("utf-8", "replace")
    text = data
    return any(_opener_at(text, m.start()) is not None for m in re.finditer(r"\{[{%#]", text))


def _placeholder(action: str) -> str:
    digest = hashlib.sha256(" ".join(action.split()).encode()).hexdigest()[:12]
    return f"tpl_{digest}"


def _place_newlines(chunk: str, pending: int) -> tuple[str, int]:
    """Insert `pending` newlines before the first line end of `chunk` (if it has one)."""
    if not pending:
        return chunk, 0
    newline = chunk.find("\n")
    if newline < 0:
        return chunk, pending
    return chunk[:newline] + "\n" * pending + chunk[newline:], 0


def word_of(action: str) -> str:
    """The first word inside an action (`if`, `end`, `include`…), "" for an empty one."""
    return _word(action)


def _word(action: str) -> str:
    inner = action[2:-2].strip().strip("-").strip()
    return inner.split(None, 1)[0] if inner.split() else ""


def _alternative_spans(actions: list[Action]) -> list[tuple[int, int]]:
    """Character spans of `else`/`elif` branches: text the first branch replaces when rendered."""
    spans: list[tuple[int, int]] = []
    stack: list[int | None] = []  # per open block: where its current alternative began
    for action in actions:
        word = _word(action.text)
        if word in ("if", "range", "with", "define", "block", "for", "macro", "call", "filter"):
            stack.append(None)
        elif word in ("else", "elif") and stack:
            if stack[-1] is not None:
                spans.append((stack[-1], action.start))
            stack[-1] = action.end
        elif word.startswith("end") and stack:
            began = stack.pop()
            if began is not None:
                spans.append((began, action.start))
    return spans


class _Masker:
    def __init__(self, text: str, target: Target, source: str) -> None:
        self.text = text
        self.target = target
        self.actions = find_actions(text, source)
        self.originals: dict[str, str] = {}
        self.seen: Counter[str] = Counter()
        self.hidden: dict[int, str] = {}

    def prune_alternatives(self, lines: list[str]) -> list[str]:
        """Blank the lines of `else` branches (kept aside in `hidden`) so keys are not doubled."""
        spans = _alternative_spans(self.actions)
        if not spans:
            return lines
        out = list(lines)
        start = 0
        for number, original in enumerate(self.text.split("\n")):
            end = start + len(original)
            if number < len(out) and out[number].strip():
                if any(lo <= start and end <= hi for lo, hi in spans):
                    self.hidden[number + 1] = original.strip()
                    out[number] = ""
            start = end + 1
        return out

    def name(self, action: str) -> str:
        """A placeholder for `action`, unique in the file (it may become a mapping key)."""
        base = _placeholder(action)
        self.seen[base] += 1
        if self.seen[base] > 1:
            base = f"{base}_{self.seen[base]}"
        self.originals[base] = action
        return base

    def run(self, *, prune: bool = False) -> str:
        # 1. Each action becomes one marker; the newlines inside it move to the end of the line
        #    it ends on, so every line of plain text keeps its line number.
        pieces: list[str] = []
        cursor = 0
        pending = 0
        for number, action in enumerate(self.actions):
            chunk, pending = _place_newlines(self.text[cursor : action.start], pending)
            pieces += [chunk, f"{MARK}{number}{MARK}"]
            pending += action.text.count("\n")
            cursor = action.end
        tail, pending = _place_newlines(self.text[cursor:], pending)
        pieces += [tail, "\n" * pending]
        lines = "".join(pieces).split("\n")
        if prune:
            lines = self.prune_alternatives(lines)
        # 2. Rewrite each line that holds markers.
        out = [self._line(lines, i) if MARK in line else line for i, line in enumerate(lines)]
        return "\n".join(out)

    def _line(self, lines: list[str], number: int) -> str:
        line = lines[number]
        parts = line.split(MARK)
        texts = parts[0::2]
        actions = [self.actions[int(p)] for p in parts[1::2]]
        if not "".join(texts).strip():
            if all(a.control for a in actions):
                return ""
            if self.target == "sql":
                outputs = [a for a in actions if not a.control]
                names = " ".join(self.name(a.text) for a in outputs)
                # Between statements (`{{ config(…) }}`, `{{ template "x" }}`) the action is a
                # statement of its own, so it is seen; inside one it stands for an expression.
                return texts[0] + names + (";" if statement_boundary(lines, number) else "")
            return self._entry(lines, number, [a for a in actions if not a.control])
        if self.target == "yaml" and any(a.control for a in actions):
            # `key: {{ if .x }}a{{ else }}b{{ end }}`: the whole templated span is one value.
            first = line.index(MARK)
            last = line.rindex(MARK) + 1
            span = "".join(
                self.actions[int(p)].text if i % 2 else p
                for i, p in enumerate(line[first:last].split(MARK))
            )
            name = self.name(span)
            if line[:first].strip() or line[last:].strip():
                return line[:first] + name + line[last:]
            # The span is the whole line (`{{ if .x }}stringData:{{ else }}data:{{ end }}`).
            inner = "".join(texts).strip()
            suffix = ":" if inner.endswith(":") else f": {name}"
            return line[:first] + name + suffix
        if (
            self.target == "yaml"
            and not actions[-1].control
            and not texts[-1].strip()
            and texts[-2].rstrip().endswith(":")
            and _INDENT.search(actions[-1].text)
        ):
            # `labels: {{- include "x.labels" . | nindent 4 }}` renders a block under the key;
            # lines below may add to it, so the key stays a key.
            actions = actions[:-1]
            texts = texts[:-1]
            if not actions:
                return texts[0]
        if (
            self.target == "yaml"
            and texts[0].strip() == "-"
            and len(actions) == 1
            and not actions[0].control
            and not texts[1].strip()
            and key_follows(lines, number, len(texts[0]))
        ):
            # `- {{ toYaml $x | nindent 8 | trim }}` with `key:` lines below at the item's
            # indentation: the action renders the item's first keys, the lines below add more.
            name = self.name(actions[0].text)
            return f"{texts[0]}{name}: {name}"
        out = [texts[0]]
        opening = actions[0].text
        newline = _NINDENT.search(opening)
        if self.target == "yaml" and not texts[0].strip() and opening.startswith("{{-") and newline:
            # `  {{- $key | nindent 2 }}: |` trims the spaces before it and starts a new line at
            # column 2: the key sits where nindent puts it, not where the action is written.
            out = [" " * int(newline.group(1))]
        for action, after in zip(actions, texts[1:], strict=True):
            if action.control:
                out.append(" " * len(action.text) if "\n" not in action.text else " ")
            else:
                out.append(self.name(action.text))
            out.append(after)
        return "".join(out)

    def _entry(self, lines: list[str], number: int, outputs: list[Action]) -> str:
        last = outputs[-1].text
        found = _INDENT.search(last)
        column = int(found.group(1)) if found else indent_of(lines[number])
        joined = " ".join(a.text for a in outputs)
        name = self.name(joined)
        if in_block_scalar(lines, number, column):
            return " " * column + name  # text inside `key: |`: the action is just text
        if entry_form(lines, number, column) == "list":
            return " " * column + f"- {name}"
        return " " * column + f"{name}: {name}"


def mask(text: str, target: Target, source: str = "<template>", *, prune: bool = False) -> Masked:
    """Mask every action of `text` for a YAML or SQL parser; line count is kept.

    With `prune`, the lines of `else` branches are blanked too (and listed in `hidden`): used
    when both branches define the same keys, which no single YAML document can hold.
    """
    masker = _Masker(text, target, source)
    if not masker.actions:
        return Masked(text)
    masked = masker.run(prune=prune)
    return Masked(masked, masker.originals, templated=True, hidden=masker.hidden)


def unmask(text: str, originals: dict[str, str]) -> str:
    """`text` with every placeholder turned back into the action as written."""
    if not originals or "tpl_" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: originals.get(m.group(0), m.group(0)), text)


def unmask_tree(value: Any, originals: dict[str, str]) -> Any:
    """`unmask` applied to every string (keys included) of a parsed value."""
    if isinstance(value, str):
        return unmask(value, originals)
    if isinstance(value, list):
        return [unmask_tree(v, originals) for v in value]
    if isinstance(value, dict):
        return {unmask_tree(k, originals): unmask_tree(v, originals) for k, v in value.items()}
    return value
