"""The Helm chart, rendered by Helm's own engine (helm-python-sdk: Helm's Go SDK as a library)
and every manifest validated against the Kubernetes schemas (kubernetes-validate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from helm_python.chart import Chart
from helm_python.errors import HelmError
from ruamel.yaml import YAML

from app.config.settings import shipped_dir
from app.core.models import FileDiff
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "countersign"
KUBE_VERSION = "1.30.0"
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {"existingSecret": "countersign"},
    "ingress and one replica each": {
        "existingSecret": "countersign",
        "ingress": {"enabled": True, "className": "nginx", "tlsSecretName": "countersign-tls"},
        "web": {"replicas": 1},
        "worker": {"replicas": 1, "threads": 4},
    },
    "no migration job": {"existingSecret": "countersign", "migration": {"enabled": False}},
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    rendered = Chart.load(CHART).render(values, name="cs", namespace="ci", is_install=True)
    yaml = YAML(typ="safe")
    docs: list[dict[str, Any]] = []
    for text in rendered.values():
        docs.extend(d for d in yaml.load_all(text) if d)
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_rendered_manifest_is_valid_kubernetes(values: dict[str, Any]) -> None:
    docs = render(values)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_web_and_worker_run_non_root_on_a_read_only_root_with_probes() -> None:
    docs = render(VALUE_SETS["defaults"])
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {"cs-countersign-web", "cs-countersign-worker"}
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert container["envFrom"] == [{"secretRef": {"name": "countersign"}}]
        assert container["resources"]["requests"]
    web = deployments["cs-countersign-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["args"][:4] == ["countersign", "serve", "--role", "web"]
    worker = deployments["cs-countersign-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"][:4] == ["countersign", "serve", "--role", "worker"]
    assert set(by_kind(docs, "PodDisruptionBudget")) == {
        "cs-countersign-web",
        "cs-countersign-worker",
    }
    assert set(by_kind(docs, "Service")) == {"cs-countersign"}
    assert not by_kind(docs, "Ingress")


def test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook() -> None:
    jobs = by_kind(render(VALUE_SETS["defaults"]), "Job")
    job = jobs["cs-countersign-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["countersign", "db", "upgrade"]
    assert not by_kind(render(VALUE_SETS["no migration job"]), "Job")


def test_secrets_are_referenced_never_rendered_or_valued() -> None:
    docs = render(VALUE_SETS["defaults"])
    assert not by_kind(docs, "Secret")
    values = YAML(typ="safe").load((CHART / "values.yaml").read_text())
    secretish = ("SECRET", "PRIVATE_KEY", "PASSWORD", "TOKEN", "DATABASE_URL")
    assert not [name for name in values["env"] if any(word in name for word in secretish)]
    with pytest.raises(HelmError, match="existingSecret"):
        render({})


def test_every_value_is_documented() -> None:
    """Each top-level key has a `# --` comment, or is a section each of whose keys has one."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented: list[str] = []
    section_documented = False
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#") or ":" not in stripped:
            continue
        depth = len(line) - len(stripped)
        above = index - 1
        while above >= 0 and lines[above].strip().startswith("#"):
            if lines[above].strip().startswith("# --"):
                break
            above -= 1
        documented = above >= 0 and lines[above].strip().startswith("# --")
        if depth == 0:
            section_documented = documented
            if not documented and not line.rstrip().endswith(":"):
                undocumented.append(line)
        elif depth == 2 and not section_documented and not documented:
            undocumented.append(line)
    assert undocumented == []


def test_countersign_reads_the_rendered_manifests_without_an_unparseable_finding() -> None:
    rendered = Chart.load(CHART).render(
        VALUE_SETS["ingress and one replica each"], name="cs", namespace="ci", is_install=True
    )
    files = tuple(
        FileDiff(path=f"rendered/{path}", status="added", head=text.encode())
        for path, text in rendered.items()
        if text.strip()
    )
    snapshot = PullRequestSnapshot(repo="acme/countersign", files=files)
    gate = Gatekeeper.load(shipped_dir("risk_rules"), shipped_dir("policies"))
    report = evaluate(snapshot, gate)
    assert {c.file for c in report.changes} == {f.path for f in files}
    assert {c.kind for c in report.changes} == {"kubernetes"}
    assert [f for f in report.findings if "unparseable" in f.rule] == []
