"""A key written as `{{- $key | nindent 2 }}` sits where nindent puts it (#24).

An excerpt, trimmed, of grafana/helm-charts `charts/grafana/templates/configSecret.yaml`
(Apache-2.0) before 3a90565916: the same idiom written at column 0 and at column 2.
"""

from __future__ import annotations

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.semdiff.dispatch import analyze_files

CONFIG_SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: {{ include "grafana.fullname" . }}-config-secret
stringData:
{{- range $key, $value := .Values.datasources }}
{{- if (hasKey $value "secret") }}
{{- $key | nindent 2 }}: |
  {{- tpl (toYaml $value.secret | nindent 4) $root }}
{{- end }}
{{- end }}
{{- range $key, $value := .Values.alerting }}
{{ if (hasKey $value "secret") }}
  {{- $key | nindent 2 }}: |
    {{- tpl (toYaml $value.secret | nindent 4) $root }}
  {{- end }}
{{- end }}
%s"""


def test_keys_rendered_by_nindent_line_up_wherever_the_action_is_written() -> None:
    path = "charts/grafana/templates/configSecret.yaml"
    diff = FileDiff(
        path=path,
        base=(CONFIG_SECRET % "").encode(),
        head=(CONFIG_SECRET % "type: Opaque\n").encode(),
    )
    changes = analyze_files([diff], RepoConfig())
    assert [c.unparseable for c in changes] == [None]
    assert [(c.kind, [f.path for f in c.fields]) for c in changes] == [("kubernetes", ["type"])]
