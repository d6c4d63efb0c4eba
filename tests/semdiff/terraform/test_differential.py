"""Differential test: the tree-sitter reader against the python-hcl2 reader it replaced.

Both read the same files; their objects (addresses, values, lines) and the changes of
`terraform.diff_files` must be equal, on every Terraform fixture of tests/fixtures and on a
generated corpus written like AWS modules (resources, nested and dynamic blocks, validation
blocks, locals, expressions, heredocs, comments, reorderings). The reference corrects two
python-hcl2 bugs itself (see hcl2_reader); every other difference is in KNOWN_DIFFERENCES, where
each case is asserted on both readers with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import UnparseableError
from app.semdiff.terraform.analyzer import diff_files
from app.semdiff.terraform.parse import TfFile, flavor_of, parse_side
from tests.examples import examples
from tests.semdiff.terraform.hcl2_reader import parse_side_hcl2
from tests.semdiff.terraform.hcl_corpus import Doc, Style, documents, render, styles

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TERRAFORM_FIXTURES = sorted(
    p for p in FIXTURES.rglob("*") if p.is_file() and p.name.endswith((".tf", ".tfvars"))
)
PAIRS = [
    ("terraform/main.tf", "terraform/main_reformatted.tf"),
    ("terraform/moved_base.tf", "terraform/moved_head.tf"),
    ("owners/infra/db.base1.tf", "owners/infra/db.head1.tf"),
    ("owners/infra/db.base2.tf", "owners/infra/db.head2.tf"),
    ("owners/infra/db.base2.tf", "owners/infra/db.head2-resized.tf"),
    ("github/shop/infra/prod/db.tf", "github/shop-pr/infra/prod/db.tf"),
]


def both(data: bytes, path: str) -> tuple[TfFile, TfFile]:
    flavor = flavor_of(path)
    return parse_side(data, flavor, path), parse_side_hcl2(data, flavor, path)


def test_fixtures_are_all_found() -> None:
    assert len(TERRAFORM_FIXTURES) >= 15
    for base, head in PAIRS:
        assert (FIXTURES / base).is_file() and (FIXTURES / head).is_file()


@pytest.mark.parametrize("path", TERRAFORM_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_reads_the_same(path: Path) -> None:
    ours, reference = both(path.read_bytes(), path.name)
    assert ours.objects, path
    assert ours == reference
    assert diff_files(path.name, TfFile({}), ours) == diff_files(path.name, TfFile({}), reference)
    assert diff_files(path.name, ours, TfFile({})) == diff_files(path.name, reference, TfFile({}))


@pytest.mark.parametrize(("base", "head"), PAIRS)
def test_fixture_pairs_give_the_same_changes(base: str, head: str) -> None:
    ours_b, ref_b = both((FIXTURES / base).read_bytes(), "infra/main.tf")
    ours_h, ref_h = both((FIXTURES / head).read_bytes(), "infra/main.tf")
    ours = diff_files("infra/main.tf", ours_b, ours_h)
    assert ours == diff_files("infra/main.tf", ref_b, ref_h)
    assert ours or base == "terraform/main.tf"  # the reformatted pair is the one without changes


def test_realistic_module_edit_gives_the_same_changes() -> None:
    text = (FIXTURES / "terraform" / "network_module.tf").read_text()
    head = text.replace("retention_in_days = 365", "retention_in_days = 30")
    head = head.replace('"logs:PutLogEvents",', '"logs:PutLogEvents",\n          "logs:*",')
    head = head.replace("create_before_destroy = true", "prevent_destroy = true")
    head = head.replace('"Action": "sts:AssumeRole"', '"Action": "sts:*"')
    ours_b, ref_b = both(text.encode(), "modules/network/main.tf")
    ours_h, ref_h = both(head.encode(), "modules/network/main.tf")
    ours = diff_files("modules/network/main.tf", ours_b, ours_h)
    assert ours == diff_files("modules/network/main.tf", ref_b, ref_h)
    assert [c.address for c in ours] == [
        "aws_security_group.endpoints",
        "aws_cloudwatch_log_group.flow_log",
        "aws_iam_role.flow_log",
        "aws_iam_role_policy.flow_log",
    ]


# -- generated corpus ----------------------------------------------------------------------


def _read(text: str, path: str = "gen/main.tf") -> tuple[TfFile | str, TfFile | str]:
    """Both readers' result, or the error message each gave (both must fail alike)."""
    out: list[TfFile | str] = []
    for reader in (parse_side, parse_side_hcl2):
        try:
            out.append(reader(text.encode(), "hcl", path))
        except UnparseableError as exc:
            out.append(f"unparseable: {exc.message}")
    return out[0], out[1]


@settings(max_examples=examples(40), deadline=None)
@given(documents(), styles())
def test_generated_documents_read_the_same(doc: Doc, style: Style) -> None:
    ours, reference = _read(render(doc, style))
    assert isinstance(ours, TfFile), ours
    assert ours == reference


@settings(max_examples=examples(30), deadline=None)
@given(documents(), documents(), styles())
def test_generated_pairs_give_the_same_changes(base: Doc, head: Doc, style: Style) -> None:
    ours_b, ref_b = _read(render(base, style))
    ours_h, ref_h = _read(render(head, style))
    assert isinstance(ours_b, TfFile) and isinstance(ours_h, TfFile)
    assert isinstance(ref_b, TfFile) and isinstance(ref_h, TfFile)
    assert diff_files("gen/main.tf", ours_b, ours_h) == diff_files("gen/main.tf", ref_b, ref_h)


