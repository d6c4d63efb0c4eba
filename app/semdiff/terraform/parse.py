"""Reading one side of a Terraform file into addressable objects, with values and lines.

Parsing dominates the cost of Terraform analysis, so each side is parsed once (and cached by
content). HCL is read by `terraform_hcl` (tree-sitter), `.tf.json` by `terraform_json`; both give
the same shape. Values are literals, or `"${…}"` around canonical expression text (see
`terraform_expr`), which is what makes formatting-only edits (spacing, comments, attribute and
block order) compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from app.core.errors import UnparseableError
from app.core.text import decode_text
from app.semdiff.common.documents import MAX_STRUCTURED_BYTES
from app.semdiff.terraform.hcl import Attribute, HclError, read_items
from app.semdiff.terraform.tfjson import FIX, json_blocks

Flavor = Literal["hcl", "json", "tfvars"]

_LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1}


@dataclass(frozen=True, slots=True)
class TfObject:
    """One addressable thing in a file: a resource, a module call, one local, a moved block…"""

    address: str
    block_type: str
    labels: tuple[str, ...]
    body: dict[str, Any]
    line: int


@dataclass(frozen=True, slots=True)
class TfFile:
    """The objects of one side of a file, by address, in source order."""

    objects: dict[str, TfObject]


EMPTY = TfFile(objects={})


def flavor_of(path: str) -> Flavor:
    lower = path.lower()
    if lower.endswith(".tf.json"):
        return "json"
    if lower.endswith(".tfvars"):
        return "tfvars"
    return "hcl"


def unwrap(value: Any) -> Any:
    """`"${aws_instance.a}"` → `"aws_instance.a"`: references as written in moved/import blocks."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return value


@lru_cache(maxsize=256)
def parse_side(data: bytes, flavor: Flavor, source: str) -> TfFile:
    """Parse one side (cached by content: detection, analysis and re-runs share one parse).

    The result is shared between callers: treat it as read-only.
    """
    if len(data) > MAX_STRUCTURED_BYTES:
        raise UnparseableError(f"file larger than {MAX_STRUCTURED_BYTES:,} bytes", file=source)
    text = decode_text(data, source)
    collector = ObjectCollector(source)
    if flavor == "json":
        return collector.from_json(text)
    try:
        return collector.from_hcl(text, flavor)
    except HclError as exc:
        raise UnparseableError(
            exc.message, file=source, line=exc.line, hint=exc.hint or FIX
        ) from exc
    except RecursionError as exc:
        raise UnparseableError("HCL nested too deeply", file=source, hint=FIX) from exc


class ObjectCollector:
    """Turns top-level blocks into objects with Terraform addresses, rejecting duplicates."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.objects: dict[str, TfObject] = {}

    def add(
        self, block_type: str, labels: tuple[str, ...], body: dict[str, Any], line: int
    ) -> None:
        address = self.address(block_type, labels, body, line)
        if block_type == "terraform" and address in self.objects:
            # Several `terraform` blocks are legal: Terraform merges them.
            old = self.objects[address]
            merged = TfObject(address, block_type, (), {**old.body, **body}, old.line)
            self.objects[address] = merged
            return
        if address in self.objects:
            raise UnparseableError(
                f"{address} is defined twice (first at line {self.objects[address].line})",
                file=self.source,
                line=line,
                hint="remove or rename one of the two blocks",
            )
        self.objects[address] = TfObject(address, block_type, labels, body, line)

    def address(
        self, block_type: str, labels: tuple[str, ...], body: dict[str, Any], line: int
    ) -> str:
        if block_type in _LABELS and len(labels) != _LABELS[block_type]:
            raise UnparseableError(
                f"a {block_type} block needs {_LABELS[block_type]} label(s), found {len(labels)}",
                file=self.source,
                line=line,
                hint=FIX,
            )
        if block_type == "resource":
            return f"{labels[0]}.{labels[1]}"
        if block_type == "data":
            return f"data.{labels[0]}.{labels[1]}"
        if block_type == "variable":
            return f"var.{labels[0]}"
        if block_type == "locals":
            return f"local.{labels[0]}"
        if block_type == "provider":
            alias = body.get("alias")
            return (
                f"provider.{labels[0]}.{alias}"
                if isinstance(alias, str)
                else f"provider.{labels[0]}"
            )
        if block_type in ("moved", "removed"):
            return f"{block_type}.{unwrap(body.get('from'))}"
        if block_type == "import":
            return f"import.{unwrap(body.get('to'))}"
        return ".".join((block_type, *labels))

    def add_block(
        self,
        block_type: str,
        labels: tuple[str, ...],
        body: dict[str, Any],
        line: int,
        key_lines: dict[str, int] | None = None,
    ) -> None:
        if block_type == "locals":
            for name, value in body.items():
                where = key_lines.get(name, line) if key_lines else line
                self.add("locals", (name,), {"value": value}, where)
            return
        if block_type in ("moved", "removed", "import"):
            body = {k: unwrap(v) if k in ("from", "to") else v for k, v in body.items()}
        self.add(block_type, labels, body, line)

    def from_hcl(self, text: str, flavor: Flavor) -> TfFile:
        for item in read_items(text, self.source):
            if isinstance(item, Attribute):
                if flavor != "tfvars":
                    raise UnparseableError(
                        f"attribute {item.name!r} outside any block",
                        file=self.source,
                        line=item.line,
                        hint="a .tf file holds blocks only; variable values belong in .tfvars",
                    )
                self.add("tfvars", (item.name,), {"value": item.value}, item.line)
            elif flavor == "tfvars":
                raise UnparseableError(
                    "a .tfvars file holds `name = value` assignments only, found a block",
                    file=self.source,
                    line=item.line,
                )
            else:
                self.add_block(item.block_type, item.labels, item.body, item.line, item.key_lines)
        return TfFile(objects=self.objects)

    def from_json(self, text: str) -> TfFile:
        for block_type, labels, body, line in json_blocks(text, self.source):
            self.add_block(block_type, labels, body, line)
        return TfFile(objects=self.objects)
