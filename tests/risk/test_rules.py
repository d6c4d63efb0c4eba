"""Loading rule files: every bad rule is refused with a RuleLoadError naming file, line and fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.errors import RuleLoadError
from app.risk import load_rule_pack

GOOD = """\
rules:
  - id: pricing.big-discount
    description: Discounts over half the list price need finance.
    match:
      kind: [pricing]
      op: update
    when: has(change.facts.price_delta_pct) && change.facts.price_delta_pct < -50.0
    severity: high
    message: "Discount on {address}: {facts.price_delta_pct} %"
    examples:
      match:
        - {file: catalog/plans.json, kind: pricing, address: "plan_code:pro", op: update,
           facts: {price_delta_pct: -60.0}}
"""
GOOD_LINES = GOOD.count("\n")  # the second rule starts on the next line


def second(rule: str) -> str:
    """GOOD plus one more rule (given at two-space list indentation)."""
    return GOOD + rule


BASE = """\
  - id: k8s.scale-down
    description: Fewer replicas.
    match:
      kind: [kubernetes]
    when: {when}
    severity: {severity}
    message: "{message}"
    examples:
      match:
        - {{file: k8s/web.yaml, kind: kubernetes, address: Deployment/shop/web, op: update,
           facts: {{replicas_before: 4, replicas_after: 2}}}}
"""


def bad(
    when: str = "change.facts.replicas_after < change.facts.replicas_before",
    severity: str = "medium",
    message: str = "Scales down {address}",
) -> str:
    return second(BASE.format(when=when, severity=severity, message=message))


SECOND = GOOD_LINES + 1

CASES = [
    (
        "unknown key",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").replace(
                "    severity: low\n", "    severity: low\n    sevirity: high\n"
            )
        ),
        SECOND + 6,
        "unknown key 'sevirity'",
    ),
    ("bad severity", bad(severity="severe"), SECOND + 5, "severity"),
    ("CEL syntax", bad(when="change.facts.replicas_after <"), SECOND + 4, "CEL does not compile"),
    (
        "unknown CEL function",
        bad(when="lenght(change.fields) > 0"),
        SECOND + 4,
        "unknown CEL function 'lenght'",
    ),
    ("unknown CEL name", bad(when="chnage.op == 'update'"), SECOND + 4, "unknown name 'chnage'"),
    (
        "unknown placeholder",
        bad(message="Scales down {adress}"),
        SECOND + 6,
        "unknown placeholder {adress}",
    ),
    (
        "bad tier",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").replace(
                "    severity: low\n", "    severity: low\n    tier: 5\n"
            )
        ),
        SECOND + 6,
        "tier",
    ),
    (
        "id not dotted",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").replace(
                "k8s.scale-down", "ScaleDown"
            )
        ),
        SECOND,
        "not dotted lower-case",
    ),
    (
        "no examples",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").split(
                "    examples:"
            )[0]
        ),
        SECOND,
        "missing required key 'examples'",
    ),
    (
        "empty match examples",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").split(
                "    examples:"
            )[0]
            + "    examples:\n      match: []\n"
        ),
        SECOND + 8,
        "at least 1",
    ),
    (
        "example with a bad kind",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").replace(
                "kind: kubernetes, address", "kind: helm, address"
            )
        ),
        SECOND + 9,
        "examples.match[0]: kind",
    ),
    (
        "unknown supersedes",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").replace(
                "    severity: low\n", "    severity: low\n    supersedes: [k8s.nope]\n"
            )
        ),
        SECOND,
        "supersedes 'k8s.nope'",
    ),
    ("duplicate id", second(GOOD.split("rules:\n")[1]), SECOND, "duplicate rule id"),
    (
        "bad kind in match",
        second(
            BASE.format(when="change.op == 'update'", severity="low", message="x").replace(
                "kind: [kubernetes]", "kind: [kubernetess]"
            )
        ),
        SECOND + 3,
        "match.kind",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_rule_names_file_line_and_problem(
    rule_file: Callable[..., Path], text: str, line: int, needle: str
) -> None:
    path = rule_file(text)
    with pytest.raises(RuleLoadError) as caught:
        load_rule_pack(path.parent)
    error = caught.value
    assert error.file == str(path)
    assert error.line == line, str(error)
    assert needle in error.message
    assert error.hint, "every load error says how to fix it"
    assert f"{path}:{line}:" in str(error)


def test_good_file_loads(rule_file: Callable[..., Path]) -> None:
    path = rule_file(GOOD)
    pack = load_rule_pack(path.parent)
    assert [r.id for r in pack.rules] == ["pricing.big-discount"]
    rule = pack.rules[0]
    assert (rule.source, rule.line, rule.severity, rule.tier) == (str(path), 2, "high", None)
    assert rule.matcher.ops == frozenset({"update"}), "a scalar reads as a one-item list"


def test_invalid_yaml_names_its_line(rule_file: Callable[..., Path]) -> None:
    path = rule_file(GOOD.replace("    severity: high\n", "    severity: [high\n"))
    with pytest.raises(RuleLoadError) as caught:
        load_rule_pack(path.parent)
    assert caught.value.file == str(path)
    assert caught.value.line is not None
    assert caught.value.line >= 8
    assert "YAML" in caught.value.message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("- id: a.b\n", "top-level `rules:` list"),
        ("rules:\n  id: a.b\n", "must be a list"),
        ("rules: []\nversion: 2\n", "unknown top-level key 'version'"),
        ("rules:\n  - just-a-string\n", "must be a mapping"),
        ("rules: []\n---\nrules: []\n", "one YAML document"),
    ],
)
def test_bad_file_shape(rule_file: Callable[..., Path], text: str, needle: str) -> None:
    path = rule_file(text)
    with pytest.raises(RuleLoadError) as caught:
        load_rule_pack(path.parent)
    assert caught.value.file == str(path)
    assert caught.value.line is not None
    assert needle in caught.value.message


def test_duplicate_id_across_files_names_both(rule_file: Callable[..., Path]) -> None:
    first = rule_file(GOOD, "a.yaml")
    second_file = rule_file(GOOD, "b.yaml")
    with pytest.raises(RuleLoadError) as caught:
        load_rule_pack(first.parent)
    assert caught.value.file == str(second_file)
    assert caught.value.line == 2
    assert f"{first}:2" in caught.value.message


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(RuleLoadError, match="not found"):
        load_rule_pack(tmp_path / "nope")
    (tmp_path / "README.md").write_text("# rules go here\n")
    with pytest.raises(RuleLoadError, match="no rule files"):
        load_rule_pack(tmp_path)


def test_digest_follows_content(rule_file: Callable[..., Path]) -> None:
    path = rule_file(GOOD)
    before = load_rule_pack(path.parent).digest
    assert load_rule_pack(path.parent).digest == before
    path.write_text(GOOD.replace("need finance", "need the finance team"))
    assert load_rule_pack(path.parent).digest != before
