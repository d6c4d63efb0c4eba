"""A stateless object renamed in a PR is one rename, not a delete and a create (#24).

A faithful re-creation, trimmed, of kubeflow/manifests c736d93926 (Apache-2.0): the models web
app's Service and ServiceAccount renamed `kserve-models-web-app` → `…-application`.
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: %(name)s
  namespace: kserve
  labels:
    app: %(name)s
spec:
  selector:
    app: %(name)s
  ports:
    - port: 80
      targetPort: 5000
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: %(name)s
  namespace: kserve
"""
PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: %(name)s
  namespace: kserve
spec:
  resources:
    requests:
      storage: 1Gi
"""


def run(template: str, old: str, new: str) -> list[tuple[str, str, str]]:
    path = "applications/kserve/models-web-app/base/service.yaml"
    diff = FileDiff(
        path=path,
        base=(template % {"name": old}).encode(),
        head=(template % {"name": new}).encode(),
    )
    changes = analyze_files([diff], RepoConfig())
    findings = evaluate_rules(PACK, changes, is_agent=True, author="x")
    return sorted((f.rule, f.severity, f.address or "") for f in findings)


def test_a_renamed_service_is_a_rename() -> None:
    found = run(SERVICE, "kserve-models-web-app", "kserve-models-web-application")
    assert ("k8s.rename", "medium", "Service/kserve/kserve-models-web-application") in found
    assert ("k8s.rename", "medium", "ServiceAccount/kserve/kserve-models-web-application") in found
    assert not [f for f in found if f[0] == "k8s.delete"]


def test_a_renamed_object_that_also_changed_is_still_a_delete() -> None:
    changed = SERVICE.replace("targetPort: 5000", "targetPort: %(name)s")
    found = run(changed.replace("%(name)s\n---", "%(name)s\n---"), "a-app", "b-app")
    # The port now names the new app too, which the renaming explains: still a rename.
    assert ("k8s.rename", "medium", "Service/kserve/b-app") in found
    other = SERVICE.replace("port: 80", "port: 81")
    path = "applications/kserve/models-web-app/base/service.yaml"
    diff = FileDiff(
        path=path,
        base=(SERVICE % {"name": "a-app"}).encode(),
        head=(other % {"name": "b-app"}).encode(),
    )
    changes = analyze_files([diff], RepoConfig())
    ops = {(c.op, c.address) for c in changes}
    assert ("delete", "Service/kserve/a-app") in ops
    assert ("rename", "ServiceAccount/kserve/b-app") in ops


def test_a_renamed_volume_claim_stays_a_delete() -> None:
    found = run(PVC, "models-data", "models-store")
    assert ("k8s.delete-stateful", "critical", "PersistentVolumeClaim/kserve/models-data") in found


def test_a_rename_reads_the_same_both_ways() -> None:
    """A one-letter name is also a substring of keys (`a` in `data`): writing the old name as the
    new one on the base side only found `h` → `a` a rename but `a` → `h` a delete and a create
    (hypothesis, test_objects' swap property)."""
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %(name)s}\ndata: {k: v}\n"

    def ops(old: str, new: str) -> list[tuple[str, str]]:
        diff = FileDiff(
            path="cm.yaml",
            base=(config_map % {"name": old}).encode(),
            head=(config_map % {"name": new}).encode(),
        )
        return sorted((c.op, c.address or "") for c in analyze_files([diff], RepoConfig()))

    # `a` is written inside `data` too: no placeholder makes the bodies equal, either way.
    assert ops("a", "h") == [("create", "ConfigMap/default/h"), ("delete", "ConfigMap/default/a")]
    assert ops("h", "a") == [("create", "ConfigMap/default/a"), ("delete", "ConfigMap/default/h")]
    assert ops("settings", "settings-v2") == [("rename", "ConfigMap/default/settings-v2")]
    assert ops("settings-v2", "settings") == [("rename", "ConfigMap/default/settings")]
