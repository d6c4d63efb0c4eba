"""What a kustomization still builds, read over the PR and the unchanged files beside it (#24).

Faithful re-creations, trimmed: argoproj/argocd-example-apps 3ef31aef9c (kustomize2-guestbook
moved to kustomize-guestbook, whose kustomization swaps `../guestbook/*.yaml` for the same files
moved beside it) and b4ebe0049d (pre-post-sync swaps `../guestbook/*.yaml` for the unchanged base
`../kustomize-guestbook`), fluxcd/flux2-multi-tenancy c49e6be6ad (`namespace: apps` added where
every object already sits in `apps`) and flux2-kustomize-helm-example 8cee66461b (a kustomization
git pairs with another by similarity, every entry swapped); all Apache-2.0.
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.core.snapshot import ContextFile
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff import kustomize_context_wanted
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")
DEPLOYMENT = b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook-ui
spec:
  template:
    spec:
      containers:
        - name: guestbook-ui
          image: gcr.io/heptio-images/ks-guestbook-demo:0.2
"""
SERVICE = b"apiVersion: v1\nkind: Service\nmetadata:\n  name: guestbook-ui\nspec:\n  ports:\n  - port: 80\n"
OTHER = (
    b"apiVersion: v1\nkind: Service\nmetadata:\n  name: other-ui\nspec:\n  ports:\n  - port: 80\n"
)
RBAC = b"""apiVersion: v1
kind: Namespace
metadata:
  name: apps
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: dev-team
  namespace: apps
"""
SYNC = b"""apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: dev-team
  namespace: %s
spec:
  url: https://github.com/fluxcd/flux2-multi-tenancy
"""


def high(files: list[FileDiff], context: list[ContextFile]) -> set[tuple[str, str, str]]:
    changes = analyze_files(files, RepoConfig(), context)
    findings = evaluate_rules(PACK, changes, is_agent=True, author="x")
    return {
        (f.rule, f.file or "", f.address or "")
        for f in findings
        if f.severity in ("high", "critical")
    }


def read_all(files: list[FileDiff], tree: dict[str, bytes]) -> list[ContextFile]:
    """What an edge does: read the wanted unchanged paths, round after round."""
    context: list[ContextFile] = []
    asked: set[str] = set()
    while want := kustomize_context_wanted(files, context) - asked:
        asked |= want
        context += [ContextFile(path=p, content=tree[p]) for p in sorted(want) if p in tree]
    return context


def moved_guestbook(local_service: bytes) -> list[FileDiff]:
    return [
        FileDiff(
            path="kustomize-guestbook/kustomization.yaml",
            base=b"namePrefix: kustomize-\nresources:\n- ../guestbook/guestbook-ui-deployment.yaml\n"
            b"- ../guestbook/guestbook-ui-svc.yaml\n",
            head=b"namePrefix: kustomize-\nresources:\n- guestbook-ui-deployment.yaml\n"
            b"- guestbook-ui-svc.yaml\n",
        ),
        FileDiff(
            path="kustomize-guestbook/guestbook-ui-deployment.yaml",
            old_path="kustomize2-guestbook/guestbook-ui-deployment.yaml",
            status="renamed",
            base=DEPLOYMENT,
            head=DEPLOYMENT,
        ),
        FileDiff(
            path="kustomize-guestbook/guestbook-ui-svc.yaml",
            old_path="kustomize2-guestbook/guestbook-ui-svc.yaml",
            status="renamed",
            base=local_service,
            head=local_service,
        ),
    ]


UPSTREAM = {
    "guestbook/guestbook-ui-deployment.yaml": DEPLOYMENT,
    "guestbook/guestbook-ui-svc.yaml": SERVICE,
}


