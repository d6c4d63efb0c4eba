"""The Kubernetes analyzer: objects by Kind/namespace/name, keyed containers, facts, secrets."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change, FileDiff
from app.semdiff.common.documents import Format, read_documents
from app.semdiff.kubernetes.objects import analyze, detect
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kubernetes"
SECRETS = (
    "hunter2-storefront",
    "correct-horse-battery-staple",
    "czNjcjN0LVBhc3N3MHJkLW9yZGVycw==",
    "s3cr3t-Passw0rd-orders",
    "bjN3LVJvdGF0ZWQtb3JkZXJzLTIwMjQ=",
    "n3w-Rotated-orders-2024",
    "cmVwbGljYXRvcg==",
    "sk_live_51HxExampleSecretKey",
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(
    base: str | bytes | None, head: str | bytes | None, path: str = "deploy/app.yaml"
) -> list[Change]:
    def raw(side: str | bytes | None) -> bytes | None:
        return side.encode() if isinstance(side, str) else side

    status = "added" if base is None else "removed" if head is None else "modified"
    return analyze(FileDiff(path=path, status=status, base=raw(base), head=raw(head)), PathRule())


def by_address(changes: list[Change]) -> dict[str, Change]:
    out = {c.address: c for c in changes}
    assert len(out) == len(changes), "one change per object"
    return out


def fields(change: Change) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.before, f.after) for f in change.fields}


def dumped(changes: list[Change]) -> str:
    return json.dumps([c.model_dump(mode="json") for c in changes])


def line_of(text: bytes, needle: str) -> int:
    return text[: text.index(needle.encode())].count(b"\n") + 1


# -- updates, keyed lists, facts ---------------------------------------------------------------


def test_deployment_update_matches_containers_by_name_and_reports_replicas_and_images() -> None:
    changes = by_address(run(fixture("app_base.yaml"), fixture("app_head.yaml")))
    assert set(changes) == {"Deployment/shop/storefront", "Service/shop/storefront"}
    deploy = changes["Deployment/shop/storefront"]
    assert deploy.op == "update"
    pod = "spec.template.spec"
    assert fields(deploy) == {
        "spec.replicas": (2, 4),
        f"{pod}.containers[web].image": (
            "ghcr.io/acme/storefront:1.14.2",
            "ghcr.io/acme/storefront:1.15.0",
        ),
        f"{pod}.containers[web].env[LOG_LEVEL].value": ("info", "debug"),
        f"{pod}.containers[web].env[DB_PASSWORD].value": (REDACTED, REDACTED),
        f"{pod}.containers[web].resources.requests.cpu": ("250m", "500m"),
        f"{pod}.initContainers[migrate].image": (
            "ghcr.io/acme/storefront-migrate:1.14.2",
            "ghcr.io/acme/storefront-migrate:1.15.0",
        ),
    }, "reordered containers, ports and volumes are not changes"
    facts = deploy.facts
    assert (facts["replicas_before"], facts["replicas_after"]) == (2, 4)
    assert facts["images_after"] == {
        "migrate": "ghcr.io/acme/storefront-migrate:1.15.0",
        "web": "ghcr.io/acme/storefront:1.15.0",
        "envoy": "envoyproxy/envoy:v1.30.1",
    }
    assert facts["images_before"]["web"] == "ghcr.io/acme/storefront:1.14.2"
    assert (facts["object_kind"], facts["namespace"], facts["name"]) == (
        "Deployment",
        "shop",
        "storefront",
    )
    assert facts["api_version"] == "apps/v1"
    assert not any(
        facts[k]
        for k in (
            "privileged",
            "host_network",
            "host_pid",
            "allow_privilege_escalation",
            "run_as_root",
        )
    )
    service = changes["Service/shop/storefront"]
    assert fields(service) == {"spec.type": (None, "LoadBalancer")}
    assert (service.facts["service_type_before"], service.facts["service_type_after"]) == (
        "ClusterIP",
        "LoadBalancer",
    )


def test_lines_point_at_each_document_on_the_head_side() -> None:
    head = fixture("app_head.yaml")
    changes = by_address(run(fixture("app_base.yaml"), head))
    assert changes["Deployment/shop/storefront"].line == line_of(head, "apiVersion: apps/v1")
    assert changes["Service/shop/storefront"].line == line_of(head, "apiVersion: v1\nkind: Service")


def test_formatting_only_edit_is_no_change() -> None:
    """Document order, indentation, flow style, quoting, key order and comments."""
    assert run(fixture("app_base.yaml"), fixture("app_reformatted.yaml")) == []
    assert run(fixture("app_reformatted.yaml"), fixture("app_base.yaml")) == []


def test_server_written_fields_are_ignored() -> None:
    """A manifest exported with `kubectl get -o yaml` differs only by noise."""
    assert run(fixture("service.yaml"), fixture("service_exported.yaml")) == []


def test_whole_file_added_creates_every_object_and_removed_deletes_them() -> None:
    base = fixture("app_base.yaml")
    created = by_address(run(None, base))
    assert {c.op for c in created.values()} == {"create"}
    assert set(created) == {
        "Deployment/shop/storefront",
        "Service/shop/storefront",
        "Ingress/shop/storefront",
    }
    ingress = fields(created["Ingress/shop/storefront"])
    assert ingress["spec.ingressClassName"] == (None, "nginx")
    deploy = fields(created["Deployment/shop/storefront"])
    assert deploy["spec.template.spec.containers[envoy].image"] == (
        None,
        "envoyproxy/envoy:v1.30.1",
    )
    deleted = by_address(run(base, None))
    assert {c.op for c in deleted.values()} == {"delete"}
    assert deleted["Ingress/shop/storefront"].line == line_of(base, "apiVersion: networking")
    assert deleted["Deployment/shop/storefront"].facts["replicas_after"] is None
    assert deleted["Deployment/shop/storefront"].facts["privileged"] is False


def test_removing_one_document_deletes_only_that_object() -> None:
    base = fixture("app_base.yaml").decode()
    head = base[: base.index("---\napiVersion: networking.k8s.io/v1")]
    changes = run(base, head)
    assert [(c.address, c.op) for c in changes] == [("Ingress/shop/storefront", "delete")]


def test_statefulset_scale_down_and_volume_claim_template_change() -> None:
    base = fixture("statefulset.yaml").decode()
    head = base.replace("replicas: 3", "replicas: 1").replace("storage: 100Gi", "storage: 250Gi")
    changes = by_address(run(base, head, "db/orders.yaml"))
    assert set(changes) == {"StatefulSet/data/orders-db"}
    sts = changes["StatefulSet/data/orders-db"]
    assert (sts.facts["replicas_before"], sts.facts["replicas_after"]) == (3, 1)
    before, after = fields(sts)["spec.volumeClaimTemplates"]
    assert before[0]["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert after[0]["spec"]["resources"]["requests"]["storage"] == "250Gi"
    assert sts.facts["images_after"] == {"postgres": "postgres:16.3"}


CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly-report, namespace: reports}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - {{name: {first}, image: "busybox:1.36"}}
            - {{name: {second}, image: "busybox:1.36"}}
          containers:
            - {{name: {main}, image: "{main_image}"}}
            - {{name: {side}, image: "{side_image}"}}
"""


