"""`facts.destinations`: the destinations a change *introduces* (present after, absent before).

Each change's field values are read on both sides; every string leaf is classified by where it
sits (its key and path, the change's kind and resource type) and what it looks like, into the
allowlist categories of `app.config.allowlists`:

- regions: `region`/`location` in Terraform, region-named keys elsewhere (`AWS_REGION`,
  `aws-region`), availability zones, the region of any ARN, Kubernetes region node labels;
- accounts: the account of any ARN, account-named keys with 12-digit ids, Google `project`,
  Azure `subscription_id` and `/subscriptions/<id>` resource ids, service-account e-mails;
- registries: container images (`image`, `image_uri`, Helm `image.repository`, kustomize
  `newName`, workflow `container:` and `docker://` actions, ECS container definitions);
- action_owners: `uses: owner/repo@ref` in workflows and composite actions;
- destinations: hosts of http(s) URLs and e-mail domains, anywhere (webhooks, SNS endpoints,
  env values, scripts), except metadata links (`$schema`, `home`, module `source`…);
- principals: AWS principals of policy documents (JSON text, `jsonencode`, decoded plan values,
  `principals { identifiers }` blocks) and principal-named attributes;
- export_buckets: where logs, replicas and exports go (replication destinations, CloudTrail,
  access logs, flow logs, Firehose, Athena output, Google log sinks).

Dockerfiles are `text` changes without values: their base images and URLs are read from the
file itself (`app.semdiff.destinations.containerfile`).

The result maps each category to the sorted values that appear after and not before; it is
added to the change's facts only when non-empty. Redacted values are never read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.config.allowlists import Category
from app.core.models import REDACTED, Change, FileDiff
from app.semdiff.destinations import containerfile
from app.semdiff.destinations import values as dv

KINDS = frozenset({"terraform", "kubernetes", "workflow", "data"})
FACT = "destinations"

_SEGMENT = re.compile(r"\[[^\]]*\]|[^.\[\]]+")
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_METADATA_KEYS = frozenset(
    {"$schema", "$id", "$ref", "home", "homepage", "icon", "sources", "documentation",
     "docs", "doc_url", "docs_url", "help_url", "helpuri", "license", "source"}
)  # fmt: skip
_METADATA_WORDS = frozenset({"homepage", "documentation", "icon", "license", "schema"})
_EXPORT_KEYS = frozenset(
    {"target_bucket", "s3_bucket_name", "bucket_arn", "s3_bucket_arn", "log_destination",
     "output_location", "destination_bucket", "destination_bucket_name"}
)  # fmt: skip
_EXPORT_WORDS = frozenset(
    {"destination", "target", "export", "replication", "backup", "archive", "sink", "logging",
     "logs", "output", "access", "s3", "gcs"}
)  # fmt: skip
_IMAGE_KEYS = frozenset({"image", "image_uri", "imageuri", "container_image", "newname"})
"""`newName` is a kustomization's image override."""
_NOT_PRINCIPAL_KEYS = frozenset({"service", "federated", "canonicaluser"})


@dataclass(frozen=True, slots=True)
class Leaf:
    """One string value, the path segments above it and the key that names it."""

    segments: tuple[str, ...]
    key: str
    text: str

    @property
    def words(self) -> tuple[str, ...]:
        return words(self.key)


@functools.lru_cache(maxsize=4096)
def words(name: str) -> tuple[str, ...]:
    """`AWS_DEFAULT_REGION`, `aws-region`, `awsRegion` → their lower-case words."""
    return tuple(w.lower() for w in _WORD.findall(name))


def _label(segment: str) -> str:
    return segment[1:-1] if segment.startswith("[") else segment


def leaves(path: str, value: Any) -> Iterator[Leaf]:
    """Every string leaf of `value` (found at field `path`), with its path and naming key.

    `env[AWS_REGION].value` and `{name: AWS_REGION, value: …}` items are named by their `name`.
    """
    stack: list[tuple[tuple[str, ...], str, Any]] = []
    segments = tuple(_SEGMENT.findall(path))
    stack.append((segments, _key(segments, None), value))
    while stack:
        where, key, item = stack.pop()
        if isinstance(item, str):
            yield Leaf(where, key, item)
        elif isinstance(item, dict):
            named = item.get("name") if isinstance(item.get("name"), str) else None
            for k, v in item.items():
                sub = (*where, str(k))
                stack.append((sub, _key(sub, named if k == "value" else None), v))
        elif isinstance(item, list | tuple):
            stack.extend((where, key, v) for v in item)


def _key(segments: Sequence[str], named: str | None) -> str:
    """The name of the last segment; a `value` under `env[NAME]` (or beside `name:`) is NAME."""
    if named:
        return named
    names = [s for s in segments if not s.startswith("[")]
    if not names:
        return ""
    if names[-1] == "value" and len(segments) >= 2 and segments[-2].startswith("["):
        return _label(segments[-2])
    return names[-1]


def _terraform_key(change: Change, leaf: Leaf) -> Leaf:
    """A variable's `default`, a local's or a tfvars value is named by the variable or local."""
    address = change.address
    top = leaf.segments[:1]
    if top in (("default",), ("value",)) and address.startswith(("var.", "local.", "tfvars.")):
        return Leaf(leaf.segments, address.split(".", 1)[1], leaf.text)
    return leaf


Found = Iterator[tuple[Category, str]]


