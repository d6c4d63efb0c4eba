"""A Helm `Chart.yaml` read as a chart's identity: version, appVersion, dependencies.

Each top-level key is one change (`version`, `appVersion`, `kubeVersion`…) and each dependency is
its own change (`dependencies[postgresql]`, by alias or name) so that bumping one subchart is one
readable field change. Facts carry the chart name and the versions on both sides. Values files are
plain data (see `tooling`); templates are Kubernetes manifests once masked (see `templating`).
"""

from __future__ import annotations

from typing import Any

from app.core.models import Change, FileDiff
from app.semdiff.kubernetes.kustomize import Entries, diff_sections, read_side

__all__ = ["analyze_chart", "chart_entries"]


def chart_entries(value: Any) -> Entries:
    """{(key, dependency name or None): value} of one Chart.yaml."""
    out: Entries = {}
    if not isinstance(value, dict):
        return out
    for key, content in value.items():
        if key == "dependencies" and isinstance(content, list):
            for index, dep in enumerate(content):
                name = dep.get("alias") or dep.get("name") if isinstance(dep, dict) else None
                out[("dependencies", str(name if name is not None else index))] = dep
        else:
            out[(str(key), None)] = content
    return out


def analyze_chart(file: FileDiff) -> list[Change]:
    """Changes of a Chart.yaml; every change says which chart and which versions."""
    base, base_doc = read_side(file.base, file.old_path or file.path, chart_entries)
    head, head_doc = read_side(file.head, file.path, chart_entries)

    def facts(section: str, before: Any, after: Any) -> dict[str, Any]:
        chart = head.get(("name", None)) or base.get(("name", None))
        out: dict[str, Any] = {"chart": chart}
        if section in ("version", "appVersion"):
            out["version_before"] = None if before is None else str(before)
            out["version_after"] = None if after is None else str(after)
        if section == "dependencies":
            for side, dep in (("before", before), ("after", after)):
                version = dep.get("version") if isinstance(dep, dict) else None
                out[f"version_{side}"] = None if version is None else str(version)
        return out

    return diff_sections(file.path, "helm-chart", (base, base_doc), (head, head_doc), facts)
