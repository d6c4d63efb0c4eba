"""A kustomization read as what it does: which resources, patches, images and generators change.

A reviewer reads `images: [{name: web, newTag: 1.42.0}]` as "web now runs 1.42.0", so every entry
of a keyed section is its own change (`images[web]`, `resources[../../base]`,
`patches[Deployment/web]`) with field paths below it, and a tag bump is one field change.
`namespace`, `namePrefix`, `nameSuffix` are one change each. Generator literals (`KEY=value`) are
compared key by key; every `secretGenerator` value is redacted. The changes are `data` changes
with `facts.format: kustomize` and `facts.section`, never Kubernetes objects.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable
from typing import Any

from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change, FieldChange, FileDiff
from app.core.yamlsafe import YamlDocument, line_of
from app.semdiff.common.data import diff_tree
from app.semdiff.common.documents import read_documents
from app.semdiff.common.structure import presence_op

__all__ = ["analyze", "diff_sections", "entries", "read_side"]

LIST_SECTIONS = (
    "resources", "components", "bases", "crds", "generators", "transformers", "validators",
    "configurations", "openapi",
)  # fmt: skip
SCALARS = ("namespace", "namePrefix", "nameSuffix")
Key = tuple[str, str | None]
Entries = dict[Key, Any]


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:12]


def _name_key(item: Any) -> str:
    return str(item.get("name")) if isinstance(item, dict) and "name" in item else _digest(item)


def _target(target: Any) -> str | None:
    if not isinstance(target, dict):
        return None
    parts = [target.get("kind"), target.get("namespace"), target.get("name")]
    text = "/".join(str(p) for p in parts if p)
    return text or (str(target.get("labelSelector")) if target.get("labelSelector") else None)


def _patch_key(item: Any) -> str:
    """A patch is known by its file, else by what it targets, else by its content."""
    if isinstance(item, str):
        return item if "\n" not in item.strip() else f"inline:{_digest(item)}"
    if isinstance(item, dict):
        if isinstance(item.get("path"), str):
            return str(item["path"])
        target = _target(item.get("target"))
        if target:
            return target
    return f"inline:{_digest(item)}"


def _literals(item: Any) -> Any:
    """A generator entry with `literals` turned into {KEY: value}, so keys are compared."""
    if not isinstance(item, dict) or not isinstance(item.get("literals"), list):
        return item
    literals: dict[str, Any] = {}
    for literal in item["literals"]:
        key, _, value = str(literal).partition("=")
        literals[key] = value
    return {**item, "literals": literals}


_REF = re.compile(r"([?&])(ref|version)=[^&#]*&?")
_RELEASE = re.compile(r"/releases/download/[^/]+/")
_VERSION_SEGMENT = re.compile(r"/v?\d+(?:\.\d+)+(?:[-+][\w.]+)?(?=/)")


def _remote(text: str) -> bool:
    return "://" in text or text.startswith(("github.com/", "git@"))


def _list_key(item: Any) -> str:
    """A remote base is known by its URL without `?ref=`, release tag or version segment: bumping
    either is an update of the same entry (lws `…//config/default?ref=v0.7.0` → `v0.8.0`,
    jobset's `…/releases/download/v0.10.1/manifests.yaml`, kyverno's
    `raw.githubusercontent.com/kyverno/kyverno/v1.5.4/…`), not a removal and an addition."""
    if isinstance(item, dict):
        return _digest(item)
    text = str(item)
    if _remote(text):
        text = _RELEASE.sub("/releases/download/*/", text)  # jobset's v0.10.1 → v0.11.0
        text = _VERSION_SEGMENT.sub("/*", text)  # kyverno's …/kyverno/v1.5.4/… → v1.5.5
        return _REF.sub(r"\1", text).rstrip("?&")
    return text


def _source(key: str) -> tuple[str, str] | None:
    """Where a remote entry is read from: its repository (host and first two path segments) and
    the name of what it reads there (the last path segment)."""
    if not _remote(key):
        return None
    rest = key.split("://", 1)[-1].split("?", 1)[0]
    parts = [p for p in rest.replace(":", "/").split("/") if p]
    return ("/".join(parts[:3]).lower(), parts[-1]) if len(parts) >= 3 else None


def pair_remote(base: Entries, head: Entries) -> Entries:
    """`head` with a remote entry that replaces the only removed remote entry of the same name from
    the same repository in the same section keyed like it: kyverno's `…/v1.5.5/definitions/
    release/install.yaml` → `…/v1.6.0-rc2/config/install.yaml` is the same upstream install at a
    new version whose path moved, an update of one entry rather than a removal. Another name
    (`//monitoring` → `//logging`) stays a removal and an addition."""
    groups: dict[tuple[str, tuple[str, str]], tuple[list[Key], list[Key]]] = {}
    for side, keys in (
        (0, [k for k in base if k not in head]),
        (1, [k for k in head if k not in base]),
    ):
        for key in keys:
            source = _source(key[1]) if key[0] in LIST_SECTIONS and key[1] else None
            if source is not None:
                groups.setdefault((key[0], source), ([], []))[side].append(key)
    renamed = {
        added[0]: removed[0]
        for removed, added in groups.values()
        if len(removed) == 1 and len(added) == 1
    }
    return {renamed.get(k, k): v for k, v in head.items()} if renamed else head


