"""The rule-parse cache: a hit gives the same pack, and nothing in the cache bypasses a check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.core.errors import RuleLoadError
from app.risk import load_rule_pack
from app.risk.rulecache import cache_dir

from .conftest import RULES_DIR


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COUNTERSIGN_CACHE_DIR", str(folder))
    return folder


def _shape(rules_dir: Path) -> list[tuple[object, ...]]:
    pack = load_rule_pack(rules_dir)
    return [
        (r.id, r.severity, r.tier, r.when_source, r.source, r.line, r.fallback, r.examples)
        for r in pack.rules
    ] + [("digest", pack.digest)]


def test_a_cached_load_gives_the_same_pack(own_cache: Path) -> None:
    fresh = _shape(RULES_DIR)
    entries = sorted((own_cache / "rules").glob("*.json"))
    assert len(entries) == len(list(RULES_DIR.glob("*.yaml")))
    assert _shape(RULES_DIR) == fresh


def test_a_corrupt_entry_is_a_miss(own_cache: Path) -> None:
    fresh = _shape(RULES_DIR)
    for entry in (own_cache / "rules").glob("*.json"):
        entry.write_text("{not json")
    assert _shape(RULES_DIR) == fresh


def test_a_tampered_entry_is_still_validated(own_cache: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    load_rule_pack(rules)
    for entry in (own_cache / "rules").glob("*.json"):
        stored = json.loads(entry.read_text())
        stored["rules"][0]["item"]["severity"] = "catastrophic"
        stored["rules"][1]["item"]["when"] = "change.facts.(("
        entry.write_text(json.dumps(stored))
    with pytest.raises(RuleLoadError, match=r"severity|when"):
        load_rule_pack(rules)


def test_an_edited_rule_file_is_parsed_again(own_cache: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    load_rule_pack(rules)
    target = rules / "general.yaml"
    target.write_text(target.read_text() + "\n  - this is not a rule\n")
    with pytest.raises(RuleLoadError, match=r"general\.yaml"):
        load_rule_pack(rules)


def test_off_disables_and_an_unwritable_folder_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTERSIGN_CACHE_DIR", "off")
    assert cache_dir() is None
    fresh = _shape(RULES_DIR)
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("COUNTERSIGN_CACHE_DIR", str(blocker))
    assert _shape(RULES_DIR) == fresh
