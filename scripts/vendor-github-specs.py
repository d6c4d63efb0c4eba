#!/usr/bin/env python3
"""Vendor trimmed copies of GitHub's published API descriptions into tests/specs/github/.

    python scripts/vendor-github-specs.py            # the pinned versions below
    python scripts/vendor-github-specs.py --check    # exit 1 when the vendored copy is stale

Runs `npm pack` for each pinned package into a temporary folder (network: the npm registry only,
and only here: the tests read the vendored copies and never the network), then writes:

- `openapi/api.github.com.json`: `@octokit/openapi`'s `generated/api.github.com.json` with only the
  operations in OPERATIONS and the webhooks of WEBHOOK_EVENTS (GitHub's own `x-webhooks`), their
  `$ref`-closed components, and no examples or prose. `openapi/operations.txt` indexes every
  operation of the full description, so a test can tell a typo (GitHub has no such endpoint) from
  an endpoint this copy left out (add it to OPERATIONS and re-run).
- `webhooks/schema.json`: `@octokit/webhooks-schemas`' definitions for every action of
  WEBHOOK_EVENTS, `$ref`-closed; `webhooks/events.txt` indexes every event and action it knows.
- `graphql/schema.graphql`: `@octokit/graphql-schema`'s SDL, whole.
- each package's licence beside its copy, and `VERSIONS.json` (versions, tarball integrity).

Uses only the standard library and `npm`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

OPENAPI = ("@octokit/openapi", "23.0.2")
GRAPHQL = ("@octokit/graphql-schema", "15.26.1")
WEBHOOKS = ("@octokit/webhooks-schemas", "7.6.1")
OUT = Path(__file__).resolve().parent.parent / "tests" / "specs" / "github"

OPERATIONS = (
    # The App itself (JWT), installations and tokens, webhook deliveries.
    "apps/get-authenticated",
    "apps/list-installations",
    "apps/get-installation",
    "apps/get-repo-installation",
    "apps/get-org-installation",
    "apps/create-installation-access-token",
    "apps/list-repos-accessible-to-installation",
    "apps/list-webhook-deliveries",
    "apps/get-webhook-delivery",
    "apps/redeliver-webhook-delivery",
    "apps/create-from-manifest",
    # Repositories, pull requests, contents.
    "repos/get",
    "repos/get-content",
    "repos/list-pull-requests-associated-with-commit",
    "repos/get-collaborator-permission-level",
    "repos/get-repo-rulesets",
    "repos/compare-commits",
    "repos/compare-commits-with-basehead",
    "pulls/list",
    "pulls/get",
    "pulls/list-files",
    "pulls/list-commits",
    "pulls/list-reviews",
    "pulls/list-requested-reviewers",
    "pulls/request-reviewers",
    "pulls/remove-requested-reviewers",
    "pulls/merge",
    "git/get-blob",
    "git/get-commit",
    # Checks.
    "checks/create",
    "checks/get",
    "checks/update",
    "checks/list-annotations",
    "checks/list-for-ref",
    "checks/list-for-suite",
    "checks/get-suite",
    "checks/list-suites-for-ref",
    "checks/rerequest-run",
    # Labels, teams, users.
    "issues/list-labels-on-issue",
    "issues/add-labels",
    "issues/remove-label",
    "issues/list-labels-for-repo",
    "issues/create-label",
    # PR conversation: comments and issue events (break-glass reasons and who added a label).
    "issues/list-comments",
    "issues/create-comment",
    "issues/list-events",
    "teams/list-members-in-org",
    "teams/get-membership-for-user-in-org",
    "users/get-by-username",
    "users/get-authenticated",
    "rate-limit/get",
    # Deployments: a custom deployment protection rule's answer.
    "actions/review-custom-gates-for-run",
)
WEBHOOK_EVENTS = (
    "check_run",
    "check_suite",
    "deployment_protection_rule",
    "installation",
    "installation_repositories",
    "issue_comment",
    "merge_group",
    "ping",
    "pull_request",
    "pull_request_review",
    "push",
)
METHODS = ("get", "put", "post", "delete", "patch")
PROSE = {"description", "example", "examples", "externalDocs", "summary"}
"""Keys dropped from schema objects (never from a `properties` map, where they are field names)."""
NAMED_MAPS = {"properties", "patternProperties", "definitions", "$defs"}


def npm_pack(name: str, version: str, into: Path) -> tuple[Path, dict[str, Any]]:
    """Unpack `name@version` from the registry; (package folder, npm's pack metadata)."""
    out = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
    )
    meta = json.loads(out.stdout)[0]
    target = into / meta["filename"].removesuffix(".tgz")
    with tarfile.open(into / meta["filename"]) as tar:
        tar.extractall(target, filter="data")
    return target / "package", meta


