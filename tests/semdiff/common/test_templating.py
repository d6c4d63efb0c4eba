"""Masking Helm/Jinja template actions: lines kept, placeholders by position, values as written,
and Helm templates analyzed as the Kubernetes objects they render."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import RepoConfig
from app.core.errors import UnparseableError
from app.core.models import Change, FileDiff
from app.core.yamlsafe import load_yaml_documents
from app.risk import evaluate, load_rule_pack
from app.semdiff.common.documents import read_documents
from app.semdiff.common.templating import find_actions, has_actions, mask, unmask
from app.semdiff.dispatch import analyze_file, kind_for
from tests.examples import examples

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "tests" / "fixtures" / "helm" / "checkout"
DEPLOYMENT = (CHART / "templates" / "deployment.yaml").read_text()
PATH = "charts/checkout/templates/deployment.yaml"


def analyze(base: str | None, head: str | None, path: str = PATH) -> list[Change]:
    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(
        path=path,
        status=status,
        base=None if base is None else base.encode(),
        head=None if head is None else head.encode(),
    )
    return analyze_file(file, RepoConfig())


def test_control_lines_become_blank_and_values_placeholders() -> None:
    text = (
        "spec:\n"
        "  {{- if not .Values.autoscaling.enabled }}\n"
        "  replicas: {{ .Values.replicaCount }}\n"
        "  {{- end }}\n"
    )
    masked = mask(text, "yaml")
    lines = masked.text.split("\n")
    assert lines[1] == "" and lines[3] == ""
    assert lines[2].startswith("  replicas: tpl_")
    [doc] = load_yaml_documents(masked.text)
    assert unmask(doc.value["spec"]["replicas"], masked.originals) == "{{ .Values.replicaCount }}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # nindent decides the indentation; mapping siblings make it a mapping entry
        (
            'metadata:\n  labels:\n    app: web\n    {{- include "x.labels" . | nindent 4 }}\n',
            {
                "metadata": {
                    "labels": {
                        "app": "web",
                        '{{- include "x.labels" . | nindent 4 }}': '{{- include "x.labels" . | nindent 4 }}',
                    }
                }
            },
        ),
        # list siblings make it a list item, even with control lines around it
        (
            "args:\n  - --port=80\n  {{- with .Values.extraArgs }}\n  {{- toYaml . | nindent 2 }}\n"
            "  {{- end }}\n",
            {"args": ["--port=80", "{{- toYaml . | nindent 2 }}"]},
        ),
        # `key: {{- include … | nindent N }}` renders a block under the key
        (
            'labels: {{- include "x.labels" . | nindent 2 }}\n  tier: web\n',
            {"labels": {"tier": "web"}},
        ),
        # a whole line of if/else/end is one templated key
        (
            "{{ if .Values.secret -}} stringData: {{- else -}} data: {{- end }}\n  a: b\n",
            {"{{ if .Values.secret -}} stringData: {{- else -}} data: {{- end }}": {"a": "b"}},
        ),
        # inside a `key: |` block the action is text of the block
        (
            "data:\n  prometheus.yml: |\n    global: {}\n    {{- toYaml .Values.extra | nindent 4 }}\n",
            {"data": {"prometheus.yml": "global: {}\n{{- toYaml .Values.extra | nindent 4 }}\n"}},
        ),
        # comments and assignments render nothing
        (
            '{{/*\nA comment\nover lines\n*/}}\n{{- $name := include "x" . -}}\nkind: Service\n',
            {"kind": "Service"},
        ),
    ],
)
def test_masked_templates_parse_as_written(text: str, expected: object) -> None:
    masked = mask(text, "yaml")
    assert masked.text.count("\n") == text.count("\n")
    [doc] = read_documents(text.encode(), "yaml", "chart/templates/x.yaml")
    assert doc.value == expected


def test_else_branches_are_kept_as_text_when_keys_repeat() -> None:
    text = (
        "env:\n"
        "  {{- if .Values.redis.enabled }}\n"
        "  REDIS_URL: redis://cache:6379\n"
        "  {{- else }}\n"
        '  REDIS_URL: ""\n'
        "  {{- end }}\n"
    )
    [doc] = read_documents(text.encode(), "yaml", "chart/templates/cm.yaml")
    assert doc.value["env"] == {"REDIS_URL": "redis://cache:6379"}
    assert doc.value["{{ else }}"] == ['REDIS_URL: ""']


def test_github_expressions_and_plain_yaml_are_not_templates() -> None:
    assert not has_actions(b"run: echo ${{ github.event.pull_request.title }}\n")
    assert not find_actions("a: '${{ secrets.TOKEN }}'\n")
    assert has_actions(b"x: {{ .Values.x }}\n")
    assert has_actions("{% if a %}\nDROP TABLE t;\n{% endif %}\n")


def test_unterminated_action_is_unparseable_with_its_line() -> None:
    with pytest.raises(UnparseableError) as err:
        mask("a: 1\nb: {{ .Values.b\nc: 3\n", "yaml", "t.yaml")
    assert err.value.line == 2


def test_action_strings_may_contain_closing_braces() -> None:
    [action] = find_actions('x: {{ printf "}}%s" .Values.y }}\n')
    assert action.text == '{{ printf "}}%s" .Values.y }}'


def test_helm_template_is_a_kubernetes_object_with_templated_address() -> None:
    file = FileDiff(path=PATH, status="added", base=None, head=DEPLOYMENT.encode())
    assert kind_for(file, RepoConfig().rule_for(PATH)) == "kubernetes"
    [change] = analyze(None, DEPLOYMENT)
    assert change.kind == "kubernetes"
    assert (
        change.address == 'Deployment/{{ .Release.Namespace }}/{{ include "checkout.fullname" . }}'
    )
    assert change.facts["templated"] is True
    assert "unparseable" not in change.facts
    image = change.facts["images_after"]["{{ .Chart.Name }}"]
    assert (
        image
        == "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
    )
    assert change.line == 1


def test_helm_template_change_is_one_field_and_risk_sees_it() -> None:
    head = DEPLOYMENT.replace(
        "{{ .Values.image.tag | default .Chart.AppVersion }}", "latest"
    ).replace(
        "            {{- toYaml .Values.securityContext | nindent 12 }}\n",
        "            privileged: true\n",
    )
    [change] = analyze(DEPLOYMENT, head)
    assert change.op == "update"
    paths = {f.path for f in change.fields}
    assert "spec.template.spec.containers[{{ .Chart.Name }}].image" in paths
    assert "spec.template.spec.containers[{{ .Chart.Name }}].securityContext.privileged" in paths
    rules = {f.rule for f in evaluate(load_rule_pack(ROOT / "risk_rules"), [change], is_agent=True)}
    assert {"k8s.image-unpinned", "k8s.privileged"} <= rules
    assert "analysis.unparseable" not in rules


def test_whitespace_control_only_edit_is_no_change() -> None:
    head = DEPLOYMENT.replace(
        "{{- if not .Values.autoscaling.enabled }}", "{{- if not .Values.autoscaling.enabled -}}"
    )
    assert analyze(DEPLOYMENT, head) == []


def test_template_that_is_broken_yaml_after_masking_is_unparseable() -> None:
    broken = DEPLOYMENT.replace("  selector:\n", "  selector: [\n")
    [change] = analyze(DEPLOYMENT, broken)
    assert change.kind == "text"
    assert "invalid YAML" in change.facts["unparseable"]


def test_helpers_tpl_is_text_not_unparseable() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    [change] = analyze(None, helpers, "charts/checkout/templates/_helpers.tpl")
    assert change.kind == "text" and "unparseable" not in change.facts


LINE = st.text(alphabet="abc :-_#\"'", max_size=12)
ACTION = st.sampled_from(
    [
        "{{ .Values.a }}",
        "{{- if .Values.b }}",
        "{{- end }}",
        "{{/* note */}}",
        '{{ include "x" . | nindent 4 }}',
        "{% if x %}",
        "{{ $v := 1 }}",
        "{{ .A\n| quote }}",
    ]
)


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(st.tuples(LINE, st.lists(st.tuples(ACTION, LINE), max_size=3)), max_size=12),
    st.sampled_from(["yaml", "sql"]),
)
def test_masking_keeps_lines_and_plain_text_positions(
    lines: list[tuple[str, list[tuple[str, str]]]], target: str
) -> None:
    text = "\n".join(head + "".join(a + t for a, t in rest) for head, rest in lines)
    masked = mask(text, target)  # type: ignore[arg-type]
    assert masked.text.count("\n") == text.count("\n")
    touched: dict[int, int] = {}  # line -> column of the first action starting on it
    for action in find_actions(text):
        first = text.count("\n", 0, action.start)
        column = action.start - (text.rfind("\n", 0, action.start) + 1)
        touched.setdefault(first, column)
        for number in range(first + 1, first + action.text.count("\n") + 1):
            touched.setdefault(number, 0)
    for number, (original, out) in enumerate(
        zip(text.split("\n"), masked.text.split("\n"), strict=True)
    ):
        if number not in touched:
            assert out == original  # a line without actions is untouched
        elif original[: touched[number]].strip():
            assert out.startswith(original[: touched[number]])  # text before keeps its column


@settings(max_examples=examples(40), deadline=None)
@given(st.sampled_from(sorted((CHART / "templates").glob("*"))))
def test_same_template_on_both_sides_is_no_change(path: Path) -> None:
    text = path.read_text()
    assert analyze(text, text, f"charts/checkout/templates/{path.name}") == []


def test_plain_yaml_quoting_a_template_is_read_as_data() -> None:
    """A data file whose strings quote Helm actions (with escaped quotes) is not a template."""
    from app.semdiff.common.documents import read_documents

    text = (
        "labels:\n"
        "  - rule: k8s.delete\n"
        '    address: "Deployment/{{ include \\"grafana.namespace\\" . }}/{{ include \\"x\\" . }}"\n'
        "    verdict: wrong\n"
    )
    [doc] = read_documents(text.encode(), "yaml", "labels.yaml")
    assert doc.value["labels"][0]["address"] == (
        'Deployment/{{ include "grafana.namespace" . }}/{{ include "x" . }}'
    )
