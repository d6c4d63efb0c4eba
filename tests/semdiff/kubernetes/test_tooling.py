"""Kustomize, Helm and tool config files are analyzed as what they configure, never as cluster
objects; Argo CD Applications and Flux Kustomizations stay Kubernetes objects."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import evaluate, load_rule_pack
from app.semdiff.dispatch import analyze_file, kind_for
from tests.examples import examples

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
OVERLAY = FIXTURES / "kustomize" / "overlays" / "production"
BASE_K = (FIXTURES / "kustomize" / "base" / "kustomization.yaml").read_text()
PROD_BASE = (OVERLAY / "kustomization_base.yaml").read_text()
PROD_HEAD = (OVERLAY / "kustomization_head.yaml").read_text()
CHART = (FIXTURES / "helm" / "checkout" / "Chart.yaml").read_text()
VALUES = (FIXTURES / "helm" / "checkout" / "values.yaml").read_text()
PACK = load_rule_pack(ROOT / "risk_rules")


def analyze(path: str, base: str | None, head: str | None) -> list[Change]:
    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(
        path=path,
        status=status,
        base=None if base is None else base.encode(),
        head=None if head is None else head.encode(),
    )
    return analyze_file(file, RepoConfig())


def kind(path: str, text: str) -> str:
    file = FileDiff(path=path, status="added", base=None, head=text.encode())
    return kind_for(file, RepoConfig().rule_for(path))


def findings(changes: list[Change]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    for finding in evaluate(PACK, changes, is_agent=True):
        out.setdefault(finding.address, set()).add((finding.rule, finding.severity))
    return out


ARGO_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: checkout-prod
  namespace: argocd
spec:
  project: shop
  source:
    repoURL: https://github.com/acme/deploy
    path: deploy/overlays/production
  destination:
    server: https://kubernetes.default.svc
    namespace: shop-prod
  syncPolicy:
    automated: {prune: true, selfHeal: true}
"""
FLUX_KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: checkout
  namespace: flux-system
spec:
  interval: 10m
  path: ./deploy/overlays/production
  prune: true
  sourceRef: {kind: GitRepository, name: deploy}
