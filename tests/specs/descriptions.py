"""GitHub's published descriptions, vendored in tests/specs/github, loaded once and compiled lazily.

- REST: `@octokit/openapi` (OpenAPI 3.0.3). Its schemas become JSON Schema 2020-12 by turning
  `nullable: true` into a `null` alternative; nothing else differs for validation.
- Webhooks: `@octokit/webhooks-schemas` (draft-07) and GitHub's own `x-webhooks` of the OpenAPI
  description, both per event and action.
- GraphQL: `@octokit/graphql-schema`'s SDL through graphql-core.

Validators are built per (operation, status) or (event, action) on first use and cached, so a
session pays only for what it checks. Regenerate the copies with scripts/vendor-github-specs.py.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import graphql
import jsonschema_rs

ROOT = Path(__file__).parent / "github"
VENDOR = "scripts/vendor-github-specs.py"
NAMED_MAPS = {"properties", "patternProperties", "definitions", "$defs"}
DRAFT_2020 = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Erratum:
    """A correction to a vendored description where it contradicts what GitHub really sends.

    Applied at load; each names its evidence. A pointer that no longer exists fails loudly, so
    an upgrade of the package that fixes (or moves) the text is noticed and the erratum removed.
    """

    pointer: str
    value: Any
    why: str


REST_ERRATA = (
    Erratum(
        "/paths/~1app~1installations/get/responses/200/content/application~1json/schema/items",
        {"$ref": "#/components/schemas/installation"},
        "apps/list-installations inlines the account as allOf[simple-user, enterprise] (a user "
        "that is also an enterprise); every other installation response (apps/get-installation, "
        "apps/get-repo-installation) says anyOf, as GitHub serves it",
    ),
    Erratum(
        "/components/schemas/webhook-check-suite-rerequested/properties/check_suite/properties/app"
        "/properties/events/items",
        {"type": "string"},
        "an App's `events` are the events it subscribed to; this enum (48 names) lacks "
        "`merge_group`, which the same App object in GitHub's check_suite.requested and "
        "check_suite.completed descriptions lists (an App subscribed to merge queues has it)",
    ),
    Erratum(
        "/components/schemas/pull-request-simple/properties/labels/items/properties/description",
        {"type": ["string", "null"]},
        "a label without a description has `description: null` (the `label` and `pull-request` "
        "schemas of the same description say nullable; pull-request-simple alone does not)",
    ),
)
WEBHOOK_ERRATA = (
    Erratum(
        "/definitions/app/properties/client_id",
        {"type": "string"},
        "GitHub's App objects carry `client_id` (GitHub's integration schema declares it)",
    ),
    Erratum(
        "/definitions/team/properties/type",
        {"type": "string", "enum": ["enterprise", "organization"]},
        "GitHub's team objects carry `type` (required by GitHub's REST `team` schema)",
    ),
    Erratum(
        "/definitions/label/properties/archived_at",
        {"type": ["string", "null"]},
        "labels can be archived: GitHub's description of 2026-10 (githubkit-schemas 26.10.21) "
        "declares `archived_at`/`archived_by` on every label",
    ),
    Erratum(
        "/definitions/label/properties/archived_by",
        {"oneOf": [{"$ref": "#/definitions/user"}, {"type": "null"}]},
        "see archived_at",
    ),
    Erratum(
        "/definitions/user/properties/user_view_type",
        {"type": "string"},
        "GitHub sends `user_view_type` on every user since late 2024 (GitHub's own x-webhooks "
        "and simple-user declare it); the 2024 community schema forbids it",
    ),
    Erratum(
        "/definitions/installation/properties/client_id",
        {"type": "string"},
        "GitHub's installation objects carry the App's `client_id` (x-webhooks and the REST "
        "installation schema declare it)",
    ),
    Erratum(
        "/definitions/installation$created/properties/requester",
        {"oneOf": [{"$ref": "#/definitions/user"}, {"type": "null"}]},
        "installation.created has `requester: null` unless a member requested the App "
        "(GitHub's x-webhooks: webhooks_user, nullable)",
    ),
    Erratum(
        "/definitions/installation/properties/events/items",
        {"type": "string"},
        "an installation's `events` are its App's subscriptions; this enum lacks "
        "`deployment_protection_rule`, the event an App with a custom deployment protection rule "
        "subscribes to (GitHub's docs, 'Creating custom deployment protection rules')",
    ),
    Erratum(
        "/definitions/app/properties/events/items",
        {"type": "string"},
        "see /definitions/installation/properties/events/items",
    ),
)


def apply_errata(doc: dict[str, Any], errata: tuple[Erratum, ...]) -> None:
    for erratum in errata:
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in erratum.pointer[1:].split("/")
        ]
        node: Any = doc
        for part in parents:
            if part not in node:
                raise SpecGap(f"erratum target {erratum.pointer} is gone: {erratum.why}")
            node = node[part]
        node[last] = erratum.value


def github_email(value: str) -> bool:
    """`format: email` as GitHub means it: bots commit as `41898282+github-actions[bot]@users.
    noreply.github.com`, which strict RFC 5321 checkers refuse but GitHub sends everywhere."""
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in value))


FORMATS = {"email": github_email}


class SpecGap(Exception):
    """The vendored descriptions cannot judge this (unknown endpoint, event, or not vendored)."""


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    literal: int
    """Characters of the template outside parameters: the most specific match wins."""


def _compile_template(template: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            # `{path}` (repository contents) spans folders; every other parameter is one segment.
            out += "(.+)" if part == "{path}" else "([^/]+)"
        else:
            out += re.escape(part)
    return re.compile(out + "$")


def nullable_to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema: `nullable: true` admits `null`."""
    if isinstance(node, list):
        return [nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in NAMED_MAPS and isinstance(value, dict):
            out[key] = {name: nullable_to_json_schema(sub) for name, sub in value.items()}
        elif key in {"enum", "required", "const", "default"}:
            out[key] = value
        else:
            out[key] = nullable_to_json_schema(value)
    if out.pop("nullable", False) is not True:
        return out
    if any(k in out for k in ("$ref", "allOf", "anyOf", "oneOf")) or "type" not in out:
        return {"anyOf": [out, {"type": "null"}]}
    kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
    out["type"] = [*kinds, "null"] if "null" not in kinds else kinds
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _pointer(*parts: str) -> str:
    """A URI fragment: JSON pointer tokens, %-encoded (`{owner}` is not allowed in a URI)."""
    return "#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="~$") for p in parts)


class RestDescription:
    """`@octokit/openapi`, trimmed: operations by concrete path, response and body validators."""

    def __init__(self, root: Path = ROOT) -> None:
        raw = json.loads((root / "openapi" / "api.github.com.json").read_text())
        apply_errata(raw, REST_ERRATA)
        self.version: str = raw["info"]["version"]
        self.doc: dict[str, Any] = nullable_to_json_schema(raw)
        self.doc["$schema"] = DRAFT_2020
        self.index: list[Operation] = []
        for line in (root / "openapi" / "operations.txt").read_text().splitlines():
            method, template, op_id = line.split(" ")
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            self.index.append(
                Operation(method, template, op_id, _compile_template(template), literal)
            )

    def operation(self, method: str, path: str) -> Operation:
        """The operation GitHub serves for a concrete request; SpecGap when none or not vendored."""
        matches = [
            op for op in self.index if op.method == method and op.pattern.match(path) is not None
        ]
        if not matches:
            raise SpecGap(
                f"GitHub's REST API (@octokit/openapi {self.version}) has no {method} {path}: "
                "a typo in the client or a route GitHub does not have"
            )
        op = max(matches, key=lambda o: o.literal)
        if method.lower() not in self.doc["paths"].get(op.template, {}):
            raise SpecGap(
                f"{method} {op.template} is GitHub's {op.operation_id}, which tests/specs/github "
                f"does not vendor: add it to OPERATIONS in {VENDOR} and re-run that script"
            )
        return op

    def declared(self, op: Operation) -> dict[str, Any]:
        item: dict[str, Any] = self.doc["paths"][op.template][op.method.lower()]
        return item

    def response_pointer(self, op: Operation, status: int) -> str | None:
        """JSON pointer of the JSON schema GitHub declares for `status`; None when no body."""
        responses = self.declared(op)["responses"]
        response = responses.get(str(status))
        if response is None:
            return None
        if "$ref" in response:
            parts = response["$ref"].removeprefix("#/").split("/")
            response = self.doc
            for part in parts:
                response = response[part]
            base = parts
        else:
            base = ["paths", op.template, op.method.lower(), "responses", str(status)]
        for media in response.get("content", {}):
            if "json" in media and "schema" in response["content"][media]:
                return _pointer(*base, "content", media, "schema")
        return None

    def request_pointer(self, op: Operation) -> str | None:
        body = self.declared(op).get("requestBody")
        if not body:
            return None
        for media in body.get("content", {}):
            if "json" in media and "schema" in body["content"][media]:
                return _pointer(
                    "paths", op.template, op.method.lower(), "requestBody", "content", media,
                    "schema",
                )  # fmt: skip
        return None

    def declares(self, op: Operation, status: int) -> bool:
        return str(status) in self.declared(op)["responses"]

    def error_pointer(self) -> str:
        return _pointer("components", "schemas", "basic-error")

    def webhook_pointer(self, event: str, action: str | None) -> str:
        """GitHub's own schema for a webhook (`x-webhooks`), by event and action."""
        op_id = event.replace("_", "-") + "/" + (action or event).replace("_", "-")
        # An event without actions (`push`) is named by the event alone.
        op_ids = {op_id} if action else {op_id, event.replace("_", "-")}
        for name, item in self.doc["x-webhooks"].items():
            if item["post"]["operationId"] in op_ids:
                return _pointer(
                    "x-webhooks", name, "post", "requestBody", "content", "application/json",
                    "schema",
                )  # fmt: skip
        raise SpecGap(
            f"GitHub's OpenAPI x-webhooks vendored here have no {event}.{action}: add the event to "
            f"WEBHOOK_EVENTS in {VENDOR} (or the simulator sends an event GitHub does not)"
        )

    @functools.cache  # noqa: B019 - one description per session
    def validator(self, pointer: str) -> Any:
        return jsonschema_rs.validator_for(
            {**self.doc, "$ref": pointer},
            validate_formats=True,
            ignore_unknown_formats=True,
            formats=FORMATS,
        )


class WebhookDescription:
    """`@octokit/webhooks-schemas`, trimmed: one validator per event and action."""

    def __init__(self, root: Path = ROOT) -> None:
        self.doc: dict[str, Any] = json.loads((root / "webhooks" / "schema.json").read_text())
        apply_errata(self.doc, WEBHOOK_ERRATA)
        self.known = set((root / "webhooks" / "events.txt").read_text().split())
        self.version = json.loads((root / "VERSIONS.json").read_text())["packages"][
            "@octokit/webhooks-schemas"
        ]["version"]

    def key(self, event: str, action: str | None) -> str:
        key = f"{event}${action}" if action else f"{event}$event"
        if key in self.doc["definitions"]:
            return key
        if key in self.known:
            raise SpecGap(
                f"webhook {event}.{action} is in @octokit/webhooks-schemas but not vendored: add "
                f"{event!r} to WEBHOOK_EVENTS in {VENDOR} and re-run that script"
            )
        raise SpecGap(
            f"@octokit/webhooks-schemas {self.version} knows no webhook {event}.{action}: "
            "GitHub does not send it (a typo in the simulator?)"
        )

    @functools.cache  # noqa: B019 - one description per session
    def validator(self, key: str) -> Any:
        return jsonschema_rs.validator_for(
            {
                "$schema": self.doc["$schema"],
                "definitions": self.doc["definitions"],
                "$ref": f"#/definitions/{key}",
            },
            validate_formats=True,
            ignore_unknown_formats=True,
            formats=FORMATS,
        )


class GraphQLDescription:
    """`@octokit/graphql-schema`: GitHub's GraphQL schema, built once."""

    def __init__(self, root: Path = ROOT) -> None:
        self.schema = graphql.build_schema(
            (root / "graphql" / "schema.graphql").read_text(), assume_valid=True
        )

    def errors(self, query: str) -> list[str]:
        """GitHub would refuse the query for these reasons (empty: it is valid)."""
        try:
            document = graphql.parse(query)
        except graphql.GraphQLError as error:
            return [f"syntax: {error.message}"]
        return [
            f"{e.message} (line {e.locations[0].line})" if e.locations else e.message
            for e in graphql.validate(self.schema, document)
        ]

    def response_errors(self, query: str, data: dict[str, Any]) -> list[tuple[str, str]]:
        """(JSON pointer, message) where `data` is not what GitHub's schema lets the query
        return: each field is read from `data` by its response key, so types, nullability and
        enum values are checked as if GitHub's server had produced them."""
        document = graphql.parse(query)

        def field(source: Any, info: graphql.GraphQLResolveInfo, **_: Any) -> Any:
            return source.get(info.path.key) if isinstance(source, dict) else None

        def type_of(value: Any, info: graphql.GraphQLResolveInfo, abstract: Any) -> str | None:
            if isinstance(value, dict) and isinstance(value.get("__typename"), str):
                return str(value["__typename"])
            keys = set(value) if isinstance(value, dict) else set()
            for candidate in info.schema.get_possible_types(abstract):
                if keys <= set(candidate.fields):
                    return str(candidate.name)
            return None

        result = graphql.execute_sync(
            self.schema, document, root_value=data, field_resolver=field, type_resolver=type_of
        )
        return [("".join(f"/{p}" for p in (e.path or [])), e.message) for e in result.errors or []]


@functools.cache
def rest() -> RestDescription:
    return RestDescription()


@functools.cache
def webhooks() -> WebhookDescription:
    return WebhookDescription()


@functools.cache
def graphql_schema() -> GraphQLDescription:
    return GraphQLDescription()
