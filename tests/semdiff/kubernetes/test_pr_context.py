"""Deletes and kustomize removals judged with the rest of the PR in view (#24).

Faithful re-creations, trimmed: grafana/helm-charts 3a90565916 (the grafana chart moved out of
the monorepo), kubeflow/manifests 8b00e94124 (lws bumped, its patch file dropped) and
c736d93926 (an AuthorizationPolicy moved into a component), argoproj/argocd-example-apps
382b85852f (a base folded into its parent kustomization); all Apache-2.0.
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")

DEPLOYMENT = b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "grafana.fullname" . }}
  namespace: {{ include "grafana.namespace" . }}
spec:
  template:
    spec:
      containers:
        - name: grafana
          image: grafana/grafana:12.0.0
"""
CHART = b"apiVersion: v2\nname: grafana\nversion: 10.1.0\n"
SERVICE = b"""apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
spec:
  selector:
    control-plane: controller-manager
"""


def high(files: list[FileDiff]) -> set[tuple[str, str]]:
    changes = analyze_files(files, RepoConfig())
    findings = evaluate_rules(PACK, changes, is_agent=True, author="x")
    return {(f.rule, f.address or "") for f in findings if f.severity in ("high", "critical")}


def test_templates_of_a_chart_removed_from_the_repository_delete_nothing() -> None:
    template = FileDiff(path="charts/grafana/templates/deployment.yaml", base=DEPLOYMENT, head=None)
    chart = FileDiff(path="charts/grafana/Chart.yaml", base=CHART, head=None)
    assert not [r for r in high([template, chart]) if r[0] == "k8s.delete"]
    # A template deleted from a chart that stays: the next upgrade deletes the object.
    assert [r for r in high([template]) if r[0] == "k8s.delete"]


def test_a_dropped_patch_file_is_no_delete() -> None:
    folder = "applications/trainer/upstream/third-party/leaderworkerset"
    base = (
        b"resources:\n- https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0\n"
        b"patches:\n- path: patches/metrics_service_selector.yaml\n"
    )
    head = b"resources:\n- https://github.com/kubernetes-sigs/lws//config/default?ref=v0.8.0\n"
    kustomization = FileDiff(path=f"{folder}/kustomization.yaml", base=base, head=head)
    patch = FileDiff(
        path=f"{folder}/patches/metrics_service_selector.yaml",
        base=SERVICE % (b"lws-controller-manager-metrics-service", b"default"),
        head=None,
    )
    found = high([kustomization, patch])
    assert not [r for r in found if r[0] in ("k8s.delete", "kustomize.resource-removed")], found
    changes = analyze_files([kustomization], RepoConfig())
    (remote,) = [c for c in changes if c.facts.get("section") == "resources"]
    assert (remote.op, remote.address) == (
        "update",
        "resources[https://github.com/kubernetes-sigs/lws//config/default]",
    )


def test_a_resource_listed_again_by_another_kustomization_moved() -> None:
    base_k = FileDiff(
        path="kustomize-guestbook/base/kustomization.yaml",
        base=b"resources:\n- ../../guestbook/guestbook-ui-svc.yaml\n",
        head=None,
    )
    parent = FileDiff(
        path="kustomize-guestbook/kustomization.yaml",
        base=b"resources:\n- base\n",
        head=b"resources:\n- ../guestbook/guestbook-ui-svc.yaml\n",
    )
    found = high([base_k, parent])
    assert (
        "kustomize.resource-removed",
        "resources[../../guestbook/guestbook-ui-svc.yaml]",
    ) not in found
    # Listed nowhere any more: still a removal.
    gone = FileDiff(path=parent.path, base=parent.base, head=b"resources: []\n")
    assert (
        "kustomize.resource-removed",
        "resources[../../guestbook/guestbook-ui-svc.yaml]",
    ) in high([base_k, gone])


def test_a_resource_whose_objects_moved_to_another_file_is_no_removal() -> None:
    overlay = "applications/kserve/models-web-app/overlays/kubeflow"
    kustomization = FileDiff(
        path=f"{overlay}/kustomization.yaml",
        base=b"resources:\n- ../../base\n- web-app-authorization-policy.yaml\n",
        head=b"resources:\n- ../../base\ncomponents:\n- ../../components/istio\n",
    )
    moved = SERVICE % (b"models-web-app", b"kubeflow")
    old = FileDiff(path=f"{overlay}/web-app-authorization-policy.yaml", base=moved, head=None)
    new = FileDiff(
        path="applications/kserve/models-web-app/components/istio/authorization-policy.yaml",
        base=None,
        head=moved,
    )
    found = high([kustomization, old, new])
    assert (
        "kustomize.resource-removed",
        "resources[web-app-authorization-policy.yaml]",
    ) not in found
    # Without the new file the objects are gone: the removal and the delete are both high.
    found = high([kustomization, old])
    assert ("kustomize.resource-removed", "resources[web-app-authorization-policy.yaml]") in found
    assert ("k8s.delete", "Service/kubeflow/models-web-app") in found


