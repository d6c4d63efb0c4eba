"""The tree-sitter HCL reader: values, canonical expression text, heredocs, templates, errors,
and the incremental re-parse of the other side of a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from app.core.errors import UnparseableError
from app.semdiff.terraform.hcl import _parser, read_items
from app.semdiff.terraform.parse import TfFile, parse_side
from app.semdiff.terraform.reparse import apply_edits, chunks_of, find_edits
from tests.examples import examples
from tests.semdiff.terraform.hcl_corpus import Doc, Style, documents, render, styles

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"


def value_of(expression: str) -> Any:
    text = f'resource "null_resource" "probe" {{\n  x = {expression}\n}}\n'
    parsed = parse_side(text.encode(), "hcl", "probe.tf")
    return parsed.objects["null_resource.probe"].body["x"]


# -- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ('"plain"', "plain"),
        ("-1", -1),
        ("- 1", -1),
        ("1.50", 1.5),
        ("true", True),
        ("null", None),
        ("string", "string"),  # a bare name, as Terraform's JSON syntax writes it
        ('[1, "a", var.x]', [1, "a", "${var.x}"]),
        ("{a = {b = var.x}, c: [true]}", {"a": {"b": "${var.x}"}, "c": [True]}),
        ('"x${var.env}y"', "x${var.env}y"),
        ('"$${literal}"', "$${literal}"),
        ('"tab\\there \\"q\\" \\u00e9"', 'tab\there "q" é'),
        ('"%{ if var.a }x%{ else }y%{ endif }"', "%{ if var.a }x%{ else }y%{ endif }"),
        ('"%{for k, v in m}${k}=${v},%{endfor}"', "%{ for k, v in m }${k}=${v},%{ endfor }"),
        ('"${~ var.a ~}  b"', "${var.a}b"),
        ("a.b[0].c", "${a.b[0].c}"),
        ("a.0.b", "${a[0].b}"),
        ("aws_instance.web[*].id", "${aws_instance.web[*].id}"),
        ("aws_instance.web.*.private_ip", "${aws_instance.web.*.private_ip}"),
        ("var.on ? 1 : 0", "${var.on ? 1 : 0}"),
        ("a + b * (c - 1)", "${a + b * (c - 1)}"),
        ('!var.a && b != ""', '${!var.a && b != ""}'),
        ('[for s in var.l : upper(s) if s != ""]', '${[for s in var.l : upper(s) if s != ""]}'),
        ("{for k, v in var.m : v => k...}", "${{for k, v in var.m : v => k...}}"),
        ("provider::terraform::encode_tfvars(x)", "${provider::terraform::encode_tfvars(x)}"),
        ("concat(var.a, var.b...)", "${concat(var.a, var.b...)}"),
        ('jsonencode({Version = "2012-10-17"})', '${jsonencode({Version = "2012-10-17"})}'),
        ('{"a-b" = 1, (var.k) = 2}', {"a-b": 1, "${var.k}": 2}),
        ('f({"a-b" = 1, (var.k) = 2})', '${f({"a-b" = 1, (var.k) = 2})}'),
    ],
)
def test_values(expression: str, value: Any) -> None:
    assert value_of(expression) == value


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('"${var.x}"', "var.x"),
        ('"${ var.x }"', "var.x"),
        ('f("${var.x}")', "f(var.x)"),
        (
            'merge(local.tags,{Name="x"})',
            'merge(\n  local.tags, # shared tags\n  /* this one */ { "Name" = "x" },\n)',
        ),
        ("a.0.b", "a[0].b"),
        ('"a\\u00e9"', '"aé"'),
        ('f("a\\u00e9")', 'f("aé")'),
        ("[for s in var.l : upper(s)]", "[\n  for s in var.l:\n  upper(s)\n]"),
        ("var.a?1:0", "var.a ? 1 : 0"),
        ("<<EOT\nline\nEOT", '"line\\n"'),
        ("<<-EOT\n    line\n  EOT", '"line\\n"'),
        ("{ a = 1\n  b = 2 }", "{a = 1, b = 2}"),
    ],
)
def test_equal_in_terraform_compare_equal(first: str, second: str) -> None:
    assert value_of(first) == value_of(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [('"$${a}"', '"${a}"'), ("var.a", '"var.a"'), ("1", '"1"'), ('"a"', '["a"]')],
)
def test_different_in_terraform_compare_different(first: str, second: str) -> None:
    assert value_of(first) != value_of(second)


# Heredoc cases of HCL's specification suite (specsuite/tests/expressions/heredoc.hcl).
@pytest.mark.parametrize(
    ("heredoc", "value"),
    [
        ("<<EOT\nFoo\nBar\nBaz\nEOT", "Foo\nBar\nBaz\n"),
        ("<<EOT\n    Foo\n    Bar\n  EOT", "    Foo\n    Bar\n"),
        ("<<EOT\n    NOT EOT\n  EOT", "    NOT EOT\n"),
        ("<<EOT\nFoo\n\nBar\nEOT", "Foo\n\nBar\n"),
        ("<<-EOT\nFoo\nBar\nEOT", "Foo\nBar\n"),
        ("<<-EOT\n    Foo\n      Bar\n    Baz\n  EOT", "Foo\n  Bar\nBaz\n"),
        ("<<-EOT\n    Foo\n  Bar\n    Baz\n  EOT", "  Foo\nBar\n  Baz\n"),
        ("<<-EOT\n    Foo\n    ${bar}\n    Baz\n  EOT", "Foo\n${bar}\nBaz\n"),
        ("<<-EOT\n    Foo\n  ${space_bar}\n    Baz\n  EOT", "  Foo\n${space_bar}\n  Baz\n"),
        ("<<-EOT\n\tFoo\n  Bar\n  Baz\n  EOT", "Foo\n Bar\n Baz\n"),
        ("<<-EOT\n    Foo\n\n    Bar\n  EOT", "Foo\n\nBar\n"),
        (
            '<<EOF\n{"Action": "s3:*", "Resource": "\\\\d"}\nEOF',
            '{"Action": "s3:*", "Resource": "\\\\d"}\n',
        ),
        ("<<EOT\nEOT", ""),
    ],
)
def test_heredocs_follow_terraform(heredoc: str, value: str) -> None:
    assert value_of(heredoc) == value


def test_crlf_heredoc_equals_lf() -> None:
    text = (FIXTURES / "network_module.tf").read_text()
    lf = parse_side(text.encode(), "hcl", "a.tf")
    crlf = parse_side(text.replace("\n", "\r\n").encode(), "hcl", "b.tf")
    assert lf == crlf
    policy = lf.objects["aws_iam_role.flow_log"].body["assume_role_policy"]
    assert policy.startswith('{\n  "Version": "2012-10-17",\n')
    assert policy.endswith("  ]\n}\n")


# -- blocks ----------------------------------------------------------------------------------


def test_nested_dynamic_repeated_and_labeled_blocks() -> None:
    module = parse_side((FIXTURES / "network_module.tf").read_bytes(), "hcl", "network.tf")
    sg = module.objects["aws_security_group.endpoints"]
    assert sg.body["dynamic"]["ingress"]["for_each"] == "${var.ingress_rules}"
    assert sg.body["dynamic"]["ingress"]["content"]["from_port"] == "${ingress.value.port}"
    assert sg.body["egress"] == {
        "from_port": 0,
        "to_port": 0,
        "protocol": "-1",
        "cidr_blocks": ["0.0.0.0/0"],
    }
    assert sg.body["lifecycle"] == {"create_before_destroy": True}
    cidr = module.objects["var.cidr"]
    assert cidr.body["validation"]["condition"] == "${can(cidrhost(var.cidr, 0))}"
    assert cidr.body["validation"]["error_message"].endswith('e.g. "10.0.0.0/16".')
    assert module.objects["provider.aws.dr"].body["default_tags"] == {"tags": {"Module": "network"}}
    assert module.objects["terraform"].body["required_providers"]["aws"] == {
        "source": "hashicorp/aws",
        "version": ">= 5.46",
        "configuration_aliases": ["${aws.dr}"],
    }
    assert module.objects["local.public_ports"].body["value"] == (
        '${[for rule in var.ingress_rules : rule.port if contains(rule.cidr_blocks, "0.0.0.0/0")]}'
    )
    storage = parse_side((FIXTURES / "storage.tf").read_bytes(), "hcl", "storage.tf")
    assert [r["from_port"] for r in storage.objects["aws_security_group.web"].body["ingress"]] == [
        443,
        80,
    ]
    assert list(storage.objects["terraform"].body["backend"]) == ["s3"]


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('resource "a" "b" {\n  x = 1\n  y = [1, 2\n}\n\nresource "a" "c" {}\n', "missing ']'", 4),
        ('resource "a" "b" {\n  x = "\\q"\n}\n', "invalid HCL: unexpected", 2),
        ('resource "a" "b" {\n  x = 0x1F\n}\n', "hexadecimal", 2),
        ('resource "a" "b" {\n\n  x = "${}"\n}\n', "empty interpolation", 3),
        ('resource "a" "b" {\n  x = "\\ud800"\n}\n', "surrogate", 2),
        ('resource "a" "b" {\n  x = 1\n', "end of file", 3),
        ('{"a": 1}\n', "found an object", 1),
    ],
)
def test_syntax_errors_name_their_line(text: str, message: str, line: int) -> None:
    with pytest.raises(UnparseableError, match=message) as err:
        parse_side(text.encode(), "hcl", "bad.tf")
    assert err.value.line == line
    assert err.value.file == "bad.tf"


def test_deep_nesting_is_unparseable_not_a_crash() -> None:
    text = 'resource "a" "b" {\n  x = ' + "[" * 3000 + "]" * 3000 + "\n}\n"
    with pytest.raises(UnparseableError, match="nested too deeply"):
        parse_side(text.encode(), "hcl", "deep.tf")


# -- incremental re-parse --------------------------------------------------------------------


def test_edits_rebuild_the_same_tree() -> None:
    old = (FIXTURES / "network_module.tf").read_bytes()
    new = old.replace(b"retention_in_days = 365", b"retention_in_days = 7\n  skip_destroy = true")
    new = new.replace(
        b'variable "dr_region" {', b'variable "region" {\n}\n\nvariable "dr_region" {'
    )
    new = new.replace(b'output "vpc_id" {\n  value = try(aws_vpc.this[0].id, null)\n}\n', b"")
    parser = _parser()
    tree = parser.parse(old)
    edits = find_edits(old, new, chunks_of(tree, len(old)))
    assert 1 < len(edits) < 10
    apply_edits(tree, old, new, edits)
    assert str(parser.parse(new, tree).root_node) == str(parser.parse(new).root_node)


@settings(max_examples=examples(40), deadline=None)
@given(documents(), documents(), styles())
def test_reading_head_after_base_equals_a_fresh_read(base: Doc, head: Doc, style: Style) -> None:
    base_text, head_text = render(base, style), render(head, style)
    mixed = render(Doc(base.blocks + head.blocks[:1]), Style(style.indent, style.align))
    for text in (base_text, mixed, head_text):  # each read reuses the previous one
        incremental = read_items(text, "infra/main.tf")
        assert incremental == read_items(text)
    assert isinstance(parse_side(head_text.encode(), "hcl", "x.tf"), TfFile)
