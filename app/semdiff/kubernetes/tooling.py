"""Files that configure Kubernetes tools, not the cluster: kustomize, Helm, ksonnet, skaffold.

Only cluster objects are Kubernetes objects. A `Kustomization` has `apiVersion`/`kind` but nothing
named by it runs in the cluster: deleting the file is not deleting a Deployment, so it must never
be judged as one. These files are `data` changes with `facts.format` saying what they are:

- `kustomize` (`kustomization.yaml`/`.yml`/`Kustomization`, or a `kustomize.config.k8s.io` kind):
  read by `kustomize.py`, one change per resource, patch, image, generator…;
- `helm-chart` (`Chart.yaml`): version, appVersion and dependencies (`helm.py`);
- `helm-values` (`values*.yaml`): the generic data diff;
- `tool-config` (ksonnet `app.yaml`, skaffold, kind, kpt, blueprint `metadata.yaml`): the generic
  data diff;
- `helm-unittest` (a chart's `tests/*_test.yaml` suites): the generic data diff, test cases
  matched by their `it` name, so one edited case is one field, not the whole suite.

Argo CD `Application`s, Flux `Kustomization`s and other custom resources *are* cluster objects.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Any, Literal

from app.config.repo import PathRule
from app.core.models import Change, FileDiff
from app.core.yamlsafe import YamlDocument
from app.semdiff.common import data
from app.semdiff.common.documents import read_documents, structured_format
from app.semdiff.kubernetes import helm, kustomize

__all__ = ["ToolFormat", "analyze", "format_for", "is_kustomization_path"]

ToolFormat = Literal["kustomize", "helm-chart", "helm-values", "tool-config", "helm-unittest"]

KUSTOMIZATION_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
KUSTOMIZE_GROUP = "kustomize.config.k8s.io/"
# API groups of tools' own config files (never applied to a cluster).
# `blueprints.cloud.google.com`: a Terraform blueprint's `metadata.yaml` (BlueprintMetadata).
TOOL_GROUPS = (
    "skaffold/",
    "kind.x-k8s.io/",
    "kpt.dev/",
    "ctlptl.dev/",
    "k3d.io/",
    "blueprints.cloud.google.com/",
)
_API_VERSION = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$")
_KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_VALUES = re.compile(r"^values([-._][A-Za-z0-9_.-]+)?\.ya?ml$")


def is_kustomization_path(path: str) -> bool:
    return posixpath.basename(path) in KUSTOMIZATION_NAMES


def _templated(value: str) -> bool:
    return "{{" in value


def _tool_object(value: Any) -> ToolFormat | None:
    """The tool format of one document with apiVersion/kind, None for a cluster object."""
    if not isinstance(value, dict):
        return None
    api, kind = value.get("apiVersion"), value.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        return None
    if api.startswith(KUSTOMIZE_GROUP):
        return "kustomize"
    if api.startswith(TOOL_GROUPS):
        return "tool-config"
    if _templated(api) or _templated(kind):
        return None  # a Helm template's kind/apiVersion: a cluster object once rendered
    if not _API_VERSION.match(api) or not _KIND.match(kind):
        return "tool-config"  # ksonnet `apiVersion: 0.3.0, kind: ksonnet.io/app`
    return None


def _unittest_suite(value: Any) -> bool:
    """A helm-unittest suite: `suite`, `templates` and a `tests` list of `it` cases."""
    tests = value.get("tests") if isinstance(value, dict) else None
    return (
        isinstance(value, dict)
        and "suite" in value
        and isinstance(tests, list)
        and all(isinstance(t, dict) and "it" in t for t in tests)
    )


def format_for(path: str, docs: Sequence[YamlDocument] | None) -> ToolFormat | None:
    """What tool a file configures, from its name first and then its documents."""
    name = posixpath.basename(path)
    if name in KUSTOMIZATION_NAMES:
        return "kustomize"
    if name in ("Chart.yaml", "Chart.yml"):
        return "helm-chart"
    if _VALUES.match(name):
        return "helm-values"
    if any(_unittest_suite(d.value) for d in docs or ()):
        return "helm-unittest"
    found = {_tool_object(d.value) for d in docs or ()}
    if "kustomize" in found:
        return "kustomize"
    if "tool-config" in found:
        return "tool-config"
    return None


def _docs(file: FileDiff) -> tuple[YamlDocument, ...]:
    sample = file.head if file.head is not None else file.base
    if sample is None:
        return ()
    return read_documents(sample, "yaml", file.path)


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """The `data` analyzer: tool files by what they configure, other data key by key."""
    fmt = structured_format(file.path)
    tool: ToolFormat | None = None
    if is_kustomization_path(file.path):
        tool = "kustomize"
    elif fmt == "yaml":
        tool = format_for(file.path, _docs(file))
    if tool == "kustomize":
        return kustomize.analyze(file)
    if tool == "helm-chart":
        return helm.analyze_chart(file)
    changes = data.analyze(file, rule)
    if tool is None:
        return changes
    return [c.model_copy(update={"facts": {**c.facts, "format": tool}}) for c in changes]
