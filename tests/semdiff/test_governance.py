"""The governance analyzer: CODEOWNERS per pattern, config key paths, text fallback, facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FileDiff
from app.semdiff.governance import analyze, governance_file, parse_codeowners

FIXTURES = Path(__file__).parent.parent / "fixtures" / "governance"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def run(base: str | None, head: str | None, path: str) -> list[Change]:
    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(
        path=path,
        status=status,
        base=None if base is None else base.encode(),
        head=None if head is None else head.encode(),
    )
    return analyze(file, PathRule())


def by_address(changes: list[Change]) -> dict[str, Change]:
    out = {c.address: c for c in changes}
    assert len(out) == len(changes), "one change per address"
    return out


def fields(change: Change) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.before, f.after) for f in change.fields}


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("CODEOWNERS", "codeowners"),
        (".github/CODEOWNERS", "codeowners"),
        ("docs/CODEOWNERS", "codeowners"),
        (".github/countersign.yml", "countersign_config"),
        (".github/settings.yml", "repository_settings"),
        (".github/dependabot.yml", "dependabot"),
        (".github/rulesets/main.json", "rulesets"),
        ("policies/agents.cedar", "policies"),
        ("risk_rules/pricing.yaml", "risk_rules"),
        (".ci/run", "ci"),
        ("README.md", "other"),
    ],
)
def test_governance_file_roles(path: str, role: str) -> None:
    assert governance_file(path) == role


# -- CODEOWNERS ---------------------------------------------------------------------------------


def test_parse_codeowners_strips_comments_and_keeps_last_duplicate() -> None:
    rules = parse_codeowners(
        "# header\n\n*.js @acme/web # ask @bob first\n/docs/\n*.js @acme/frontend\n"
        "/path\\ with\\ space/ @alice\n"
    )
    assert list(rules) == ["/docs/", "*.js", "/path\\ with\\ space/"]
    assert rules["*.js"].owners == ("@acme/frontend",)
    assert rules["*.js"].line == 5
    assert rules["/docs/"].owners == ()
    assert rules["/path\\ with\\ space/"].owners == ("@alice",)


def test_codeowners_changes_per_pattern() -> None:
    base, head = fixture("CODEOWNERS"), fixture("CODEOWNERS.head")
    changes = by_address(run(base, head, ".github/CODEOWNERS"))
    assert set(changes) == {
        "codeowners:/infra/prod/",
        "codeowners:/tariffs/",
        "codeowners:/risk_rules/",
    }  # `/catalog/` only reordered its owners; comments changed: no change

    prod = changes["codeowners:/infra/prod/"]
    assert prod.op == "update"
    assert prod.kind == "governance"
    assert fields(prod) == {"owners": (["@acme/platform", "@acme/sre"], ["@acme/platform"])}
    assert prod.facts["owners_removed"] == ["@acme/sre"]
    assert prod.facts["owners_added"] == []
    assert prod.line == line_of(head, "/infra/prod/")

    tariffs = changes["codeowners:/tariffs/"]
    assert tariffs.op == "create"
    assert tariffs.facts["owners_after"] == ["@acme/finance"]
    assert tariffs.line == line_of(head, "/tariffs/")

    rules = changes["codeowners:/risk_rules/"]
    assert rules.op == "delete"
    assert rules.facts["owners_before"] == ["@acme/security"]
    assert rules.line == line_of(base, "/risk_rules/")

    for change in changes.values():
        assert change.facts["governance"] is True
        assert change.facts["governance_file"] == "codeowners"


def test_codeowners_comments_and_whitespace_are_no_change() -> None:
    base = fixture("CODEOWNERS")
    head = "\n".join(
        line.replace("                 ", "\t").split("   #")[0] for line in base.splitlines()
    )
    head = "# reformatted\n" + head + "\n\n# end\n"
    assert run(base, head, "CODEOWNERS") == []


def test_codeowners_reorder_that_changes_precedence_is_reported() -> None:
    base = fixture("CODEOWNERS")
    lines = base.splitlines()
    catch_all = lines.index("*                       @acme/engineering")
    moved = lines[:catch_all] + lines[catch_all + 1 :] + [lines[catch_all]]
    changes = run(base, "\n".join(moved) + "\n", "CODEOWNERS")
    assert [c.address for c in changes] == ["codeowners:*"]
    assert changes[0].op == "update"
    assert changes[0].facts["reordered"] is True
    assert fields(changes[0]) == {"position": (0, 7)}


def test_codeowners_pattern_without_owners_is_unowned() -> None:
    base = fixture("CODEOWNERS")
    head = base.replace("/catalog/               @acme/finance @acme/growth", "/catalog/")
    [change] = run(base, head, "CODEOWNERS")
    assert change.facts["unowned"] is True
    assert change.facts["owners_removed"] == ["@acme/finance", "@acme/growth"]


def test_codeowners_added_and_removed_files() -> None:
    created = run(None, fixture("CODEOWNERS"), "CODEOWNERS")
    assert len(created) == 8
    assert {c.op for c in created} == {"create"}
    deleted = run(fixture("CODEOWNERS"), None, "CODEOWNERS")
    assert {c.op for c in deleted} == {"delete"}


# -- YAML / JSON governance files -------------------------------------------------------------


def test_countersign_config_key_path_diff() -> None:
    base, head = fixture("countersign.yml"), fixture("countersign.head.yml")
    changes = by_address(run(base, head, ".github/countersign.yml"))
    # `paths` only reordered its keys and switched flow/block style: no change.
    assert set(changes) == {
        ".github/countersign.yml:approvers",
        ".github/countersign.yml:enforce_for",
    }
    approvers = changes[".github/countersign.yml:approvers"]
    assert approvers.op == "update"
    assert fields(approvers) == {"approvers.change_board": (["@acme/security"], None)}
    assert approvers.line == line_of(head, "approvers:")
    enforce = changes[".github/countersign.yml:enforce_for"]
    assert fields(enforce) == {"enforce_for": ("agents", "all")}
    assert enforce.facts == {"governance": True, "governance_file": "countersign_config"}


def test_config_top_keys_added_and_removed() -> None:
    base = fixture("countersign.yml")
    head = base.replace("labels: true\n", "") + "invalidate_on_push_grace: 10m\n"
    changes = by_address(run(base, head, ".github/countersign.yml"))
    assert changes[".github/countersign.yml:labels"].op == "delete"
    assert changes[".github/countersign.yml:labels"].line == line_of(base, "labels:")
    assert changes[".github/countersign.yml:invalidate_on_push_grace"].op == "create"


def test_json_ruleset_changes_and_lines() -> None:
    base = fixture("rulesets_main.json")
    data = json.loads(base)
    data["enforcement"] = "evaluate"
    data["bypass_actors"] = [{"actor_id": 5, "actor_type": "Integration", "bypass_mode": "always"}]
    head = json.dumps(data, indent=2)
    changes = by_address(run(base, head, ".github/rulesets/main.json"))
    assert set(changes) == {
        ".github/rulesets/main.json:enforcement",
        ".github/rulesets/main.json:bypass_actors",
    }
    assert changes[".github/rulesets/main.json:enforcement"].line == line_of(head, '"enforcement"')
    assert changes[".github/rulesets/main.json:enforcement"].facts["governance_file"] == "rulesets"
    assert run(base, json.dumps(json.loads(base), sort_keys=True), ".github/rulesets/m.json") == []


def test_secrets_in_governance_config_are_redacted() -> None:
    base = "registries:\n  npm:\n    type: npm-registry\n    token: ${{secrets.NPM_TOKEN}}\n"
    head = "registries:\n  npm:\n    type: npm-registry\n    token: npm_4fG7hJ2kL9mN0pQ\n"
    changes = run(base, head, ".github/dependabot.yml")
    dumped = json.dumps([c.model_dump(mode="json") for c in changes])
    assert "npm_4fG7hJ2kL9mN0pQ" not in dumped
    assert "<redacted>" in dumped


def test_cedar_policy_falls_back_to_text() -> None:
    base = fixture("agents.cedar")
    head = base.replace("<= 20", "<= 60")
    [change] = run(base, head, "policies/agents.cedar")
    assert change.kind == "governance"
    assert change.address == "policies/agents.cedar"
    assert change.facts["governance"] is True
    assert change.facts["governance_file"] == "policies"
    assert change.facts["lines_added"] == change.facts["lines_removed"] == 1
    assert change.line == line_of(head, "<= 60")
    assert run(base, base, "policies/agents.cedar") == []


def test_invalid_yaml_is_unparseable_with_line() -> None:
    base = fixture("countersign.yml")
    head = base.replace("labels: true", "labels: [true")
    with pytest.raises(UnparseableError) as info:
        run(base, head, ".github/countersign.yml")
    assert info.value.line is not None
