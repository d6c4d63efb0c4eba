"""Kubernetes and kustomize findings fire on what a change introduces, not on what was there (#24).

Faithful re-creations, trimmed, of kubeflow/manifests 5862ddf603 (Istio 1.28 → 1.29.1 upstream
manifests: istio-cni-node was privileged and istiod's ClusterRole had wildcards before; Apache-2.0)
and argoproj/argocd-example-apps d9c52b4c89 / 382b85852f (kustomizations added and deleted
whole; Apache-2.0).
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")

CNI = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: istio-cni-node
  namespace: kube-system
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: install-cni
          image: docker.io/istio/install-cni:%s
          securityContext:
            privileged: %s
"""

ROLE = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: istiod-clusterrole-istio-system
  labels:
    app.kubernetes.io/version: "%s"
rules:
  - apiGroups: ["%s"]
    resources: ["*"]
    verbs: ["get", "watch", "list"]
"""

KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: %s
resources:
  - ../../guestbook/guestbook-ui-deployment.yaml
"""


def high(files: list[FileDiff]) -> set[tuple[str, str]]:
    changes: list[Change] = analyze_files(files, RepoConfig())
    findings = evaluate_rules(PACK, changes, is_agent=True, author="bot[bot]")
    return {(f.rule, f.address or "") for f in findings if f.severity in ("high", "critical")}


def test_an_image_bump_of_a_privileged_daemonset_is_not_a_new_privilege() -> None:
    path = "common/istio/istio-install/base/install.yaml"
    bump = FileDiff(
        path=path,
        base=(CNI % ("1.28.0", "true")).encode(),
        head=(CNI % ("1.29.1", "true")).encode(),
    )
    assert ("k8s.privileged", "DaemonSet/kube-system/istio-cni-node") not in high([bump])


def test_a_privilege_granted_by_the_change_still_fires() -> None:
    path = "common/istio/istio-install/base/install.yaml"
    grant = FileDiff(
        path=path,
        base=(CNI % ("1.28.0", "false")).encode(),
        head=(CNI % ("1.28.0", "true")).encode(),
    )
    assert ("k8s.privileged", "DaemonSet/kube-system/istio-cni-node") in high([grant])
    new = FileDiff(path=path, base=None, head=(CNI % ("1.28.0", "false")).encode())
    assert ("k8s.privileged", "DaemonSet/kube-system/istio-cni-node") in high([new]), "hostNetwork"


def test_an_unchanged_rbac_wildcard_is_not_reported_again() -> None:
    path = "common/istio/istio-install/base/install.yaml"
    address = "ClusterRole/istiod-clusterrole-istio-system"
    bump = FileDiff(
        path=path, base=(ROLE % ("1.28.0", "")).encode(), head=(ROLE % ("1.29.1", "")).encode()
    )
    assert ("k8s.rbac-wildcard", address) not in high([bump])
    new = FileDiff(path=path, base=None, head=(ROLE % ("1.29.1", "")).encode())
    assert ("k8s.rbac-wildcard", address) in high([new])


def test_scope_of_a_kustomization_added_or_deleted_whole_is_no_rename() -> None:
    path = "kustomize-guestbook/base/kustomization.yaml"
    added = FileDiff(path=path, base=None, head=(KUSTOMIZATION % "kustomize-").encode())
    removed = FileDiff(path=path, base=(KUSTOMIZATION % "kustomize-").encode(), head=None)
    assert ("kustomize.scope-change", "namePrefix") not in high([added])
    assert ("kustomize.scope-change", "namePrefix") not in high([removed])
    changed = FileDiff(
        path=path,
        base=(KUSTOMIZATION % "kustomize-").encode(),
        head=(KUSTOMIZATION % "guestbook-").encode(),
    )
    assert ("kustomize.scope-change", "namePrefix") in high([changed])
