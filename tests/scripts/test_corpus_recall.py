"""The recall set's pure parts: parsing `corpus/recall.yaml`, judging a commit, gone right labels."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from app.core.yamlsafe import load_yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    """`scripts/` is not a package: load the module the way `scripts/corpus.py` imports it."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


cr = _load("corpus_recall")
cm = _load("corpus_metrics")


def raw(**over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "repo": "o/r",
        "commit": "0123456789",
        "category": "resource-delete",
        "file": "main.tf",
        "address": "aws_db_instance.main",
        "rules": ["terraform.delete-stateful"],
        "reason": "drops the database",
    }
    entry.update(over)
    return entry


def seen(rule: str, address: str, severity: str = "critical", file: str = "main.tf"):
    return cm.Observed("o/r", "recall", "0123456789abcdef", rule, severity, file, address)


def test_the_shipped_recall_set_parses_and_covers_every_category() -> None:
    path = ROOT / "corpus" / "recall.yaml"
    entries = cr.parse_recall(load_yaml(path.read_bytes(), str(path)), str(path))
    assert len(entries) >= 30
    assert {e.category for e in entries} == set(cr.CATEGORIES)
    assert all(len(e.commit) == 10 for e in entries)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"commit": "xyz"}, r"10\+ hex digits"),
        ({"category": "vibes"}, "category must be one of"),
        ({"rules": [], "min_tier": None}, "give the rules"),
        ({"min_tier": 7}, "min_tier must be 0..3"),
        ({"address": ""}, "need the address"),
        ({"severity": "huge"}, "severity must be one of"),
        ({"reason": ""}, "missing reason"),
    ],
)
def test_a_malformed_entry_names_its_index_and_the_fix(over: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=rf"recall\[1\]: .*{message}"):
        cr.parse_recall({"recall": [raw(address="other"), raw(**over)]})


def test_a_duplicate_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="a second entry"):
        cr.parse_recall({"recall": [raw(), raw()]})


def test_found_needs_the_rule_on_that_file_and_address_at_high_or_above() -> None:
    (entry,) = cr.parse_recall({"recall": [raw()]})
    assert cr.judge(entry, 3, [seen("terraform.delete-stateful", "aws_db_instance.main")]).found
    for wrong in (
        seen("terraform.delete", "aws_db_instance.main"),  # another rule
        seen("terraform.delete-stateful", "aws_db_instance.other"),  # another address
        seen("terraform.delete-stateful", "aws_db_instance.main", file="db.tf"),  # another file
        seen("terraform.delete-stateful", "aws_db_instance.main", severity="medium"),
    ):
        outcome = cr.judge(entry, 3, [wrong])
        assert not outcome.found
        assert outcome.missing_rules == ("terraform.delete-stateful",)


def test_a_miss_names_where_the_commits_highs_went() -> None:
    (entry,) = cr.parse_recall({"recall": [raw()]})
    elsewhere = seen("terraform.delete", "aws_db_instance.main")
    outcome = cr.judge(entry, 2, [elsewhere, seen("docs.only", "README.md", "info")])
    assert outcome.highs == ("terraform.delete main.tf aws_db_instance.main",)
    assert "terraform.delete main.tf aws_db_instance.main" in outcome.why_missed()


def test_star_address_severity_floor_and_min_tier() -> None:
    (entry,) = cr.parse_recall(
        {"recall": [raw(address="*", rules=["k8s.service-exposed"], severity="medium", min_tier=1)]}
    )
    exposed = seen("k8s.service-exposed", "Service/shop/web", "medium")
    assert cr.judge(entry, 1, [exposed]).found
    assert not cr.judge(entry, 0, [exposed]).found  # the tier floor still holds
    assert "tier 0 < 1" in cr.judge(entry, 0, [exposed]).why_missed()
    (tier_only,) = cr.parse_recall({"recall": [raw(rules=[], min_tier=2)]})
    assert cr.judge(tier_only, 2, []).found
    assert not cr.judge(tier_only, 1, []).found


def test_an_evaluation_error_is_a_miss() -> None:
    (entry,) = cr.parse_recall({"recall": [raw()]})
    hit = seen("terraform.delete-stateful", "aws_db_instance.main")
    outcome = cr.judge(entry, 3, [hit], error="0123456789: KeyError: x")
    assert not outcome.found
    assert outcome.why_missed() == "0123456789: KeyError: x"


def test_the_table_counts_found_and_missed_per_category() -> None:
    a, b = cr.parse_recall({"recall": [raw(), raw(commit="abcdef0123", category="price-cut")]})
    hit = seen("terraform.delete-stateful", "aws_db_instance.main")
    outcomes = [cr.judge(a, 3, [hit]), cr.judge(b, 0, [])]
    scores = cr.by_category(outcomes)
    assert (scores["resource-delete"].found, len(scores["resource-delete"].missed)) == (1, 0)
    assert (scores["price-cut"].found, len(scores["price-cut"].missed)) == (0, 1)
    assert cr.table(outcomes)[-1] == "| **all** | 2 | 1 | 1 |"


def test_gone_right_labels_are_moved_when_their_file_is_still_high_else_lost() -> None:
    moved = cm.Label(
        "o/r", "0123456789", "terraform.delete", "main.tf", "aws_s3_bucket.a", "right", "x"
    )
    lost = cm.Label(
        "o/r", "0123456789", "terraform.delete", "other.tf", "aws_s3_bucket.b", "right", "x"
    )
    wrong = cm.Label(
        "o/r", "0123456789", "terraform.delete", "main.tf", "aws_s3_bucket.c", "wrong", "x"
    )
    now = [seen("terraform.delete-stateful", "aws_s3_bucket.a")]
    gone = cr.gone_right([moved, lost, wrong], now)
    assert [(g.label.address, g.moved, g.instead) for g in gone] == [
        ("aws_s3_bucket.a", True, ("terraform.delete-stateful aws_s3_bucket.a",)),
        ("aws_s3_bucket.b", False, ()),
    ]