def test_init_container_reorder_is_reported_but_container_reorder_is_not() -> None:
    report = {"main": "report", "main_image": "ghcr.io/acme/report:3.1"}
    upload = {"side": "upload", "side_image": "amazon/aws-cli:2.15.0"}
    base = CRONJOB.format(first="fetch", second="unpack", **report, **upload)
    head = CRONJOB.format(
        first="unpack",
        second="fetch",
        main="upload",
        main_image=upload["side_image"],
        side="report",
        side_image=report["main_image"],
    )
    [change] = run(base, head)
    assert change.address == "CronJob/reports/nightly-report"
    path = "spec.jobTemplate.spec.template.spec.initContainers.order"
    assert fields(change) == {path: (["fetch", "unpack"], ["unpack", "fetch"])}
    assert change.facts["images_after"]["report"] == "ghcr.io/acme/report:3.1"
    assert change.facts["replicas_after"] is None


# -- privileges and RBAC -----------------------------------------------------------------------


def test_privileged_daemonset_facts() -> None:
    [change] = run(None, fixture("node_exporter.yaml"), "monitoring/node-exporter.yaml")
    assert change.op == "create"
    assert change.address == "DaemonSet/monitoring/node-exporter"
    for fact in ("privileged", "host_network", "host_pid", "allow_privilege_escalation"):
        assert change.facts[fact] is True, fact
    assert change.facts["run_as_root"] is True
    assert fields(change)["spec.template.spec.hostPID"] == (None, True)


POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: debug}}
spec:
  securityContext: {pod}
  containers:
    - name: shell
      image: busybox:1.36
      securityContext: {container}
