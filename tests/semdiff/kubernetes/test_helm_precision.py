"""Helm templates on charts the engine was not tuned on (issue #24).

Excerpts, trimmed, of cert-manager's webhook Deployment template (bd32ea4d28) and argo-helm's
argo-cd templates (3eb00c4669 and the topology-spread idiom), both Apache-2.0.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import RulePack, evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

ROOT = Path(__file__).resolve().parents[3]

WEBHOOK = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "webhook.fullname" . }}
  namespace: {{ include "cert-manager.namespace" . }}
spec:
  replicas: {{ .Values.webhook.replicaCount }}
  template:
    spec:
      serviceAccountName: {{ template "webhook.serviceAccountName" . }}
      {{- if .Values.webhook.hostNetwork }}
      hostNetwork: true
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}-webhook
          image: "%s"
"""

PROMETHEUS_RULE = """%s{{- if and (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") .Values.controller.metrics.rules.enabled }}
apiVersion: %s
kind: PrometheusRule
metadata:
  name: {{ template "argo-cd.controller.fullname" . }}
spec:
  groups:
    - name: argocd
      rules: %s
{{- end }}
"""

SPREAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ template "argo-cd.controller.fullname" . }}
spec:
  template:
    spec:
      {{- with .Values.controller.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- range $constraint := . }}
      - {{ toYaml $constraint | nindent 8 | trim }}
          {{- if not $constraint.labelSelector }}
        labelSelector:
          matchLabels:
            {{- include "argo-cd.selectorLabels" (dict "context" $ "name" "x") | nindent 12 }}
          {{- end }}
        {{- end }}
      {{- end }}
      containers:
        - name: controller
          image: "%s"
"""


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def run(path: str, base: str, head: str) -> list[Change]:
    diff = FileDiff(path=path, base=base.encode(), head=head.encode())
    return analyze_files([diff], RepoConfig(), [])


def rules(pack: RulePack, changes: list[Change]) -> list[tuple[str, str]]:
    findings = evaluate_rules(pack, changes, is_agent=True, author="renovate[bot]")
    return sorted((f.rule, f.severity) for f in findings)


def test_host_network_inside_a_value_condition_is_conditional(pack: RulePack) -> None:
    path = "deploy/charts/cert-manager/templates/webhook-deployment.yaml"
    (change,) = run(path, WEBHOOK % "webhook:v1.18.0", WEBHOOK % "webhook:v1.18.1")
    assert change.facts["host_network"] is True
    assert change.facts["conditional_privileges"] == ["host_network"]
    assert ("k8s.privileged", "high") not in rules(pack, [change])
    assert ("k8s.privileged-conditional", "medium") in rules(pack, [change])


def test_host_network_set_unconditionally_is_still_high(pack: RulePack) -> None:
    plain = WEBHOOK.replace("      {{- if .Values.webhook.hostNetwork }}\n", "").replace(
        "      hostNetwork: true\n      {{- end }}\n", "      hostNetwork: true\n"
    )
    path = "deploy/charts/cert-manager/templates/webhook-deployment.yaml"
    (change,) = run(path, plain % "webhook:v1.18.0", plain % "webhook:v1.18.1")
    assert "conditional_privileges" not in change.facts
    # An image bump grants nothing new (privileges_added): only the grant itself is high.
    assert ("k8s.privileged", "high") not in rules(pack, [change])
    before = plain.replace("      hostNetwork: true\n", "")
    (change,) = run(path, before % "webhook:v1.18.0", plain % "webhook:v1.18.0")
    assert change.facts["privileges_added"] == ["host_network"]
    assert ("k8s.privileged", "high") in rules(pack, [change])


def test_a_condition_around_the_whole_object_does_not_soften_it(pack: RulePack) -> None:
    wrapped = (
        "{{- if .Values.webhook.enabled }}\n"
        + WEBHOOK.replace(
            "      {{- if .Values.webhook.hostNetwork }}\n      hostNetwork: true\n      {{- end }}\n",
            "      hostNetwork: true\n",
        )
        + "{{- end }}\n"
    )
    path = "deploy/charts/cert-manager/templates/webhook-deployment.yaml"
    before = wrapped.replace("      hostNetwork: true\n", "")
    (change,) = run(path, before % "webhook:v1.18.0", wrapped % "webhook:v1.18.1")
    assert ("k8s.privileged", "high") in rules(pack, [change])


def test_a_templated_api_version_keeps_the_object_identity(pack: RulePack) -> None:
    path = "charts/argo-cd/templates/argocd-application-controller/prometheusrule.yaml"
    base = PROMETHEUS_RULE % ("", "monitoring.coreos.com/v1", "[]")
    head = PROMETHEUS_RULE % (
        '{{- $apiVersion := include "argo-cd.apiVersions.monitoring" . }}\n',
        "{{ $apiVersion }}",
        "[]",
    )
    changes = run(path, base, head)
    assert [(c.op, c.address.split("/")[0]) for c in changes] == [("update", "PrometheusRule")]
    assert [f.path for f in changes[0].fields] == ["apiVersion"]
    assert not [r for r, _ in rules(pack, changes) if r == "k8s.delete"]


def test_toyaml_trim_list_item_followed_by_a_key_parses() -> None:
    path = "charts/argo-cd/templates/argocd-application-controller/deployment.yaml"
    (change,) = run(path, SPREAD % "argocd:v3.0.0", SPREAD % "argocd:v3.0.1")
    assert change.kind == "kubernetes"
    assert [f.path for f in change.fields] == ["spec.template.spec.containers[controller].image"]