def test_entries_swapped_for_the_same_objects_moved_beside_the_kustomization() -> None:
    files = moved_guestbook(SERVICE)
    context = read_all(files, UPSTREAM)
    assert {c.path for c in context} == set(UPSTREAM)
    assert not [h for h in high(files, context) if h[0] == "kustomize.resource-removed"]
    # Unread, the removed files' objects are unknown: the removals stay (fail closed).
    removed = {h[2] for h in high(files, []) if h[0] == "kustomize.resource-removed"}
    assert removed == {
        "resources[../guestbook/guestbook-ui-deployment.yaml]",
        "resources[../guestbook/guestbook-ui-svc.yaml]",
    }


def test_a_swapped_entry_that_builds_another_object_is_still_a_removal() -> None:
    files = moved_guestbook(OTHER)
    found = high(files, read_all(files, UPSTREAM))
    assert {h[2] for h in found if h[0] == "kustomize.resource-removed"} == {
        "resources[../guestbook/guestbook-ui-svc.yaml]"
    }


def test_entries_swapped_for_an_unchanged_base_that_builds_them() -> None:
    files = [
        FileDiff(
            path="pre-post-sync/kustomization.yaml",
            base=b"namePrefix: pre-post-sync-\nresources:\n"
            b"- ../guestbook/guestbook-ui-deployment.yaml\n- ../guestbook/guestbook-ui-svc.yaml\n"
            b"- pre-sync-job.yaml\n",
            head=b"namePrefix: pre-post-sync-\nbases:\n- ../kustomize-guestbook\nresources:\n"
            b"- pre-sync-job.yaml\n",
        )
    ]
    tree = {
        **UPSTREAM,
        "kustomize-guestbook/kustomization.yaml": b"namePrefix: kustomize-\nresources:\n"
        b"- guestbook-ui-deployment.yaml\n- guestbook-ui-svc.yaml\n",
        "kustomize-guestbook/guestbook-ui-deployment.yaml": DEPLOYMENT,
        "kustomize-guestbook/guestbook-ui-svc.yaml": SERVICE,
        "pre-post-sync/pre-sync-job.yaml": b"kind: Job\nmetadata:\n  name: before\n",
    }
    context = read_all(files, tree)
    assert not [h for h in high(files, context) if h[0] == "kustomize.resource-removed"]
    # The base stops listing the Service: its removal from pre-post-sync is real again.
    tree["kustomize-guestbook/kustomization.yaml"] = b"resources:\n- guestbook-ui-deployment.yaml\n"
    found = high(files, read_all(files, tree))
    assert {h[2] for h in found if h[0] == "kustomize.resource-removed"} == {
        "resources[../guestbook/guestbook-ui-svc.yaml]"
    }


def tenant(namespace: bytes) -> tuple[list[FileDiff], dict[str, bytes]]:
    files = [
        FileDiff(
            path="tenants/staging/kustomization.yaml",
            base=b"resources:\n  - ../base/dev-team\npatches:\n  - path: dev-team-patch.yaml\n",
            head=b"namespace: apps\nresources:\n  - ../base/dev-team\n"
            b"patches:\n  - path: dev-team-patch.yaml\n",
        )
    ]
    tree = {
        "tenants/base/dev-team/kustomization.yaml": b"resources:\n  - rbac.yaml\n  - sync.yaml\n",
        "tenants/base/dev-team/rbac.yaml": RBAC,
        "tenants/base/dev-team/sync.yaml": SYNC % namespace,
    }
    return files, tree


def test_a_namespace_every_object_already_sits_in_moves_nothing() -> None:
    files, tree = tenant(b"apps")
    assert high(files, read_all(files, tree)) == set()
    # Unread, the objects' namespaces are unknown: the scope change stays.
    assert ("kustomize.scope-change", files[0].path, "namespace") in high(files, [])


def test_a_namespace_that_moves_one_object_is_a_scope_change() -> None:
    files, tree = tenant(b"flux-system")
    found = high(files, read_all(files, tree))
    assert ("kustomize.scope-change", files[0].path, "namespace") in found