@settings(max_examples=examples(30), deadline=None)
@given(documents(), styles(), styles(), st.randoms(use_true_random=False))
def test_generated_reformatting_gives_no_changes(
    doc: Doc, first: Style, second: Style, rnd: Any
) -> None:
    order = list(range(len(doc.blocks)))
    rnd.shuffle(order)
    reordered = Style(
        first.indent if rnd.random() < 0.5 else second.indent,
        second.align,
        second.comments,
        second.multiline,
        second.flip,
        tuple(order),
    )
    ours_a, ref_a = _read(render(doc, first))
    ours_b, ref_b = _read(render(doc, reordered), "gen/other.tf")
    assert isinstance(ours_a, TfFile) and isinstance(ours_b, TfFile)
    assert diff_files("gen/main.tf", ours_a, ours_b) == []
    assert isinstance(ref_a, TfFile) and isinstance(ref_b, TfFile)
    assert diff_files("gen/main.tf", ref_a, ref_b) == []


# -- where the two readers legitimately differ ------------------------------------------------

_HCL2 = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False, preserve_heredocs=False
)

# (expression, python-hcl2's value via hcl2.loads, our value, why ours differs)
KNOWN_DIFFERENCES: list[tuple[str, Any, Any, str]] = [
    (
        "a.0",
        "${a.0}",
        "${a[0]}",
        "legacy index: Terraform reads `a.0` as `a[0]`, so both spellings compare equal",
    ),
    (
        "1e3",
        "${1e3}",
        "unparseable",
        "tree-sitter-hcl has no exponent without a fraction (`1e3`): the file is reported"
        " unparseable (fail closed); python-hcl2 kept it as an expression, not the number 1000",
    ),
    (
        "1.5e3",
        "${1.5e3}",
        1500.0,
        "a number with an exponent is a number, not an expression",
    ),
    (
        "<<-EOT\n    line one\n    line two\n  EOT",
        "line one\nline two",
        "line one\nline two\n",
        "Terraform keeps the newline before the closing marker; python-hcl2 drops it",
    ),
    (
        '<<-EOT\n    {"a": 1}\n  EOT',
        '{\\"a\\": 1}',
        '{"a": 1}\n',
        "python-hcl2 backslash-escapes quotes in `<<-` heredocs; Terraform does not",
    ),
    (
        "f(<<EOT\nhi\nEOT\n)",
        "${f(hi)}",
        '${f("hi\\n")}',
        "python-hcl2 drops the quotes of a heredoc inside an expression",
    ),
    (
        'merge({"Name" = var.name}, var.tags)',
        '${merge({"Name" = var.name}, var.tags)}',
        "${merge({Name = var.name}, var.tags)}",
        "quoted and bare identifier keys are the same key (corrected in hcl2_reader too)",
    ),
    (
        '{(var.key) = 1, "${var.other}" = 2}',
        {"${(var.key)}": 1, "${var.other}": 2},
        {"${var.key}": 1, "${var.other}": 2},
        "a parenthesized key is its expression, like an interpolated one",
    ),
    (
        'f("${var.x}")',
        '${f("${var.x}")}',
        "${f(var.x)}",
        'a template that is one interpolation is that value in Terraform ("${x}" == x)',
    ),
    (
        'f("\\u00e9\\t")',
        '${f("\\u00e9\\t")}',
        '${f("é\\t")}',
        "strings inside expressions are re-quoted from their value, so escapes compare equal",
    ),
    (
        "f(a...)",
        "${f(a ...)}",
        "${f(a...)}",
        "spread argument written as Terraform writes it",
    ),
    (
        '"%{ for x in xs ~}${x} %{~ endfor }"',
        "%{ for x in xs ~}${x} %{~ endfor }",
        "%{ for x in xs }${x}%{ endfor }",
        "strip markers trim the literal whitespace next to them, as Terraform renders it, so"
        " `${x} %{~` equals `${x}%{`",
    ),
]


def _hcl2_value(expression: str) -> Any:
    text = f'resource "null_resource" "probe" {{\n  x = {expression}\n}}\n'
    try:
        loaded = hcl2.loads(text, serialization_options=_HCL2)
    except Exception:  # python-hcl2 raises lark errors of several kinds
        return "unparseable"
    return loaded["resource"][0]["null_resource"]["probe"]["x"]


def _our_value(expression: str) -> Any:
    text = f'resource "null_resource" "probe" {{\n  x = {expression}\n}}\n'
    try:
        parsed = parse_side(text.encode(), "hcl", "probe.tf")
    except UnparseableError:
        return "unparseable"
    return parsed.objects["null_resource.probe"].body["x"]


@pytest.mark.parametrize(
    ("expression", "theirs", "ours", "reason"), KNOWN_DIFFERENCES, ids=lambda v: str(v)[:30]
)
def test_known_differences_from_python_hcl2(
    expression: str, theirs: Any, ours: Any, reason: str
) -> None:
    assert reason
    assert _hcl2_value(expression) == theirs
    assert _our_value(expression) == ours
