"""A focused GraphQL endpoint: the blob-and-tree batch query Countersign sends, and nothing more.

Queries are parsed by `graphql_parse` (a small subset: constructs outside it answer a GraphQL
error naming them, so a product relying on them fails loudly).

Schema served: `Query.repository(owner, name)` → `Repository { name nameWithOwner id
object(expression: "<rev>:<path>") }`; `object` is a `Blob { text isBinary byteSize oid
abbreviatedOid isTruncated }`, a `Tree { entries { name type path oid mode object } oid }` for a
directory, or null. Like GitHub, `text` is null for binary blobs and stops at TEXT_LIMIT
(512,000) bytes for bigger ones, with `isTruncated: true` and `byteSize` the full size. Reading
an object needs the `contents` permission: without it the field is null with a FORBIDDEN error.
"""

from __future__ import annotations

from typing import Any

from app.sim.graphql_parse import Field, Fragment, GraphQLError, Token, parse, tokenize
from app.sim.state import Repo, World

__all__ = ["Field", "Fragment", "GraphQLError", "Token", "execute", "parse", "tokenize"]

TEXT_LIMIT = 512_000
NOT_ACCESSIBLE = "Resource not accessible by integration"


def _fields(selections: list[Field | Fragment], type_name: str) -> list[Field]:
    out: list[Field] = []
    for sel in selections:
        if isinstance(sel, Fragment):
            if sel.type_name == type_name:
                out.extend(_fields(sel.selections, type_name))
        else:
            out.append(sel)
    return out


def _no_field(f: Field, type_name: str) -> GraphQLError:
    """GitHub's error for a field its schema does not have on `type_name`, at the field."""
    return GraphQLError(f"Field '{f.name}' doesn't exist on type '{type_name}'", f.line, f.column)


def _scalar(f: Field, type_name: str, values: dict[str, Any]) -> Any:
    """The value of scalar field `f` of a `type_name` object, or the unknown-field error."""
    if f.name not in values:
        raise _no_field(f, type_name)
    return values[f.name]


def _object(repo: Repo, expression: str) -> tuple[str, Any] | None:
    rev, sep, path = expression.partition(":")
    sha = repo.resolve(rev) if sep else None
    if sha is None:
        return None
    tree = repo.commits[sha].tree
    path = path.strip("/")
    if path in tree:
        return "Blob", tree[path]
    if path == "" or any(p.startswith(path + "/") for p in tree):
        return "Tree", (sha, path)
    return None


def _blob_field(f: Field, data: bytes, oid: str) -> Any:
    binary = b"\x00" in data[:8000]
    if not binary:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            binary = True
    too_big = len(data) > TEXT_LIMIT
    values = {
        "__typename": "Blob",
        "isBinary": binary,
        "byteSize": len(data),
        "oid": oid,
        "abbreviatedOid": oid[:7],
        "isTruncated": too_big and not binary,
    }
    if f.name == "text":
        if binary:
            return None
        # GitHub cuts at a byte offset; a character split by the cut is dropped.
        return data[:TEXT_LIMIT].decode("utf-8", "ignore")
    return _scalar(f, "Blob", values)


def _tree_entries(repo: Repo, sha: str, directory: str) -> list[tuple[str, str, str]]:
    """(name, type, oid-or-subpath) of the direct children of `directory` at commit `sha`."""
    prefix = f"{directory}/" if directory else ""
    children: dict[str, tuple[str, str]] = {}
    for path, blob in repo.commits[sha].tree.items():
        if not path.startswith(prefix):
            continue
        name, _, rest = path[len(prefix) :].partition("/")
        if rest:
            children.setdefault(name, ("tree", prefix + name))
        else:
            children[name] = ("blob", blob)
    return [(name, kind, ref) for name, (kind, ref) in sorted(children.items())]


def _resolve_object(repo: Repo, type_name: str, value: Any, f: Field) -> dict[str, Any] | None:
    from app.sim.state import blob_sha

    if type_name == "Blob":
        data = repo.blobs[value]
        return {
            g.alias: _blob_field(g, data, blob_sha(data))
            for g in _fields(f.selections or [], "Blob")
        }
    sha, directory = value
    out: dict[str, Any] = {}
    for g in _fields(f.selections or [], "Tree"):
        if g.name == "__typename":
            out[g.alias] = "Tree"
        elif g.name == "entries":
            out[g.alias] = [
                _entry(repo, sha, directory, name, kind, ref, g)
                for name, kind, ref in _tree_entries(repo, sha, directory)
            ]
        else:
            raise _no_field(g, "Tree")
    return out


def _entry(
    repo: Repo, sha: str, directory: str, name: str, kind: str, ref: str, f: Field
) -> dict[str, Any]:
    from app.sim.state import blob_sha

    path = f"{directory}/{name}" if directory else name
    out: dict[str, Any] = {}
    for g in _fields(f.selections or [], "TreeEntry"):
        if g.name == "object":
            target: tuple[str, Any] = ("Blob", ref) if kind == "blob" else ("Tree", (sha, ref))
            out[g.alias] = _resolve_object(repo, *target, g)
        else:
            oid = blob_sha(repo.blobs[ref]) if kind == "blob" else ""
            out[g.alias] = _scalar(
                g,
                "TreeEntry",
                {
                    "name": name,
                    "type": kind,
                    "path": path,
                    "oid": oid,
                    "mode": 33188 if kind == "blob" else 16384,
                    "__typename": "TreeEntry",
                },
            )
    return out


def _resolve_repository(
    repo: Repo, f: Field, errors: list[dict[str, Any]], can_read_contents: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sub in _fields(f.selections or [], "Repository"):
        if sub.name == "object":
            if not can_read_contents:
                out[sub.alias] = None
                errors.append(
                    {
                        "type": "FORBIDDEN",
                        "path": [f.alias, sub.alias],
                        "locations": [{"line": sub.line, "column": sub.column}],
                        "message": NOT_ACCESSIBLE,
                    }
                )
                continue
            found = _object(repo, str(sub.args.get("expression", "")))
            out[sub.alias] = None if found is None else _resolve_object(repo, *found, sub)
        else:
            out[sub.alias] = _scalar(
                sub,
                "Repository",
                {
                    "name": repo.name,
                    "nameWithOwner": repo.full_name,
                    "id": f"R_{repo.id}",
                    "__typename": "Repository",
                },
            )
    return out


def execute(
    world: World, query: str, visible: set[str], *, can_read_contents: bool = True
) -> dict[str, Any]:
    """Run `query`; `visible` holds the repository full names the caller may read, and
    `can_read_contents` says whether its token has the `contents` permission."""
    try:
        root = parse(query)
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for f in _fields(root, "Query"):
            if f.name == "__typename":
                data[f.alias] = "Query"
                continue
            if f.name != "repository":
                raise _no_field(f, "Query")
            full = f"{f.args.get('owner', '')}/{f.args.get('name', '')}"
            repo = world.repo(full)
            if repo is None or repo.full_name not in visible:
                data[f.alias] = None
                errors.append(
                    {
                        "type": "NOT_FOUND",
                        "path": [f.alias],
                        "locations": [{"line": f.line, "column": f.column}],
                        "message": f"Could not resolve to a Repository with the name '{full}'.",
                    }
                )
                continue
            data[f.alias] = _resolve_repository(repo, f, errors, can_read_contents)
    except GraphQLError as exc:
        return {"errors": [exc.as_json()]}
    return {"data": data, "errors": errors} if errors else {"data": data}