KEYED: dict[str, Callable[[Any], str]] = {
    "images": _name_key,
    "replicas": _name_key,
    "helmCharts": _name_key,
    "configMapGenerator": _name_key,
    "secretGenerator": _name_key,
    "patches": _patch_key,
    "patchesStrategicMerge": _patch_key,
    "patchesJson6902": _patch_key,
}


def entries(value: Any) -> dict[tuple[str, str | None], Any]:
    """{(section, entry key or None): value} of one kustomization."""
    out: dict[tuple[str, str | None], Any] = {}
    if not isinstance(value, dict):
        return out
    for section, content in value.items():
        name = str(section)
        if name in LIST_SECTIONS and isinstance(content, list):
            for item in content:
                out[(name, _list_key(item))] = item
        elif name in KEYED and isinstance(content, list):
            for item in content:
                out[(name, KEYED[name](item))] = (
                    _literals(item) if name.endswith("Generator") else item
                )
        else:
            out[(name, None)] = content
    return out


def read_side(
    data: bytes | None, path: str, read: Callable[[Any], dict[tuple[str, str | None], Any]]
) -> tuple[dict[tuple[str, str | None], Any], YamlDocument | None]:
    """The entries of one side (none when it does not exist) and its document."""
    if data is None:
        return {}, None
    docs = [d for d in read_documents(data, "yaml", path) if d.value is not None]
    if len(docs) > 1:
        raise UnparseableError(
            f"expected one YAML document, this file has {len(docs)}",
            file=path,
            line=docs[1].line,
        )
    if docs and not isinstance(docs[0].value, dict):
        raise UnparseableError("this file must be a YAML mapping", file=path, line=docs[0].line)
    return read(docs[0].value if docs else None), docs[0] if docs else None


def _line(doc: YamlDocument | None, section: str, value: Any, content: Any) -> int | None:
    if doc is None:
        return None
    if isinstance(content, list) and value in content:
        return line_of(doc.node, (section, content.index(value))) or line_of(doc.node, (section,))
    return line_of(doc.node, (section,)) or doc.line


def _image_facts(before: Any, after: Any) -> dict[str, Any]:
    def get(item: Any, key: str) -> Any:
        return item.get(key) if isinstance(item, dict) else None

    facts: dict[str, Any] = {"image": get(after, "name") or get(before, "name")}
    for key, fact in (("newName", "new_name"), ("newTag", "new_tag"), ("digest", "digest")):
        facts[f"{fact}_before"] = None if get(before, key) is None else str(get(before, key))
        facts[f"{fact}_after"] = None if get(after, key) is None else str(get(after, key))
    return facts