def test_a_kustomization_paired_with_another_by_similarity_renames_nothing() -> None:
    renamed = FileDiff(
        path="infrastructure/controllers/kustomization.yaml",
        old_path="infrastructure/sources/kustomization.yaml",
        status="renamed",
        base=b"namespace: flux-system\nresources:\n  - bitnami.yaml\n  - podinfo.yaml\n",
        head=b"resources:\n  - cert-manager.yaml\n  - ingress-nginx.yaml\n",
    )
    assert not [h for h in high([renamed], []) if h[0] == "kustomize.scope-change"]
    # A kept entry means the same kustomization: dropping its namespace moves its objects.
    kept = renamed.model_copy(
        update={"head": b"resources:\n  - ../sources/podinfo.yaml\n  - cert-manager.yaml\n"}
    )
    assert ("kustomize.scope-change", kept.path, "namespace") in high([kept], [])


def dex(namespace_line: bytes) -> list[FileDiff]:
    """kubeflow/manifests cf8aac939e (Apache-2.0): dex's ServiceAccount moves from rbac.yaml
    (namespace auth written) to a new serviceaccount.yaml that leaves it to the kustomization."""
    account = b"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: dex\n"
    role = b"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: dex\n"
    return [
        FileDiff(
            path="common/dex/base/kustomization.yaml",
            base=b"namespace: auth\nresources:\n- rbac.yaml\n",
            head=b"namespace: auth\nresources:\n- rbac.yaml\n- serviceaccount.yaml\n",
        ),
        FileDiff(
            path="common/dex/base/rbac.yaml",
            base=role + b"---\n" + account.replace(b"dex\n", b"dex\n  namespace: auth\n"),
            head=role,
        ),
        FileDiff(
            path="common/dex/base/serviceaccount.yaml", base=None, head=account + namespace_line
        ),
    ]


def test_an_object_moved_beside_a_kustomization_that_gives_its_namespace_is_no_delete() -> None:
    assert not [h for h in high(dex(b""), []) if h[0] == "k8s.delete"]
    # Written into another namespace it is another object: the delete stays.
    moved = high(dex(b"  namespace: other\n"), [])
    assert ("k8s.delete", "common/dex/base/rbac.yaml", "ServiceAccount/auth/dex") in moved


def test_the_same_name_in_another_namespace_is_another_object() -> None:
    db = b"apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  namespace: %s\n"
    files = [
        FileDiff(
            path="clusters/all/kustomization.yaml",
            base=b"resources:\n- ../../prod/db.yaml\n- ../../staging/db.yaml\n",
            head=b"resources:\n- ../../staging/db.yaml\n",
        )
    ]
    tree = {"prod/db.yaml": db % b"prod", "staging/db.yaml": db % b"staging"}
    found = high(files, read_all(files, tree))
    assert ("kustomize.resource-removed", files[0].path, "resources[../../prod/db.yaml]") in found
    # One namespace for everything the kustomization builds: the same object after all.
    one = [
        f.model_copy(
            update={
                "base": b"namespace: data\n" + (f.base or b""),
                "head": b"namespace: data\n" + (f.head or b""),
            }
        )
        for f in files
    ]
    assert not [h for h in high(one, read_all(one, tree)) if h[0].startswith("kustomize")]


def test_a_removed_component_that_only_patches_reads_nothing_of_the_head() -> None:
    # kubeflow/manifests 3fc74a71a7: example/ drops the PSS baseline component; the ~400 files
    # example/ still reaches need not be read to judge a component that builds no object.
    files = [
        FileDiff(
            path="example/kustomization.yaml",
            base=b"resources:\n- ../common/istio\ncomponents:\n- ../common/pss/baseline\n",
            head=b"resources:\n- ../common/istio\n",
        )
    ]
    tree = {
        "common/pss/baseline/kustomization.yaml": b"kind: Component\npatches:\n- path: ns.yaml\n"
    }
    context = read_all(files, tree)
    assert [c.path for c in context] == ["common/pss/baseline/kustomization.yaml"]
    assert kustomize_context_wanted(files, context) <= {
        "common/pss/baseline/kustomization.yml",
        "common/pss/baseline/Kustomization",
    }
    found = high(files, context)
    assert (
        "kustomize.resource-removed",
        files[0].path,
        "components[../common/pss/baseline]",
    ) in found
