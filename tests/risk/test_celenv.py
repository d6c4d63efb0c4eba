"""The CEL layer: compile-time checks, the change context, helpers, and the cel package's
behaviour on the values analyzers produce (null, ints vs floats, missing keys)."""

from __future__ import annotations

import pytest

from app.core.models import Change, FieldChange
from app.risk.celenv import WhenError, build_context, change_view, compile_when, pr_view, run_when

SG = Change(
    file="infra/sg.tf",
    kind="terraform",
    address="aws_security_group.bastion",
    op="update",
    line=3,
    fields=(
        FieldChange(
            path="ingress",
            before={
                "from_port": 22,
                "to_port": 22,
                "protocol": "tcp",
                "cidr_blocks": ["10.0.0.0/8"],
            },
            after=[
                {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
                {
                    "from_port": 443,
                    "to_port": 443,
                    "protocol": "tcp",
                    "cidr_blocks": ["10.0.0.0/8"],
                },
            ],
        ),
        FieldChange(path="tags.Owner", before=None, after="platform"),
    ),
    facts={
        "block_type": "resource",
        "resource_type": "aws_security_group",
        "count_after": None,
        "price_delta_pct": -40.0,
        "replicas": 3,
    },
)


def when(expression: str, change: Change = SG, *, is_agent: bool = True) -> bool:
    return run_when(compile_when(expression), build_context(change, pr_view(is_agent, "bot[bot]")))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('change.kind == "terraform" && change.op == "update" && change.line == 3', True),
        ('change.before["tags.Owner"] == null && change.after["tags.Owner"] == "platform"', True),
        ('"ingress" in change.after && !("egress" in change.after)', True),
        (
            "change.fields.exists(f, f.path == 'ingress' && blocks(f.after).exists(b, "
            "'0.0.0.0/0' in b.cidr_blocks && b.from_port == 22))",
            True,
        ),
        ("blocks(change.before['ingress']).size() == 1", True),
        ("strings(change.after['ingress']).exists(s, s == '0.0.0.0/0')", True),
        ("text(change.after['ingress']).contains('\"from_port\":443')", True),
        ("text(change.after['tags.Owner']) == 'platform' && text(null) == ''", True),
        ("change.facts.count_after == null && has(change.facts.count_after)", True),
        ("has(change.facts.nope)", False),
        ("change.facts.price_delta_pct < -20", True),  # double vs int compares
        ("change.facts.replicas == 3.0 && change.facts.replicas > 2.5", True),
        ("pr.is_agent && pr.author.endsWith('[bot]')", True),
        ("[1, 2].all(x, x > 0) && {'a': 1}.exists(k, k == 'a')", True),
        (
            "change.fields.exists(f, find(f.path, r'^tags\\.') && !find(f.after, r'(?i)^PLATFORM$'))",
            False,
        ),
        ("change.fields.exists(f, find(f.path, r'^tags\\.') && find(f.after, r'(?i)^PLAT'))", True),
        ("find(change.address, r'\\.bastion$') && !find(null, '.') && !find(3, '3')", True),
        ("change.address.matches('bastion$')", True),  # CEL's own (slow) regex still works
        ("version_majors('>= 6.39') == [6] && version_majors('~> 6.42.0') == [6]", True),
        ("version_majors('>= 5.0, < 7.0') == [5, 7] && version_majors('v1.2') == [1]", True),
        (
            "version_majors('latest') == [] && version_majors(null) == [] && version_majors(6) == []",
            True,
        ),
        ("version_majors('>= 6.39') == version_majors('>= 7.0')", False),
    ],
)
def test_context_and_helpers(expression: str, expected: bool) -> None:
    assert when(expression) is expected


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("change.facts.nope == 1", "KeyError"),  # a missing key is an error, not null
        ("change.facts.count_after > 1", "TypeError"),  # null does not compare with numbers
        ("change.facts.block_type", "not a boolean"),
        ("int('abc') == 1", "Error"),
    ],
)
def test_runtime_errors_raise_when_error(expression: str, kind: str) -> None:
    with pytest.raises(WhenError, match=kind):
        when(expression)


def test_short_circuit_guards_missing_keys() -> None:
    assert when("has(change.facts.nope) && change.facts.nope > 1") is False
    assert when("change.facts.count_after != null && change.facts.count_after > 1") is False


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("change.op ==", "does not compile"),
        ("lenght(change.fields) == 0", "unknown CEL function 'lenght'"),
        ("change.fields.sizee() == 0", "unknown CEL function 'sizee'"),
        ("request.op == 'delete'", "unknown name 'request'"),
    ],
)
def test_compile_refuses_what_cannot_run(expression: str, needle: str) -> None:
    with pytest.raises(WhenError, match=needle):
        compile_when(expression)


def test_comprehension_variables_are_not_unknown_names() -> None:
    compile_when("change.fields.exists(f, f.path == 'x') && [1].map(n, n + 1).size() == 1")
    compile_when("type(change.facts) == map && type(1) == int")


def test_change_view_is_plain_data() -> None:
    odd = Change(
        file="a.yaml",
        kind="data",
        address="a",
        op="update",
        fields=(FieldChange(path="x", before=(1, 2), after={3: float("nan")}),),
        facts={"when": object(), "inf": float("inf")},
    )
    view = change_view(odd)
    assert view["fields"][0] == {"path": "x", "before": [1, 2], "after": {"3": None}}
    assert isinstance(view["facts"]["when"], str)
    assert view["facts"]["inf"] is None
    assert view["line"] == 0
    assert when("change.facts.inf == null", odd)
