"""The facts risk rules read from a Kubernetes object: replicas, images, privileges, Service
type, RBAC wildcards, each with its before side so that a rule reports what a change introduces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.semdiff.kubernetes.conditional import without

if TYPE_CHECKING:
    from app.semdiff.kubernetes.objects import K8sObject

__all__ = ["CONTAINER_LISTS", "POD_SPEC_PATH", "WORKLOADS", "get", "object_facts", "pod_spec"]

WORKLOADS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
)
POD_SPEC_PATH = {"Pod": "spec", "CronJob": "spec.jobTemplate.spec.template.spec"}
REPLICATED = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def get(body: Any, *keys: str) -> Any:
    for key in keys:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def object_facts(before: K8sObject | None, after: K8sObject | None) -> dict[str, Any]:
    current = after or before
    assert current is not None
    b = before.body if before is not None else None
    a = after.body if after is not None else None
    facts: dict[str, Any] = {
        "object_kind": current.kind,
        "namespace": current.namespace,
        "name": current.name,
        "api_version": current.api_version,
    }
    if _hook(current.body):
        facts["hook"] = True  # a Helm/Argo CD hook: created for a sync, deleted after it
    if current.name.endswith("*"):
        facts["generated_name"] = True  # `generateName`: a new object on every apply
    kind = current.kind
    if kind in WORKLOADS:
        facts["replicas_before"] = _replicas(kind, b)
        facts["replicas_after"] = _replicas(kind, a)
        facts["images_before"] = _images(kind, b)
        facts["images_after"] = _images(kind, a)
        facts.update(_security(kind, a))
        before_security = _security(kind, b) if b is not None else {}
        # Only what this change grants: an unchanged privileged DaemonSet is not news (#24).
        facts["privileges_added"] = [
            k for k, v in _security(kind, a).items() if v and not before_security.get(k)
        ]
        if after is not None and after.conditional:
            certain = _security(kind, without(a, after.conditional))
            maybe = [k for k, v in facts.items() if v is True and certain.get(k) is False]
            if maybe:
                facts["conditional_privileges"] = maybe
    if kind == "Service":
        facts["service_type_before"] = _service_type(b)
        facts["service_type_after"] = _service_type(a)
    if kind in ("Role", "ClusterRole"):
        facts["rbac_wildcard"] = _wildcards(a)
        facts["rbac_wildcard_before"] = _wildcards(b)
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        facts["cluster_admin"] = _cluster_admin(a)
        facts["cluster_admin_before"] = _cluster_admin(b)
    return facts


def pod_spec(kind: str, body: Any) -> dict[str, Any] | None:
    path = POD_SPEC_PATH.get(kind, "spec.template.spec")
    spec = get(body, *path.split("."))
    return spec if isinstance(spec, dict) else None


def _containers(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for field in CONTAINER_LISTS:
        items = get(spec, field)
        if isinstance(items, list):
            out.extend(i for i in items if isinstance(i, dict))
    return out


def _replicas(kind: str, body: Any) -> int | None:
    """Declared replicas (Kubernetes defaults an absent count to 1); None for no object."""
    if body is None:
        return None
    if kind == "Pod":
        return 1
    if kind not in REPLICATED:
        return None
    value = get(body, "spec", "replicas")
    if value is None:
        return 1
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _images(kind: str, body: Any) -> dict[str, str] | None:
    if body is None:
        return None
    return {
        str(c.get("name", index)): str(c.get("image", ""))
        for index, c in enumerate(_containers(pod_spec(kind, body)))
    }


def _security(kind: str, body: Any) -> dict[str, bool]:
    """Privilege facts of the object as it will run (all False when it is deleted).

    `run_as_root` is True when a container's effective securityContext (container over pod)
    says `runAsUser: 0` or `runAsNonRoot: false` explicitly; an image's default user is unknown
    here. `allow_privilege_escalation` is True when set explicitly or implied by `privileged`.
    """
    spec = pod_spec(kind, body)
    pod_ctx = _dict(get(spec, "securityContext"))
    contexts = [_dict(c.get("securityContext")) for c in _containers(spec)] or [{}]
    privileged = any(ctx.get("privileged") is True for ctx in contexts)
    escalation = privileged or any(ctx.get("allowPrivilegeEscalation") is True for ctx in contexts)
    root = False
    for ctx in contexts:
        user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
        non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
        root = root or (user == 0 and not isinstance(user, bool)) or non_root is False
    return {
        "privileged": privileged,
        "host_network": get(spec, "hostNetwork") is True,
        "host_pid": get(spec, "hostPID") is True,
        "allow_privilege_escalation": escalation,
        "run_as_root": root and spec is not None,
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _service_type(body: Any) -> str | None:
    if body is None:
        return None
    value = get(body, "spec", "type")
    return str(value) if value is not None else "ClusterIP"


def _wildcards(body: Any) -> bool:
    rules = get(body, "rules")
    return isinstance(rules, list) and any(_wildcard(r) for r in rules)


def _cluster_admin(body: Any) -> bool:
    return bool(
        get(body, "roleRef", "kind") == "ClusterRole"
        and get(body, "roleRef", "name") == "cluster-admin"
    )


def _wildcard(rule: Any) -> bool:
    if not isinstance(rule, dict):
        return False
    for field in ("verbs", "resources", "apiGroups"):
        values = rule.get(field)
        if isinstance(values, list) and "*" in values:
            return True
    return False


HOOK_ANNOTATIONS = ("helm.sh/hook", "argocd.argoproj.io/hook")


def _hook(body: Any) -> bool:
    annotations = get(body, "metadata", "annotations")
    return isinstance(annotations, dict) and any(a in annotations for a in HOOK_ANNOTATIONS)