def classify(change: Change, leaf: Leaf) -> Found:
    """The (category, value) pairs one string leaf names."""
    text = leaf.text
    if not text or text == REDACTED:
        return
    key = leaf.key.lower()
    if key not in _METADATA_KEYS and not _METADATA_WORDS.intersection(leaf.words):
        yield from (("destinations", h) for h in dv.url_hosts(text))
        yield from (("destinations", d) for d in dv.email_domains(text))
    for region, account in dv.arn_parts(text):
        if region:
            yield "regions", region
        if account:
            yield "accounts", account
    yield from (("accounts", a) for a in dv.embedded_accounts(text))
    yield from (("principals", p) for p in dv.policy_principals(text))
    if change.kind == "terraform":
        yield from (("registries", r) for r in dv.images_in_text(text))
    if not dv.literal(text):
        return
    yield from _by_key(change, leaf)


def _by_key(change: Change, leaf: Leaf) -> Found:
    text, key, names = leaf.text, leaf.key.lower(), leaf.words
    terraform = change.kind == "terraform"
    family = _family(change)
    if "region" in names or "regions" in names or key.endswith("kubernetes.io/region"):
        region = dv.region_of(text, strict=not terraform)
        if region:
            yield "regions", region
    elif terraform and key == "location" and family in ("google", "azurerm"):
        region = dv.region_of(text, strict=False)
        if region:
            yield "regions", region
    if "zone" in names or "zones" in names:
        region = dv.region_of_zone(text)
        if region:
            yield "regions", region
    if "account" in names or "accounts" in names:
        if dv.ACCOUNT_ID.fullmatch(text.strip()):
            yield "accounts", text.strip()
    if "project" in names and (
        (terraform and family == "google" and key in ("project", "project_id"))
        or any(w in names for w in ("gcp", "google", "gcloud", "cloudsdk"))
    ):
        if dv.GCP_PROJECT.fullmatch(text.strip()):
            yield "accounts", text.strip()
    if "subscription" in names and dv.GUID.fullmatch(text.strip().lower()):
        yield "accounts", text.strip().lower()
    yield from _principals(leaf)
    yield from _images(change, leaf)
    if key == "uses" and change.kind in ("workflow", "data"):
        owner = dv.action_owner(text)
        if owner:
            yield "action_owners", owner
    if _export_place(change, leaf):
        bucket = dv.bucket_name(text)
        if bucket:
            yield "export_buckets", bucket


def _family(change: Change) -> str:
    """`google`, `aws`, `azurerm`… for Terraform resources and providers."""
    facts = change.facts
    name = facts.get("resource_type") or facts.get("provider") or ""
    return str(name).split("_", 1)[0]


def _principals(leaf: Leaf) -> Found:
    named = any("principal" in _label(s).lower() for s in leaf.segments)
    if not named or leaf.key.lower() in _NOT_PRINCIPAL_KEYS:
        return
    principal = dv.principal_of(leaf.text)
    if principal is not None:
        yield "principals", principal


def _images(change: Change, leaf: Leaf) -> Found:
    key = leaf.key.lower()
    parent = _label(leaf.segments[-2]).lower() if len(leaf.segments) >= 2 else ""
    is_image = key in _IMAGE_KEYS or (parent == "image" and key == "repository")
    if change.kind == "workflow":
        is_image = is_image or key == "container" or leaf.text.startswith("docker://")
    elif key == "uses" and leaf.text.startswith("docker://"):
        is_image = True
    if parent == "image" and key == "registry":
        host = leaf.text.strip().lower()
        if host and dv.image_repository(f"{host}/x") == f"{host}/x":
            yield "registries", host
        return
    if is_image:
        repository = dv.image_repository(leaf.text)
        if repository:
            yield "registries", repository


def _export_place(change: Change, leaf: Leaf) -> bool:
    key = leaf.key.lower()
    if key in _EXPORT_KEYS:
        return True
    if key == "destination":
        return leaf.text.strip().startswith(("storage.googleapis.com/", "arn:aws:s3:::"))
    if "bucket" not in leaf.words:
        return False
    above = {w for s in leaf.segments[:-1] for w in words(_label(s))}
    return bool(above & _EXPORT_WORDS) or bool(set(leaf.words) & _EXPORT_WORDS)


def _side(change: Change, after: bool) -> dict[Category, set[str]]:
    found: dict[Category, set[str]] = {}
    for field in change.fields:
        value = field.after if after else field.before
        if value is None:
            continue
        for leaf in leaves(field.path, value):
            if change.kind == "terraform":
                leaf = _terraform_key(change, leaf)
            for category, item in classify(change, leaf):
                found.setdefault(category, set()).add(item)
    return found


def introduced(change: Change) -> dict[str, list[str]]:
    """Category → values the change adds (sorted); empty for kinds that name no destinations."""
    if change.kind not in KINDS or not change.fields:
        return {}
    before = _side(change, after=False)
    after = _side(change, after=True)
    out: dict[str, list[str]] = {}
    for category, values in sorted(after.items()):
        new = values - before.get(category, set())
        if new:
            out[category] = sorted(new)
    return out


def with_destinations(changes: Iterable[Change], files: Iterable[FileDiff] = ()) -> list[Change]:
    """The changes, each carrying `facts.destinations` when it introduces any.

    `files` are the changed files: a Dockerfile's `text` change gets what its lines introduce
    (`app.semdiff.destinations.containerfile`), since the text analyzer keeps no values.
    """
    containerfiles = {
        f.path: f for f in files if containerfile.is_containerfile(f.path) and not f.is_binary
    }
    out = []
    for change in changes:
        found = introduced(change)
        file = containerfiles.get(change.file)
        if file is not None and change.kind == "text" and not change.unparseable:
            found = {**found, **containerfile.introduced(file)}
            del containerfiles[change.file]  # one change per file carries them
        if found:
            change = change.model_copy(update={"facts": {**change.facts, FACT: found}})
        out.append(change)
    return out
