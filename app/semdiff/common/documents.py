"""Reading one side of a structured file into documents, cached by content.

Detection (is this YAML a Kubernetes manifest? a price book?) and analysis both need the parsed
documents; the cache means each blob is parsed once per process, however many steps look at it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from functools import lru_cache
from typing import Any, Literal

from app.core.errors import UnparseableError
from app.core.text import decode_text
from app.core.yamlsafe import YamlDocument, load_yaml_documents
from app.semdiff.common import templating
from app.semdiff.common.jsonc import is_jsonc_path, strip_jsonc

Format = Literal["json", "yaml", "csv"]

ELSE_BRANCHES = "{{ else }}"  # key holding the text of template branches not parsed as YAML
MAX_JSON_DEPTH = 200
MAX_STRUCTURED_BYTES = 10 * 1024 * 1024


def structured_format(path: str) -> Format | None:
    """The format a path's extension promises, if it is a structured one."""
    lower = path.lower()
    if lower.endswith(".json") and not lower.endswith(".tf.json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    if lower.endswith((".csv", ".tsv")):
        return "csv"
    return None


_SURROGATE_ESCAPE = re.compile(r"\\[uU]0{0,4}[dD][89a-fA-F][0-9a-fA-F]{2}")


def _check_surrogates(value: object, text: str, source: str) -> None:
    """Refuse unpaired surrogate escapes (`"\\ud800"`): they cannot be encoded in any output.

    Cheap unless the text contains such an escape at all; a valid pair encodes fine.
    """
    if not _SURROGATE_ESCAPE.search(text):
        return
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnparseableError("unpaired UTF-16 surrogate escape in a string", file=source) from exc


def _join_pairs(value: Any) -> Any:
    """Strings with valid surrogate pairs become the characters they encode; lone halves stay."""
    if isinstance(value, str):
        try:
            return value.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            return value
    if isinstance(value, list):
        return [_join_pairs(v) for v in value]
    if isinstance(value, dict):
        return {_join_pairs(k): _join_pairs(v) for k, v in value.items()}
    return value


def _check_depth(text: str, source: str) -> None:
    depth = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise UnparseableError(f"JSON nested deeper than {MAX_JSON_DEPTH}", file=source)
        elif ch in "]}":
            depth -= 1


def _load_yaml(data: bytes, source: str) -> tuple[YamlDocument, ...]:
    """YAML documents; a templated file (Helm, Jinja) is masked first, see `templating`."""
    if not templating.has_actions(data):
        return tuple(load_yaml_documents(data, source))
    text = decode_text(data, source)
    try:
        masked = templating.mask(text, "yaml", source)
        loaded = load_yaml_documents(masked.text, source)
    except UnparseableError as error:
        # Both branches of an if/else may define the same keys: read the first branch and
        # carry the others as text, so a change in them is still a visible change.
        try:
            masked = templating.mask(text, "yaml", source, prune=True)
            loaded = _load_branches(masked, source)
        except UnparseableError:
            # Plain YAML whose strings merely contain `{{ … }}` (a label quoting a template)
            # is data, not a template: read as written when that parses, else the first error.
            try:
                return tuple(load_yaml_documents(text, source))
            except UnparseableError:
                raise error from None
    docs: list[YamlDocument] = []
    for index, doc in enumerate(loaded):
        value = templating.unmask_tree(doc.value, masked.originals)
        end = loaded[index + 1].line if index + 1 < len(loaded) else None
        hidden = [
            t
            for n, t in sorted(masked.hidden.items())
            if doc.line <= n and (end is None or n < end)
        ]
        if hidden and isinstance(value, dict):
            value = {**value, ELSE_BRANCHES: hidden}
        docs.append(YamlDocument(value=value, line=doc.line, node=doc.node))
    return tuple(docs)


_DUPLICATE = re.compile(r"^(\s*)([^:#\s][^:#]*?)(\s*:)")
MAX_BRANCH_RENAMES = 50


def _load_branches(masked: templating.Masked, source: str) -> list[YamlDocument]:
    """Sibling `if` blocks (no `else`) may each set the same key; YAML calls that a duplicate.

    Each later occurrence is read under its own name, `key (branch N)`, so every branch's value
    stays visible in the diff (nothing is dropped), instead of the file becoming unparseable.
    """
    lines = masked.text.split("\n")
    for attempt in range(2, MAX_BRANCH_RENAMES + 2):
        try:
            return load_yaml_documents("\n".join(lines), source)
        except UnparseableError as error:
            index = (error.line or 0) - 1
            match = _DUPLICATE.match(lines[index]) if 0 <= index < len(lines) else None
            if "duplicate key" not in error.message or match is None:
                raise
            indent, key, colon = match.groups()
            lines[index] = f"{indent}{key} (branch {attempt}){colon}" + lines[index][match.end() :]
    return load_yaml_documents("\n".join(lines), source)


@lru_cache(maxsize=512)
def read_documents(data: bytes, fmt: Format, source: str) -> tuple[YamlDocument, ...]:
    """Parse one side; CSV gives one document whose value is the list of row dicts."""
    if len(data) > MAX_STRUCTURED_BYTES:
        raise UnparseableError(f"file larger than {MAX_STRUCTURED_BYTES:,} bytes", file=source)
    if fmt == "yaml":
        docs = _load_yaml(data, source)
        if _SURROGATE_ESCAPE.search(data.decode("utf-8", "replace")):
            # YAML loaders keep an escaped pair ("\\ud83d\\ude00") as two halves: join them.
            docs = tuple(
                YamlDocument(value=_join_pairs(d.value), line=d.line, node=d.node) for d in docs
            )
            _check_surrogates([d.value for d in docs], "\\ud800", source)
        return docs
    text = decode_text(data, source)
    if fmt == "json":
        if is_jsonc_path(source):
            text = strip_jsonc(text)
        _check_depth(text, source)
        try:
            value = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise UnparseableError(
                f"invalid JSON: {exc.msg}", file=source, line=exc.lineno
            ) from exc
        return (YamlDocument(value=value, line=1, node=None),)
    dialect: type[csv.Dialect] = csv.excel_tab if source.lower().endswith(".tsv") else csv.excel
    try:
        reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect, strict=True)
        rows = list(reader)
    except csv.Error as exc:
        raise UnparseableError(f"invalid CSV: {exc}", file=source) from exc
    if not rows:
        return (YamlDocument(value=[], line=1, node=None),)
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise UnparseableError(
            "CSV header has empty or duplicate column names", file=source, line=1
        )
    records: list[dict[str, str]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise UnparseableError(
                f"CSV row has {len(row)} fields, header has {len(header)}",
                file=source,
                line=number,
            )
        records.append(dict(zip(header, row, strict=True)))
    return (YamlDocument(value=records, line=1, node=None),)