"""


@pytest.mark.parametrize(
    ("pod", "container", "root", "escalation"),
    [
        ("{runAsUser: 0}", "{}", True, False),
        ("{runAsUser: 0}", "{runAsUser: 1000}", False, False),
        ("{runAsNonRoot: true}", "{runAsNonRoot: false}", True, False),
        ("{}", "{}", False, False),
        ("{runAsNonRoot: true}", "{allowPrivilegeEscalation: true}", False, True),
        ("{}", "{privileged: true}", False, True),
    ],
)
def test_run_as_root_and_escalation(pod: str, container: str, root: bool, escalation: bool) -> None:
    [change] = run(None, POD.format(pod=pod, container=container))
    assert change.address == "Pod/default/debug", "namespace defaults to `default`"
    assert change.facts["run_as_root"] is root
    assert change.facts["allow_privilege_escalation"] is escalation
    assert change.facts["replicas_after"] == 1


def test_rbac_wildcard_and_cluster_admin_binding() -> None:
    changes = by_address(run(fixture("rbac.yaml"), fixture("rbac_escalated.yaml"), "rbac.yaml"))
    role = changes["ClusterRole/deploy-bot"]
    assert role.facts["rbac_wildcard"] is True
    assert role.facts["namespace"] is None, "cluster-scoped"
    assert [f.path for f in role.fields] == ["rules"], "RBAC rules are compared whole"
    binding = changes["ClusterRoleBinding/deploy-bot"]
    assert binding.facts["cluster_admin"] is True
    assert fields(binding) == {"roleRef.name": ("deploy-bot", "cluster-admin")}
    created = by_address(run(None, fixture("rbac.yaml")))
    assert created["ClusterRole/deploy-bot"].facts["rbac_wildcard"] is False
    assert created["ClusterRoleBinding/deploy-bot"].facts["cluster_admin"] is False


# -- secrets -----------------------------------------------------------------------------------


def test_secret_values_are_redacted_and_keys_shown() -> None:
    changes = run(fixture("secret.yaml"), fixture("secret_rotated.yaml"), "db/secret.yaml")
    [secret] = changes
    assert secret.address == "Secret/data/orders-db"
    assert fields(secret) == {
        "data.password": (REDACTED, REDACTED),
        "data.replication_user": (None, REDACTED),
        "stringData.connection_uri": (REDACTED, REDACTED),
    }
    for side in (run(None, fixture("secret.yaml")), run(fixture("secret_rotated.yaml"), None)):
        text = dumped(side)
        assert "data.password" in text
        assert all(s not in text for s in SECRETS)
    assert all(s not in dumped(changes) for s in SECRETS)


def test_no_secret_in_any_output_of_the_fixtures() -> None:
    pairs = [
        (None, "app_base.yaml"),
        ("app_base.yaml", "app_head.yaml"),
        ("app_head.yaml", None),
        ("secret.yaml", "secret_rotated.yaml"),
        (None, "list.json"),
    ]
    for base, head in pairs:
        path = "deploy/list.json" if head == "list.json" else "deploy/app.yaml"
        text = dumped(run(fixture(base) if base else None, fixture(head) if head else None, path))
        assert REDACTED in text
        for secret in SECRETS:
            assert secret not in text, (base, head, secret)


def test_unchanged_secret_value_is_no_change_and_last_applied_annotation_is_ignored() -> None:
    base = fixture("secret.yaml").decode()
    head = base.replace(
        "  namespace: data\n",
        "  namespace: data\n  annotations:\n"
        '    kubectl.kubernetes.io/last-applied-configuration: \'{"data":{"password":'
        '"czNjcjN0LVBhc3N3MHJkLW9yZGVycw=="}}\'\n',
    )
    assert run(base, head) == []


# -- JSON, List, cluster scope, detection --------------------------------------------------


def test_json_list_items_become_objects() -> None:
    changes = by_address(run(None, fixture("list.json"), "deploy/payments.json"))
    assert set(changes) == {"Namespace/payments", "ConfigMap/payments/payments-config"}
    config = fields(changes["ConfigMap/payments/payments-config"])
    assert config["data.currency"] == (None, "EUR")
    assert config["data.stripe_api_key"] == (None, REDACTED)


def test_detect() -> None:
    def docs(name: str, fmt: Format = "yaml") -> Any:
        return read_documents(fixture(name), fmt, name)

    assert detect(docs("app_base.yaml"))
    assert detect(docs("list.json", "json"))
    assert detect(read_documents(b"apiVersion: v1\nkind: List\nitems: []\n", "yaml", "l.yaml"))
    flags = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "flags_base.json"
    assert not detect(read_documents(flags.read_bytes(), "json", "flags.json"))
    assert not detect(read_documents(b"kind: Deployment\nmetadata: {}\n", "yaml", "x.yaml"))
    assert not detect(())


# -- bad input ---------------------------------------------------------------------------------


BOMB = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)


@pytest.mark.parametrize(
    ("head", "line"),
    [
        ("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n namespace: y\n", 5),
        ("apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n", 4),
        (BOMB.encode(), None),
        (b"apiVersion: v1\nkind: ConfigMap\ndata:\n  k: \xff\xfe\n", None),
        ("apiVersion: v1\nkind: ConfigMap\ndata:\n  arn: !Ref Bucket\n", 4),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nfoo: bar\n", 5),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
            5,
        ),
    ],
    ids=["indentation", "tab", "billion-laughs", "utf8", "cfn-tag", "not-k8s", "duplicate"],
)
def test_unparseable_input_raises_with_file_and_line(head: str | bytes, line: int | None) -> None:
    with pytest.raises(UnparseableError) as info:
        run(fixture("service.yaml"), head, "deploy/bad.yaml")
    assert info.value.file == "deploy/bad.yaml"
    if line is not None:
        assert info.value.line is not None
        assert abs(info.value.line - line) <= 1


# -- properties --------------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
LABELS = st.dictionaries(NAMES, NAMES, max_size=3)


@st.composite
def k8s_objects(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["ConfigMap", "Deployment", "Namespace", "Service"]))
    meta: dict[str, Any] = {"name": draw(NAMES), "labels": draw(LABELS)}
    if kind != "Namespace":
        meta["namespace"] = draw(st.sampled_from(["default", "shop", "data"]))
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": meta}
    if kind == "ConfigMap":
        obj["data"] = draw(st.dictionaries(NAMES, st.text(max_size=8), max_size=4))
    elif kind == "Deployment":
        obj["apiVersion"] = "apps/v1"
        containers = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"name": NAMES, "image": st.sampled_from(["nginx:1.27", "redis:7", "app:v2"])}
                ),
                min_size=1,
                max_size=3,
                unique_by=lambda c: c["name"],
            )
        )
        obj["spec"] = {
            "replicas": draw(st.integers(0, 5)),
            "template": {"spec": {"containers": containers}},
        }
    elif kind == "Service":
        obj["spec"] = {"type": draw(st.sampled_from(["ClusterIP", "NodePort"]))}
    return obj


def identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


MANIFESTS = st.lists(k8s_objects(), min_size=1, max_size=5, unique_by=identity)


def shuffled(value: Any, rng: random.Random) -> Any:
    """Same meaning, other order: mapping keys and name-keyed lists shuffled."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        items = [shuffled(v, rng) for v in value]
        rng.shuffle(items)
        return items
    return value


