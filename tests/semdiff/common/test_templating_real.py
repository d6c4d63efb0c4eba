"""Shapes found by `make corpus` on real repositories that used to be called unparseable."""

from __future__ import annotations

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.core.yamlsafe import load_yaml
from app.semdiff.common.documents import read_documents
from app.semdiff.common.templating import has_actions
from app.semdiff.dispatch import analyze_file

# A coverage gate in a real workflow: shell `${#files[@]}` and `${{ env.X }}` are not templates.
WORKFLOW = """name: python
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Coverage per file
        run: |
          files=($(git diff main...HEAD --name-only))
          if [[ ${#files[@]} > 0 ]]; then
            echo "coverage of ${{ env.COVERAGE_SINGLE }}% not reached for ${files[0]}"
          fi
"""

# Two sibling `if` blocks (no `else`) that may each set the same key, as Helm charts write them.
TEMPLATE = """apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: {{ template "stack.fullname" . }}-prometheus
spec:
{{- if .Values.additionalScrapeConfigs }}
  additionalScrapeConfigs:
    name: {{ template "stack.fullname" . }}-scrape-config
    key: additional-scrape-configs.yaml
{{- end }}
{{- if .Values.additionalScrapeConfigsSecret.enabled }}
  additionalScrapeConfigs:
    name: {{ .Values.additionalScrapeConfigsSecret.name }}
    key: {{ .Values.additionalScrapeConfigsSecret.key }}
{{- end }}
"""


def test_shell_expansions_and_github_expressions_are_not_template_actions() -> None:
    assert not has_actions(WORKFLOW)
    file = FileDiff(
        path=".github/workflows/python.yml",
        base=WORKFLOW.encode(),
        head=WORKFLOW.replace("@v4", "@v5").encode(),
    )
    changes = analyze_file(file, RepoConfig())
    assert changes and not any(c.unparseable for c in changes)
    assert {c.kind for c in changes} == {"workflow"}


def test_a_plain_equals_sign_is_a_string_as_in_yaml_1_2() -> None:
    # CRDs list operators (`=`, `!=`); YAML 1.1's "value" type must not make them unreadable.
    assert load_yaml("operators:\n  - =\n  - '!='\n") == {"operators": ["=", "!="]}


def test_sibling_if_blocks_setting_one_key_keep_every_branch_visible() -> None:
    (doc,) = read_documents(TEMPLATE.encode(), "yaml", "templates/prometheus.yaml")
    spec = doc.value["spec"]
    assert spec["additionalScrapeConfigs"]["key"] == "additional-scrape-configs.yaml"
    second = spec["additionalScrapeConfigs (branch 2)"]
    assert second["key"] == "{{ .Values.additionalScrapeConfigsSecret.key }}"
    changed = TEMPLATE.replace(
        "additionalScrapeConfigsSecret.key", "additionalScrapeConfigsSecret.k"
    )
    file = FileDiff(
        path="charts/stack/templates/prometheus.yaml",
        base=TEMPLATE.encode(),
        head=changed.encode(),
    )
    changes = analyze_file(file, RepoConfig())
    assert not any(c.unparseable for c in changes)
    paths = [f.path for c in changes for f in c.fields]
    assert any("additionalScrapeConfigs (branch 2)" in p for p in paths), paths
