"""Tool files that look like Kubernetes objects or dump as whole arrays (issue #24).

Re-creations of a terraform-google-kubernetes-engine `metadata.yaml` (BlueprintMetadata,
Apache-2.0) and of an ingress-nginx helm-unittest suite (Apache-2.0).
"""

from __future__ import annotations

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.semdiff.dispatch import analyze_files

BLUEPRINT = """apiVersion: blueprints.cloud.google.com/v1alpha1
kind: BlueprintMetadata
metadata:
  name: terraform-google-kubernetes-engine
  annotations:
    config.kubernetes.io/local-config: "true"
spec:
  info:
    title: Terraform Kubernetes Engine Module
    source:
      repo: https://github.com/terraform-google-modules/terraform-google-kubernetes-engine.git
      sourceType: git
    version: %s
"""

SUITE = """suite: Controller > Deployment
templates:
  - controller-deployment.yaml

tests:
  - it: should create a Deployment
    set:
      controller.kind: Deployment
    asserts:
      - hasDocuments:
          count: 1
      - isKind:
          of: Deployment
%s
  - it: should create a Deployment with resource limits if `controller.resources.limits` is set
    set:
      controller.resources.limits.cpu: 500m
      controller.resources.limits.memory: 512Mi
    asserts:
      - equal:
          path: spec.template.spec.containers[0].resources.limits.cpu
          value: 500m
      - equal:
          path: spec.template.spec.containers[0].resources.limits.memory
          value: 512Mi
"""


def run(path: str, base: str, head: str) -> list[Change]:
    return analyze_files(
        [FileDiff(path=path, base=base.encode(), head=head.encode())], RepoConfig(), []
    )


def test_blueprint_metadata_is_tool_config_not_a_cluster_object() -> None:
    (change,) = run("metadata.yaml", BLUEPRINT % "38.0.0", BLUEPRINT % "38.1.0")
    assert (change.kind, change.facts["format"]) == ("data", "tool-config")
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("spec.info.version", "38.0.0", "38.1.0")
    ]


def test_a_helm_unittest_case_edit_is_one_case_not_the_whole_suite() -> None:
    extra = (
        "      - equal:\n          path: metadata.name\n          value: RELEASE-NAME-controller"
    )
    (change,) = run(
        "charts/ingress-nginx/tests/controller-deployment_test.yaml", SUITE % "", SUITE % extra
    )
    assert (change.kind, change.facts["format"]) == ("data", "helm-unittest")
    (field,) = change.fields
    assert field.path == "tests[should create a Deployment].asserts"
    assert len(str(field.after)) < 300
