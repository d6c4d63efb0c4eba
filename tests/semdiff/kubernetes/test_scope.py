"""Kubernetes identity across the PR: (API group, kind, namespace, name), whatever the file.

Run through the dispatcher, as the App and `analyze` run it, with the shipped rules where the
findings are the point (six manifests converted to YAML once gave six high `k8s.delete`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import RulePack, evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "kubernetes"
KSM = FIXTURES / "kube_state_metrics"


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def to_yaml(*objects: object) -> bytes:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump_all(list(objects), out)
    return out.getvalue().encode()


def documents(path: Path) -> list[object]:
    text = path.read_text()
    return [YAML(typ="safe", pure=True).load(d) for d in text.split("\n---\n") if d.strip()]


def run(*files: FileDiff) -> list[Change]:
    return analyze_files(files, RepoConfig())


def ops(changes: list[Change]) -> list[tuple[str, str, str]]:
    return sorted((c.op, c.address, c.file) for c in changes)


def test_six_json_manifests_converted_to_yaml_are_no_change(pack: RulePack) -> None:
    files: list[FileDiff] = []
    for path in sorted(KSM.glob("*.json")):
        yaml_path = f"deploy/monitoring/{path.stem}.yaml"
        files.append(
            FileDiff(
                path=f"deploy/monitoring/{path.name}", status="removed", base=path.read_bytes()
            )
        )
        files.append(
            FileDiff(path=yaml_path, status="added", head=to_yaml(json.loads(path.read_text())))
        )
    assert len(files) == 12
    changes = run(*files)
    assert changes == []
    assert evaluate_rules(pack, changes, is_agent=True, author="argocd-bot[bot]") == []


def test_splitting_and_merging_multi_document_files_is_no_change() -> None:
    base = (FIXTURES / "app_base.yaml").read_bytes()
    objects = documents(FIXTURES / "app_base.yaml")
    kinds = [str(o["kind"]).lower() for o in objects]  # type: ignore[index]
    split = [
        FileDiff(path=f"k8s/shop/{kind}.yaml", status="added", head=to_yaml(obj))
        for kind, obj in zip(kinds, objects, strict=True)
    ]
    assert run(FileDiff(path="k8s/shop/app.yaml", status="removed", base=base), *split) == []
    merged = [FileDiff(path=f.path, status="removed", base=f.head) for f in split] + [
        FileDiff(path="k8s/shop/all.yaml", status="added", head=base)
    ]
    assert run(*merged) == []


def test_moved_manifest_is_one_rename_and_moved_and_edited_is_one_update() -> None:
    deployment = (KSM / "deployment.json").read_bytes()
    moved = FileDiff(
        path="apps/monitoring/deployment.json",
        old_path="deploy/monitoring/deployment.json",
        status="renamed",
        base=deployment,
        head=deployment,
    )
    (change,) = run(moved)
    assert (change.op, change.address, change.kind) == ("rename", moved.path, "kubernetes")
    edited = json.loads(deployment)
    edited["spec"]["replicas"] = 2
    changes = run(
        FileDiff(path="deploy/monitoring/deployment.json", status="removed", base=deployment),
        FileDiff(path="apps/ksm.yaml", status="added", head=to_yaml(edited)),
    )
    (update,) = changes
    assert (update.op, update.address) == ("update", "Deployment/monitoring/kube-state-metrics")
    assert (update.file, update.old_file) == ("apps/ksm.yaml", "deploy/monitoring/deployment.json")
    assert [(f.path, f.before, f.after) for f in update.fields] == [("spec.replicas", 1, 2)]


def test_identity_includes_the_api_group_but_not_its_version() -> None:
    deployment = json.loads((KSM / "deployment.json").read_text())
    beta = {**deployment, "apiVersion": "apps/v1beta2"}
    changes = run(
        FileDiff(path="a.yaml", status="removed", base=to_yaml(beta)),
        FileDiff(path="b.yaml", status="added", head=to_yaml(deployment)),
    )
    (update,) = changes
    assert [(f.path, f.before, f.after) for f in update.fields] == [
        ("apiVersion", "apps/v1beta2", "apps/v1")
    ]
    # A custom resource of another group with the same kind and name is another object.
    other = {**deployment, "apiVersion": "apps.example.com/v1"}
    assert ops(run(FileDiff(path="a.yaml", base=to_yaml(deployment), head=to_yaml(other)))) == [
        ("create", "Deployment/monitoring/kube-state-metrics", "a.yaml"),
        ("delete", "Deployment/monitoring/kube-state-metrics", "a.yaml"),
    ]


def test_deleting_a_manifest_still_deletes_its_objects(pack: RulePack) -> None:
    binding = (KSM / "cluster-role-binding.json").read_bytes()
    (change,) = run(FileDiff(path="rbac/ksm.json", status="removed", base=binding))
    assert (change.op, change.address) == ("delete", "ClusterRoleBinding/kube-state-metrics")


def test_same_object_in_two_overlay_folders_pairs_within_each_file() -> None:
    deployment = json.loads((KSM / "deployment.json").read_text())
    staging = to_yaml(deployment)
    prod_base = to_yaml({**deployment, "spec": {**deployment["spec"], "replicas": 3}})
    prod_head = to_yaml({**deployment, "spec": {**deployment["spec"], "replicas": 4}})
    changes = run(
        FileDiff(path="overlays/staging/ksm.yaml", base=staging, head=staging + b"# pinned\n"),
        FileDiff(path="overlays/prod/ksm.yaml", base=prod_base, head=prod_head),
    )
    (update,) = changes
    assert update.file == "overlays/prod/ksm.yaml" and update.old_file is None
    assert [(f.path, f.before, f.after) for f in update.fields] == [("spec.replicas", 3, 4)]


def test_each_side_is_analyzed_as_what_it_is() -> None:
    """A manifest replaced by a plain settings file: its objects are deleted, the data is new."""
    service = (KSM / "service.json").read_bytes()
    settings = b'{"scrapeInterval": "30s", "targets": ["kube-state-metrics:8080"]}\n'
    changes = run(FileDiff(path="monitoring/ksm.json", base=service, head=settings))
    kinds = sorted((c.kind, c.op) for c in changes)
    assert ("kubernetes", "delete") in kinds
    assert {k for k, _ in kinds} == {"kubernetes", "data"}
    deleted = next(c for c in changes if c.kind == "kubernetes")
    assert deleted.address == "Service/monitoring/kube-state-metrics"
    # And the other way round: the manifest's objects are created, never diffed as data.
    back = run(FileDiff(path="monitoring/ksm.json", base=settings, head=service))
    assert ("kubernetes", "create", "Service/monitoring/kube-state-metrics") in [
        (c.kind, c.op, c.address) for c in back
    ]


def test_emptied_manifest_deletes_its_objects() -> None:
    service = (KSM / "service.json").read_bytes()
    changes = run(
        FileDiff(path="k8s/svc.yaml", base=to_yaml(json.loads(service)), head=b"# gone\n")
    )
    assert ops(changes) == [("delete", "Service/monitoring/kube-state-metrics", "k8s/svc.yaml")]


def test_a_manifest_broken_in_head_is_one_unparseable_change_not_deletes() -> None:
    base = (FIXTURES / "app_base.yaml").read_bytes()
    broken = base.replace(b"  replicas: 2", b"  replicas: [2", 1)
    (change,) = run(FileDiff(path="k8s/shop/app.yaml", base=base, head=broken))
    assert (change.kind, change.facts["detected_kind"]) == ("text", "kubernetes")
    assert change.unparseable