def _secret_fields(before: Any, after: Any, address: str) -> list[FieldChange]:
    """A generator's literal values are all secret: say which keys changed, never the values."""

    def split(item: Any) -> tuple[Any, dict[str, Any]]:
        if not isinstance(item, dict):
            return item, {}
        literals = item.get("literals")
        rest = {k: v for k, v in item.items() if k != "literals"}
        return rest, literals if isinstance(literals, dict) else {}

    b_rest, b_lit = split(before)
    a_rest, a_lit = split(after)
    fields = diff_tree(b_rest, a_rest, address)
    for key in sorted({*b_lit, *a_lit}):
        if key in b_lit and key in a_lit and b_lit[key] == a_lit[key]:
            continue
        fields.append(
            FieldChange(
                path=f"{address}.literals.{key}",
                before=REDACTED if key in b_lit else None,
                after=REDACTED if key in a_lit else None,
            )
        )
    return fields


FactsFor = Callable[[str, Any, Any], dict[str, Any]]


def _kustomize_facts(section: str, before: Any, after: Any) -> dict[str, Any]:
    return _image_facts(before, after) if section == "images" else {}


def analyze(file: FileDiff) -> list[Change]:
    """One change per section entry (or scalar) that differs between base and head."""
    base, base_doc = read_side(file.base, file.old_path or file.path, entries)
    head, head_doc = read_side(file.head, file.path, entries)
    head = pair_remote(base, head)
    # A kustomization added or deleted as a whole builds new objects or stops building them:
    # its namespace/namePrefix renames nothing that exists (kustomize.scope-change reads it).
    status = "added" if file.base is None else "removed" if file.head is None else "changed"
    if status == "changed" and _replaced(base, file.old_path or file.path, head, file.path):
        status = "replaced"

    def facts(section: str, before: Any, after: Any) -> dict[str, Any]:
        return {"kustomization": status, **_kustomize_facts(section, before, after)}

    return diff_sections(
        file.path,
        "kustomize",
        (base, base_doc),
        (head, head_doc),
        facts,
        secret_sections=("secretGenerator",),
    )


def _built(found: Entries, path: str) -> set[str]:
    """The entries a kustomization builds from, as repository paths (remote URLs as written)."""
    folder = posixpath.dirname(path)
    out: set[str] = set()
    for section, entry in found:
        if section in ("resources", "bases", "components") and entry is not None:
            remote = _remote(entry)
            out.add(entry if remote else posixpath.normpath(posixpath.join(folder, entry)))
    return out


def _replaced(base: Entries, base_path: str, head: Entries, head_path: str) -> bool:
    """Both sides build from entries and share none: a kustomization that git pairs with another
    by similarity (flux2-kustomize-helm-example 8cee66461b: `infrastructure/sources/` renamed to
    `infrastructure/controllers/` with every resource swapped) builds other objects, so its
    namespace renames nothing that was built before."""
    before, after = _built(base, base_path), _built(head, head_path)
    return bool(before) and bool(after) and not before & after


def diff_sections(
    path: str,
    fmt: str,
    base_side: tuple[Entries, YamlDocument | None],
    head_side: tuple[Entries, YamlDocument | None],
    facts_for: FactsFor,
    *,
    secret_sections: tuple[str, ...] = (),
) -> list[Change]:
    """`data` changes for the entries of a sectioned config file (kustomize, Chart.yaml)."""
    base, base_doc = base_side
    head, head_doc = head_side
    out: list[Change] = []
    for key in sorted({*base, *head}, key=lambda k: (k[0], k[1] or "")):
        section, entry = key
        before, after = base.get(key), head.get(key)
        address = section if entry is None else f"{section}[{entry}]"
        if section in secret_sections:
            fields = _secret_fields(before, after, address)
        else:
            fields = diff_tree(before, after, address)
        op = presence_op(key in base, key in head)
        if not fields and op == "update":
            continue
        doc = base_doc if op == "delete" else head_doc
        root = doc.value if doc is not None else None
        content = root.get(section) if isinstance(root, dict) else None
        facts: dict[str, Any] = {"format": fmt, "section": section, "entry": entry}
        facts.update(facts_for(section, before, after))
        out.append(
            Change(
                file=path,
                kind="data",
                address=address,
                op=op,
                fields=tuple(fields),
                facts=facts,
                line=_line(doc, section, before if op == "delete" else after, content),
            )
        )
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out
