"""One rule for a Kubernetes Secret's values (`app.core.redact.is_k8s_secret_data`), applied by
the Kubernetes analyzer (sealed before diffing) and again by the audit chain (before hashing)."""

from __future__ import annotations

from typing import Any

import pytest

from app.config.repo import PathRule
from app.core.models import REDACTED, FileDiff
from app.core.redact import is_k8s_secret_data
from app.semdiff.kubernetes import objects as kubernetes
from app.store.audit.chain import sanitize_payload

MANIFEST = """apiVersion: v1
kind: {kind}
metadata:
  name: orders
  labels:
    tier: {value}
{section}:
  host: {value}
"""


@pytest.mark.parametrize(
    ("kind", "path", "secret"),
    [
        ("Secret", "data.host", True),
        ("Secret", "stringData[host]", True),
        ("Secret", "data", True),
        ("Secret", "metadata.labels.tier", False),
        ("Secret", "type", False),
        ("ConfigMap", "data.host", False),
        (None, "data.host", False),
    ],
)
def test_the_rule(kind: str | None, path: str, secret: bool) -> None:
    assert is_k8s_secret_data(kind, path) is secret


def analyzed(kind: str, section: str) -> dict[str, tuple[Any, Any]]:
    base = MANIFEST.format(kind=kind, section=section, value="db-1").encode()
    head = MANIFEST.format(kind=kind, section=section, value="db-2").encode()
    file = FileDiff(path="deploy/orders.yaml", status="modified", base=base, head=head)
    return {
        f.path: (f.before, f.after) for c in kubernetes.analyze(file, PathRule()) for f in c.fields
    }


@pytest.mark.parametrize(
    ("kind", "section"), [("Secret", "data"), ("Secret", "stringData"), ("ConfigMap", "data")]
)
def test_the_kubernetes_analyzer_seals_what_the_rule_names(kind: str, section: str) -> None:
    fields = analyzed(kind, section)
    assert set(fields) == {f"{section}.host", "metadata.labels.tier"}
    for path, values in fields.items():
        hidden = is_k8s_secret_data(kind, path)
        assert values == ((REDACTED, REDACTED) if hidden else ("db-1", "db-2")), path


@pytest.mark.parametrize(
    ("address", "path"),
    [
        ("Secret/default/orders", "data.host"),
        ("Secret/default/orders", "stringData[host]"),
        ("Secret/default/orders", "metadata.labels.tier"),
        ("ConfigMap/default/orders", "data.host"),
    ],
)
def test_the_audit_chain_redacts_what_the_rule_names(address: str, path: str) -> None:
    payload = {"report": {"changes": [{"address": address, "fields": [
        {"path": path, "before": "db-1", "after": "db-2"}]}]}}  # fmt: skip
    [field] = sanitize_payload(payload)["report"]["changes"][0]["fields"]
    hidden = is_k8s_secret_data(address.split("/")[0], path)
    assert (field["before"], field["after"]) == (
        (REDACTED, REDACTED) if hidden else ("db-1", "db-2")
    )
