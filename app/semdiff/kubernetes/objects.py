"""The Kubernetes analyzer: which objects of a manifest file are created, updated or deleted, with
field paths and the facts risk rules need (replicas, images, privileges, RBAC wildcards).

Objects are matched by API group, kind, namespace and name across every manifest of the PR
(`kubernetes_scope`), so reordering documents, keys or containers, or moving an object to another
file, is no change; fields the API server writes (status, resourceVersion,
managedFields…) are ignored because a manifest exported with `kubectl get -o yaml` carries them.
Secret values never leave this module: a Secret's `data`/`stringData` values and secret-named
`env` values are sealed (compared by digest) before diffing and shown only as REDACTED.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change, FieldChange, FileDiff, Op
from app.core.redact import is_k8s_secret_data, is_secret_literal, is_secret_name
from app.core.yamlsafe import YamlDocument, line_of
from app.semdiff.common import templating
from app.semdiff.common.conditions import conditional_blocks
from app.semdiff.common.data import diff_tree, order_change, read_side
from app.semdiff.common.documents import Format, structured_format
from app.semdiff.common.identity import Placed
from app.semdiff.common.structure import default_list_key
from app.semdiff.kubernetes.conditional import Path, conditional_paths
from app.semdiff.kubernetes.facts import (
    CONTAINER_LISTS,
    POD_SPEC_PATH,
    WORKLOADS,
    get,
    object_facts,
    pod_spec,
)

__all__ = ["K8sObject", "analyze", "detect", "object_change", "objects_of"]

CLUSTER_SCOPED = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition",
        "ClusterRole", "ClusterRoleBinding", "PriorityClass", "IngressClass", "RuntimeClass",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CSIDriver", "CSINode",
        "VolumeAttachment", "VolumeSnapshotClass", "PodSecurityPolicy", "ClusterIssuer",
        "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
    }
)  # fmt: skip
# Lists whose items Kubernetes itself merges by `name` (strategic merge patch keys).
NAME_KEYED = frozenset(
    {*CONTAINER_LISTS, "volumes", "env", "ports", "volumeMounts", "volumeDevices",
     "imagePullSecrets"}
)  # fmt: skip
NOISE_METADATA = ("generation", "resourceVersion", "uid", "creationTimestamp", "managedFields")
NOISE_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


@dataclass(frozen=True)
class _Sealed:
    """A secret value, compared by digest and rendered as REDACTED; the value itself is gone."""

    digest: str


@dataclass(frozen=True)
class K8sObject:
    """One object of one side: identity, cleaned body (noise dropped, secrets sealed), line."""

    address: str
    kind: str
    namespace: str | None
    name: str
    api_version: str
    body: dict[str, Any]
    line: int | None
    conditional: frozenset[Path] = frozenset()
    """Paths that render only when a template value enables them (`kubernetes.conditional`)."""

    @property
    def api_group(self) -> str:
        """`apps` for `apps/v1`, `""` for the core group (`v1`)."""
        return self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""

    @property
    def identity(self) -> tuple[str, str, str | None, str]:
        """What makes two definitions one cluster object: API group, kind, namespace, name."""
        return (self.api_group, self.kind, self.namespace, self.name)


def detect(docs: Sequence[YamlDocument]) -> bool:
    """True when every non-empty document is a Kubernetes object or a `kind: List` of them."""
    values = [d.value for d in docs if d.value is not None]
    return bool(values) and all(_is_object(v) or _is_list(v) for v in values)


def _is_object(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("apiVersion"), str)
        and isinstance(value.get("kind"), str)
        and bool(value["apiVersion"])
        and bool(value["kind"])
    )


def _is_list(value: Any) -> bool:
    return (
        _is_object(value)
        and str(value["kind"]).endswith("List")
        and isinstance(value.get("items"), list)
    )


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """Create/update/delete per object of one file, regardless of document order.

    The dispatcher matches objects over every manifest of the PR (`kubernetes_scope`); this is
    the same matching over one file.
    """
    del rule  # `environment` is added by the dispatcher
    from app.semdiff.kubernetes.scope import diff_manifests

    base_source = file.old_path or file.path
    base = objects_of(file.base, base_source)
    head = objects_of(file.head, file.path)
    return diff_manifests(
        [Placed(base, 0, base_source, file.path)], [Placed(head, 0, file.path, file.path)]
    )


def objects_of(data: bytes | None, path: str) -> dict[str, K8sObject]:
    """The objects of one side of a manifest (none when the side does not exist), by address."""
    fmt: Format = "json" if structured_format(path) == "json" else "yaml"
    blocks: list[tuple[int, int]] = []
    if data is not None and fmt == "yaml" and templating.has_actions(data):
        try:
            blocks = conditional_blocks(data.decode("utf-8", "replace"), path)
        except UnparseableError:
            blocks = []  # `{{` in plain text (a JSON string): no condition softens anything
    return _objects(read_side(data, fmt, path), path, blocks)


def _objects(
    docs: Sequence[YamlDocument], source: str, blocks: Sequence[tuple[int, int]] = ()
) -> dict[str, K8sObject]:
    out: dict[str, K8sObject] = {}
    for number, doc in enumerate(docs, start=1):
        if not _is_object(doc.value):
            raise UnparseableError(
                f"document {number} is not a Kubernetes object",
                file=source,
                line=doc.line,
                hint="every document needs apiVersion and kind",
            )
        if _is_list(doc.value):
            items = doc.value["items"]
            for index, item in enumerate(items):
                line = line_of(doc.node, ("items", index)) or doc.line
                if not _is_object(item):
                    raise UnparseableError(
                        f"item {index} of the {doc.value['kind']} is not a Kubernetes object",
                        file=source,
                        line=line,
                        hint="every item needs apiVersion and kind",
                    )
                _add(out, _object(item, line), source)
        else:
            obj = _object(doc.value, doc.line)
            paths = conditional_paths(doc.node, blocks, doc.line)
            _add(out, dataclasses.replace(obj, conditional=paths) if paths else obj, source)
    return out


def _add(out: dict[str, K8sObject], obj: K8sObject, source: str) -> None:
    if obj.address in out:
        raise UnparseableError(
            f"{obj.address} is defined twice (first at line {out[obj.address].line})",
            file=source,
            line=obj.line,
            hint="kubectl would apply both and keep the last; keep one definition",
        )
    out[obj.address] = obj


def _object(value: dict[str, Any], line: int | None) -> K8sObject:
    kind = str(value["kind"])
    meta = value.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name") or (f"{meta['generateName']}*" if meta.get("generateName") else "")
    name = str(name) or "<unnamed>"
    namespace: str | None = None
    if kind not in CLUSTER_SCOPED:
        namespace = str(meta.get("namespace") or "default")
    address = f"{kind}/{namespace}/{name}" if namespace is not None else f"{kind}/{name}"
    return K8sObject(
        address=address,
        kind=kind,
        namespace=namespace,
        name=name,
        api_version=str(value["apiVersion"]),
        body=_clean(value, kind),
        line=line,
    )


def _clean(value: dict[str, Any], kind: str) -> dict[str, Any]:
    """A copy without server-written noise, with secret values sealed (the cache stays intact)."""
    body = {k: _seal_env(v, str(k)) for k, v in value.items() if k != "status"}
    meta = body.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in NOISE_METADATA}
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations = {k: v for k, v in annotations.items() if k not in NOISE_ANNOTATIONS}
            if annotations:
                meta["annotations"] = annotations
            else:
                del meta["annotations"]
        body["metadata"] = meta
    for section, data in list(body.items()):
        if is_k8s_secret_data(kind, str(section)):
            body[section] = (
                {k: _seal(v) for k, v in data.items()} if isinstance(data, dict) else _seal(data)
            )
    return body


def _seal(value: Any) -> _Sealed | None:
    if value is None:
        return None
    raw = json.dumps(value, sort_keys=True, default=str).encode()
    return _Sealed(hashlib.sha256(raw).hexdigest())


def _seal_env(value: Any, key: str = "") -> Any:
    """Seal `value` of `env` items whose name says secret (`DB_PASSWORD`), at any depth.

    A value with no `env` list anywhere is returned as it is, not copied: `repr` (C speed) shows
    every such list as `'env': [`, and a CRD's megabytes of schema hold none (its `env` is a
    mapping). Parsed values are shared and never changed in place, so sharing is safe."""
    if key == "env" and isinstance(value, list):
        return _seal_walk(value, key)
    if isinstance(value, dict | list) and "'env': [" not in repr(value):
        return value
    return _seal_walk(value, key)


def _seal_walk(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _seal_walk(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        if key == "env":
            return [_seal_env_item(item) for item in value]
        return [_seal_walk(v, "") for v in value]
    return value


def _seal_env_item(item: Any) -> Any:
    if (
        isinstance(item, dict)
        and is_secret_name(str(item.get("name", "")))
        and is_secret_literal(item.get("value"))
    ):
        return {**_seal_walk(item, ""), "value": _seal(item["value"])}
    return _seal_walk(item, "")


def _unseal(value: Any) -> Any:
    if isinstance(value, _Sealed):
        return REDACTED
    if isinstance(value, dict):
        return {k: _unseal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unseal(v) for v in value]
    return value


def list_key(path: str, items: Sequence[Any]) -> str | None:
    """Containers, volumes, env, ports… by `name`; RBAC `rules` whole; else the default."""
    field = path.rsplit(".", 1)[-1]
    if field == "rules":
        return None
    if field not in NAME_KEYED:
        return default_list_key(path, items)
    if not all(isinstance(i, dict) for i in items):
        return None
    candidates = ("name", "containerPort", "port") if field == "ports" else ("name",)
    for candidate in candidates:
        values = [i.get(candidate) for i in items]
        if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            return candidate
    return None


def _fields(before: K8sObject | None, after: K8sObject | None) -> list[FieldChange]:
    b = before.body if before is not None else None
    a = after.body if after is not None else None
    out = [
        FieldChange(path=f.path, before=_unseal(f.before), after=_unseal(f.after))
        for f in diff_tree(b, a, list_key=list_key)
    ]
    # Init containers run one after another: their order is behaviour, not formatting.
    current = after or before
    kind = current.kind if current is not None else ""
    inits = [get(pod_spec(kind, body), "initContainers") for body in (b, a)]
    if kind in WORKLOADS and all(
        isinstance(i, list) and list_key("x.initContainers", i) == "name" and _unique_names(i)
        for i in inits
    ):
        path = f"{POD_SPEC_PATH.get(kind, 'spec.template.spec')}.initContainers"
        moved = order_change(path, inits[0], inits[1], "name")
        out.extend([moved] if moved else [])
    return out


def _unique_names(items: Any) -> bool:
    names = [i.get("name") for i in items] if isinstance(items, list) else []
    return len(set(names)) == len(names)


def object_change(
    path: str,
    before: K8sObject | None,
    after: K8sObject | None,
    op: Op,
    *,
    old_file: str | None = None,
) -> Change | None:
    """The change of one object between its two definitions; None when nothing differs."""
    fields = _fields(before, after)
    if op == "update" and not fields:
        return None
    current = after or before
    assert current is not None
    return Change(
        file=path,
        kind="kubernetes",
        address=current.address,
        op=op,
        fields=tuple(fields),
        facts=object_facts(before, after),
        line=current.line,
        old_file=old_file,
    )