def render(objects: list[dict[str, Any]], indent: int | None = 2) -> bytes:
    """Multi-document YAML (each document written in JSON flow style, which is YAML)."""
    return "".join(f"---\n{json.dumps(o, indent=indent)}\n" for o in objects).encode()


@settings(max_examples=examples(60), deadline=None)
@given(MANIFESTS)
def test_property_no_change_against_itself(objects: list[dict[str, Any]]) -> None:
    assert run(render(objects), render(objects, indent=None)) == []


@settings(max_examples=examples(60), deadline=None)
@given(MANIFESTS, st.randoms(use_true_random=False))
def test_property_reordering_documents_keys_and_containers_is_no_change(
    objects: list[dict[str, Any]], rng: random.Random
) -> None:
    assert run(render(objects), render(shuffled(objects, rng))) == []


@settings(max_examples=examples(60), deadline=None)
@given(MANIFESTS, MANIFESTS)
def test_property_swapping_sides_swaps_create_and_delete(
    base: list[dict[str, Any]], head: list[dict[str, Any]]
) -> None:
    forward = by_address(run(render(base), render(head)))
    backward = by_address(run(render(head), render(base)))
    # A stateless object renamed (`renames`) is a rename both ways, under the other name.
    for change in [c for c in forward.values() if c.op == "rename"]:
        back = backward.pop(str(change.facts["renamed_from"]))
        assert (back.op, back.facts["renamed_from"]) == ("rename", change.address)
        del forward[change.address]
    swap = {"create": "delete", "delete": "create", "update": "update"}
    assert {a: swap[c.op] for a, c in forward.items()} == {a: c.op for a, c in backward.items()}
    for address, change in forward.items():
        there = {(f.path, json.dumps(f.before), json.dumps(f.after)) for f in change.fields}
        back = {
            (f.path, json.dumps(f.after), json.dumps(f.before)) for f in backward[address].fields
        }
        assert there == back