"""
KSONNET_APP = """\
apiVersion: 0.3.0
environments:
  default:
    destination: {namespace: default, server: https://127.0.0.1:6443}
    k8sVersion: v1.11.0
    path: default
kind: ksonnet.io/app
name: guestbook
version: 0.0.1
"""
SKAFFOLD = """\
apiVersion: skaffold/v4beta11
kind: Config
metadata: {name: checkout}
build:
  artifacts:
    - image: ghcr.io/acme/checkout
manifests:
  kustomize:
    paths: [deploy/overlays/dev]
"""


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("deploy/base/kustomization.yaml", BASE_K, "data"),
        ("deploy/base/kustomization.yml", BASE_K, "data"),
        ("deploy/base/Kustomization", BASE_K, "data"),
        ("deploy/base/kustomize-config.yaml", BASE_K, "data"),  # by its apiVersion
        ("charts/checkout/Chart.yaml", CHART, "data"),
        ("charts/checkout/values.yaml", VALUES, "data"),
        ("charts/checkout/values-production.yaml", VALUES, "data"),
        ("ks/guestbook/app.yaml", KSONNET_APP, "data"),
        ("skaffold.yaml", SKAFFOLD, "data"),
        ("argocd/apps/checkout.yaml", ARGO_APP, "kubernetes"),
        ("clusters/prod/checkout.yaml", FLUX_KUSTOMIZATION, "kubernetes"),
    ],
)
def test_only_cluster_objects_are_kubernetes(path: str, text: str, expected: str) -> None:
    assert kind(path, text) == expected


def test_overlay_changes_are_entries_with_facts() -> None:
    changes = analyze("deploy/overlays/production/kustomization.yaml", PROD_BASE, PROD_HEAD)
    by_address = {c.address: c for c in changes}
    assert set(by_address) == {
        "resources[pdb.yaml]",
        "images[ghcr.io/acme/checkout]",
        "secretGenerator[checkout-secrets]",
    }
    image = by_address["images[ghcr.io/acme/checkout]"]
    assert image.kind == "data" and image.op == "update"
    assert [(f.path, f.before, f.after) for f in image.fields] == [
        ("images[ghcr.io/acme/checkout].newTag", "1.41.0", "latest")
    ]
    assert image.facts["format"] == "kustomize"
    assert image.facts["new_tag_after"] == "latest"
    assert image.line == PROD_HEAD.split("\n").index("  - name: ghcr.io/acme/checkout") + 1
    removed = by_address["resources[pdb.yaml]"]
    assert removed.op == "delete"
    assert removed.line == PROD_BASE.split("\n").index("  - pdb.yaml") + 1


def test_secret_generator_literals_are_redacted_by_key() -> None:
    changes = analyze("deploy/overlays/production/kustomization.yaml", PROD_BASE, PROD_HEAD)
    [secret] = [c for c in changes if c.facts["section"] == "secretGenerator"]
    assert [(f.path, f.before, f.after) for f in secret.fields] == [
        ("secretGenerator[checkout-secrets].literals.STRIPE_API_KEY", "<redacted>", "<redacted>")
    ]
    dumped = " ".join(c.model_dump_json() for c in changes)
    assert "sk_live" not in dumped and "hunter2" not in dumped
    removed = analyze("deploy/overlays/production/kustomization.yaml", PROD_BASE, None)
    assert "sk_live" not in " ".join(c.model_dump_json() for c in removed)


def test_overlay_risk_latest_and_removed_resource() -> None:
    changes = analyze("deploy/overlays/production/kustomization.yaml", PROD_BASE, PROD_HEAD)
    found = findings(changes)
    assert found["resources[pdb.yaml]"] == {("kustomize.resource-removed", "high")}
    assert found["images[ghcr.io/acme/checkout]"] == {("kustomize.image-unpinned", "medium")}
    assert found["secretGenerator[checkout-secrets]"] == {("kustomize.secret-change", "medium")}


def test_deleting_a_kustomization_never_deletes_kubernetes_objects() -> None:
    changes = analyze("deploy/overlays/production/kustomization.yaml", PROD_BASE, None)
    assert changes and all(c.kind == "data" for c in changes)
    rules = {rule for hits in findings(changes).values() for rule, _ in hits}
    assert not any(r.startswith("k8s.") for r in rules)
    assert "kustomize.resource-removed" in rules


def test_namespace_change_replaces_every_object() -> None:
    head = PROD_BASE.replace("namespace: shop-prod", "namespace: shop")
    [change] = analyze("deploy/overlays/production/kustomization.yaml", PROD_BASE, head)
    assert change.address == "namespace"
    assert findings([change])["namespace"] == {("kustomize.scope-change", "high")}


def test_chart_yaml_versions_and_dependencies() -> None:
    head = CHART.replace("version: 0.14.2", "version: 0.15.0").replace(
        "version: 19.6.4", "version: 20.0.1"
    )
    changes = analyze("charts/checkout/Chart.yaml", CHART, head)
    by_address = {c.address: c for c in changes}
    assert set(by_address) == {"version", "dependencies[redis]"}
    dep = by_address["dependencies[redis]"]
    assert dep.facts["format"] == "helm-chart"
    assert (dep.facts["chart"], dep.facts["version_before"], dep.facts["version_after"]) == (
        "checkout",
        "19.6.4",
        "20.0.1",
    )
    assert [f.path for f in dep.fields] == ["dependencies[redis].version"]
    assert findings([dep])["dependencies[redis]"] == {("helm.dependency-change", "low")}


def test_values_file_is_a_data_diff_with_format() -> None:
    head = VALUES.replace('  tag: ""', '  tag: "1.42.0"')
    [change] = analyze("charts/checkout/values.yaml", VALUES, head)
    assert change.kind == "data" and change.address == "image"
    assert change.facts["format"] == "helm-values"
    assert [(f.path, f.after) for f in change.fields] == [("image.tag", "1.42.0")]


def test_ksonnet_app_is_tool_config() -> None:
    head = KSONNET_APP.replace("version: 0.0.1", "version: 0.0.2")
    [change] = analyze("ks/guestbook/app.yaml", KSONNET_APP, head)
    assert change.kind == "data" and change.facts["format"] == "tool-config"


FILES = [
    ("deploy/base/kustomization.yaml", BASE_K),
    ("deploy/overlays/production/kustomization.yaml", PROD_HEAD),
    ("charts/checkout/Chart.yaml", CHART),
    ("charts/checkout/values.yaml", VALUES),
    ("ks/guestbook/app.yaml", KSONNET_APP),
]


@settings(max_examples=examples(20), deadline=None)
@given(st.sampled_from(FILES))
def test_same_file_on_both_sides_is_no_change(item: tuple[str, str]) -> None:
    path, text = item
    assert analyze(path, text, text) == []