def clean(schema: Any) -> Any:
    """A schema object without prose or vendor extensions (validation keywords only)."""
    if isinstance(schema, list):
        return [clean(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key in PROSE or key.startswith("x-") or key == "tsAdditionalProperties":
            continue
        if key in NAMED_MAPS and isinstance(value, dict):
            kept[key] = {name: clean(sub) for name, sub in value.items()}
        elif key in {"enum", "required", "const", "default"}:
            kept[key] = value
        else:
            kept[key] = clean(value)
    return kept


def refs(node: Any) -> set[str]:
    """Every `$ref` value inside `node`."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                found |= refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= refs(item)
    return found


def pointer_get(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def closure(doc: dict[str, Any], roots: Any) -> dict[str, Any]:
    """The components (by `#/a/b/c` ref) reachable from `roots`, each cleaned."""
    todo = sorted(refs(roots))
    seen: dict[str, Any] = {}
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        if not ref.startswith("#/"):
            raise SystemExit(f"external $ref {ref!r} is not supported")
        seen[ref] = clean(pointer_get(doc, ref))
        todo.extend(r for r in refs(seen[ref]) if r not in seen)
    return seen


def place(target: dict[str, Any], ref: str, value: Any) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ref.removeprefix("#/").split("/")]
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def trim_openapi(full: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the trimmed description, the index of every operation in the full one)."""
    index: list[str] = []
    by_id: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in full["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                index.append(f"{method.upper()} {path} {op['operationId']}")
                by_id[op["operationId"]] = (path, method, op)
    missing = [op for op in OPERATIONS if op not in by_id]
    if missing:
        raise SystemExit(f"{OPENAPI[0]} has no operations {missing}")
    paths: dict[str, dict[str, Any]] = {}
    for op_id in OPERATIONS:
        path, method, op = by_id[op_id]
        kept = {
            "operationId": op_id,
            "parameters": clean(op.get("parameters", [])),
            "responses": clean(op["responses"]),
        }
        if "requestBody" in op:
            kept["requestBody"] = clean(op["requestBody"])
        paths.setdefault(path, {})[method] = kept
    hooks: dict[str, Any] = {}
    for name, item in full.get("x-webhooks", {}).items():
        op = item["post"]
        event = op["operationId"].split("/", 1)[0].replace("-", "_")
        if event in WEBHOOK_EVENTS:
            hooks[name] = {
                "post": {
                    "operationId": op["operationId"],
                    "requestBody": clean(op["requestBody"]),
                }
            }
    trimmed: dict[str, Any] = {
        "openapi": full["openapi"],
        "info": {k: full["info"][k] for k in ("title", "version", "license")},
        "paths": paths,
        "x-webhooks": hooks,
    }
    for ref, value in sorted(closure(full, [paths, hooks]).items()):
        place(trimmed, ref, value)
    return trimmed, sorted(index, key=lambda line: line.split(" ")[1:])


def trim_webhooks(full: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the definitions of every action of WEBHOOK_EVENTS, closed; the index of all events)."""
    defs = full["definitions"]
    index = sorted(k for k in defs if "$" in k or k.endswith("_event"))
    roots = {
        k: defs[k]
        for k in defs
        if k.split("$", 1)[0] in WEBHOOK_EVENTS or k.removesuffix("_event") in WEBHOOK_EVENTS
    }
    kept = {k: clean(v) for k, v in roots.items()}
    for ref, value in closure(full, kept).items():
        kept[ref.removeprefix("#/definitions/")] = value
    events = [f"#/definitions/{e}_event" for e in WEBHOOK_EVENTS if f"{e}_event" in defs]
    trimmed = {
        "$schema": full["$schema"],
        "oneOf": [{"$ref": ref} for ref in events],
        "definitions": dict(sorted(kept.items())),
    }
    return trimmed, index


MIT_WEBHOOKS = """\
@octokit/webhooks-schemas {version} declares "license": "MIT" in its package.json and ships no
licence file. Its source repository (github.com/octokit/webhooks) carries this licence:

The MIT License

Copyright (c) 2018 Gregor Martynus

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
"""


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def build(tmp: Path) -> dict[Path, str]:
    """Every vendored file (relative to OUT) and its text."""
    files: dict[Path, str] = {}
    versions: dict[str, Any] = {}
    openapi_dir, meta = npm_pack(*OPENAPI, tmp)
    versions[OPENAPI[0]] = {"version": OPENAPI[1], "integrity": meta["integrity"]}
    full = json.loads((openapi_dir / "generated" / "api.github.com.json").read_text())
    trimmed, index = trim_openapi(full)
    files[Path("openapi/api.github.com.json")] = dump(trimmed)
    files[Path("openapi/operations.txt")] = "\n".join(index) + "\n"
    files[Path("openapi/LICENSE")] = (openapi_dir / "LICENSE").read_text()

    hooks_dir, meta = npm_pack(*WEBHOOKS, tmp)
    versions[WEBHOOKS[0]] = {"version": WEBHOOKS[1], "integrity": meta["integrity"]}
    trimmed, index = trim_webhooks(json.loads((hooks_dir / "schema.json").read_text()))
    files[Path("webhooks/schema.json")] = dump(trimmed)
    files[Path("webhooks/events.txt")] = "\n".join(index) + "\n"
    files[Path("webhooks/LICENSE")] = MIT_WEBHOOKS.format(version=WEBHOOKS[1])

    graphql_dir, meta = npm_pack(*GRAPHQL, tmp)
    versions[GRAPHQL[0]] = {"version": GRAPHQL[1], "integrity": meta["integrity"]}
    files[Path("graphql/schema.graphql")] = (graphql_dir / "schema.graphql").read_text()
    files[Path("graphql/LICENSE.md")] = (graphql_dir / "LICENSE.md").read_text()

    files[Path("VERSIONS.json")] = dump(
        {
            "generated_by": "scripts/vendor-github-specs.py",
            "packages": versions,
            "operations": list(OPERATIONS),
            "webhook_events": list(WEBHOOK_EVENTS),
        }
    )
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="github-specs-") as tmp:
        files = build(Path(tmp))
    stale = [
        p for p, text in files.items() if not (OUT / p).is_file() or (OUT / p).read_text() != text
    ]
    if args.check:
        for path in stale:
            sys.stderr.write(f"stale: {OUT / path}\n")
        return 1 if stale else 0
    for path, text in files.items():
        (OUT / path).parent.mkdir(parents=True, exist_ok=True)
        (OUT / path).write_text(text)
        sys.stdout.write(f"{OUT / path}: {len(text.encode()):,} bytes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