def test_entries_of_a_renamed_kustomization_resolve_from_where_it_was() -> None:
    # flux2-kustomize-helm-example 8cee66461b: infrastructure/kustomization.yaml becomes
    # infrastructure/configs/kustomization.yaml; `redis` meant infrastructure/redis.
    renamed = FileDiff(
        path="infrastructure/configs/kustomization.yaml",
        old_path="infrastructure/kustomization.yaml",
        status="renamed",
        base=b"resources:\n  - redis\n",
        head=b"resources:\n  - cluster-issuers.yaml\n",
    )
    controllers = FileDiff(
        path="infrastructure/controllers/kustomization.yaml",
        base=None,
        head=b"resources:\n  - ../redis\n",
    )
    assert ("kustomize.resource-removed", "resources[redis]") not in high([renamed, controllers])
    assert ("kustomize.resource-removed", "resources[redis]") in high([renamed])


HOOK = b"""apiVersion: batch/v1
kind: Job
metadata:
  generateName: before-
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: sleep
          image: alpine:latest
"""
SOURCE = b"""apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  url: https://charts.jetstack.io
"""


def test_hooks_generated_names_and_flux_sources_delete_nothing_lasting() -> None:
    # argocd-example-apps 382b85852f (hook Jobs renamed), flux2-kustomize-helm-example
    # 2b8cffe3f7 (a HelmRepository swapped for an OCIRepository).
    hook = FileDiff(path="pre-post-sync/components/pre-sync-job.yaml", base=HOOK, head=None)
    source = FileDiff(path="infrastructure/controllers/cert-manager.yaml", base=SOURCE, head=None)
    assert high([hook, source]) == set()
    lasting = HOOK.replace(b"generateName: before-", b"name: before").replace(
        b"    argocd.argoproj.io/hook: PreSync\n", b""
    )
    job = FileDiff(path="jobs/before.yaml", base=lasting, head=None)
    assert ("k8s.delete", "Job/default/before") in high([job])


def test_a_base_the_pr_dissolves_is_judged_by_its_own_entries() -> None:
    # argocd-example-apps 382b85852f: dev/ and prod/ overlays and their base are deleted; the
    # base's resources are listed by kustomize-guestbook/kustomization.yaml in the head.
    base = FileDiff(
        path="kustomize-guestbook/base/kustomization.yaml",
        base=b"resources:\n- ../../guestbook/guestbook-ui-svc.yaml\n",
        head=None,
    )
    prod = FileDiff(
        path="kustomize-guestbook/prod/kustomization.yaml",
        base=b"namePrefix: prod-\nbases:\n- ../base\n",
        head=None,
    )
    parent = FileDiff(
        path="kustomize-guestbook/kustomization.yaml",
        base=None,
        head=b"resources:\n- ../guestbook/guestbook-ui-svc.yaml\n",
    )
    assert high([base, prod, parent]) == set()
    # A base that stays in the repository but is no longer used: the removal is real.
    assert ("kustomize.resource-removed", "bases[../base]") in high([prod])


def test_a_release_asset_bump_is_an_update_of_one_entry() -> None:
    # kubeflow/manifests 8b00e94124: jobset's released manifests move to the next version.
    url = "https://github.com/kubernetes-sigs/jobset/releases/download/%s/manifests.yaml"
    kustomization = FileDiff(
        path="applications/trainer/upstream/third-party/jobset/kustomization.yaml",
        base=f"resources:\n- {url % 'v0.10.1'}\n".encode(),
        head=f"resources:\n- {url % 'v0.11.0'}\n".encode(),
    )
    (change,) = analyze_files([kustomization], RepoConfig())
    assert change.op == "update"
    assert [(f.before, f.after) for f in change.fields] == [(url % "v0.10.1", url % "v0.11.0")]


def test_dropping_a_file_of_chart_sources_removes_no_workload() -> None:
    # flux2-kustomize-helm-example 8cee66461b: infrastructure/sources/bitnami.yaml (a
    # HelmRepository) leaves the sources kustomization and is deleted.
    bitnami = SOURCE.replace(b"cert-manager", b"bitnami")
    kustomization = FileDiff(
        path="infrastructure/sources/kustomization.yaml",
        base=b"resources:\n  - bitnami.yaml\n  - podinfo.yaml\n",
        head=b"resources:\n  - podinfo.yaml\n",
    )
    source = FileDiff(path="infrastructure/sources/bitnami.yaml", base=bitnami, head=None)
    assert high([kustomization, source]) == set()
    release = FileDiff(
        path="infrastructure/sources/bitnami.yaml",
        base=bitnami + b"---\n" + SERVICE % (b"redis", b"redis"),
        head=None,
    )
    assert ("kustomize.resource-removed", "resources[bitnami.yaml]") in high(
        [kustomization, release]
    )


def test_a_deleted_component_that_only_patches_is_still_a_removal() -> None:
    # kubeflow/manifests 3fc74a71a7: the PSS baseline component (namespace labels as patches)
    # is deleted and leaves the example install: a security control goes.
    component = FileDiff(
        path="common/security/PSS/dynamic/baseline/kustomization.yaml",
        base=b"kind: Component\npatches:\n- path: namespace-labels.yaml\n",
        head=None,
    )
    example = FileDiff(
        path="example/kustomization.yaml",
        base=b"resources:\n- ../common/cert-manager/base\ncomponents:\n"
        b"- ../common/security/PSS/dynamic/baseline\n",
        head=b"resources:\n- ../common/cert-manager/base\n",
    )
    found = high([component, example])
    assert (
        "kustomize.resource-removed",
        "components[../common/security/PSS/dynamic/baseline]",
    ) in found
