"""The generic data analyzer: top-level keys, keyed records, documents, secrets, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change, FileDiff
from app.semdiff.common.data import analyze, json_key_lines
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "data"
SECRETS = (
    "wk_live_9f8e7d6c5b4a",
    "wk_live_0a1b2c3d4e5f",
    "pr0d-Billing-DB-pass",
    "r0tated-Billing-DB-pass",
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(
    base: str | bytes | None, head: str | bytes | None, path: str = "config/flags.json"
) -> list[Change]:
    def raw(side: str | bytes | None) -> bytes | None:
        return side.encode() if isinstance(side, str) else side

    status = "added" if base is None else "removed" if head is None else "modified"
    return analyze(FileDiff(path=path, status=status, base=raw(base), head=raw(head)), PathRule())


def by_address(changes: list[Change]) -> dict[str, Change]:
    out = {c.address: c for c in changes}
    assert len(out) == len(changes)
    return out


def fields(change: Change) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.before, f.after) for f in change.fields}


def dumped(changes: list[Change]) -> str:
    return json.dumps([c.model_dump(mode="json") for c in changes])


def line_of(text: bytes, needle: str) -> int:
    return text[: text.index(needle.encode())].count(b"\n") + 1


def test_feature_flags_one_change_per_top_level_key() -> None:
    base, head = fixture("flags_base.json"), fixture("flags_head.json")
    changes = by_address(run(base, head))
    assert {a: c.op for a, c in changes.items()} == {
        "version": "update",
        "features": "update",
        "segments": "update",
        "kill_switches": "delete",
        "analytics": "update",
        "experiments": "create",
    }
    assert fields(changes["features"]) == {
        "features.new_checkout.enabled": (False, True),
        "features.new_checkout.rollout_percent": (0, 10),
        "features.one_click_upsell.enabled": (None, True),
        "features.one_click_upsell.owners": (None, ["@acme/growth"]),
        "features.one_click_upsell.rollout_percent": (None, 5),
    }
    assert fields(changes["segments"]) == {
        "segments[staff].description": ("Employees", "Employees and contractors")
    }, "records matched by id, not position"
    assert fields(changes["analytics"]) == {"analytics.api_key": (REDACTED, REDACTED)}
    assert fields(changes["experiments"]) == {"experiments.pricing_page_b.traffic": (None, 0.5)}
    assert changes["features"].line == line_of(head, '"features"')
    assert changes["kill_switches"].line == line_of(base, '"kill_switches"'), "base for deletes"
    assert changes["version"].facts["format"] == "json"
    assert all(s not in dumped(list(changes.values())) for s in SECRETS)


def test_formatting_only_edit_is_no_change() -> None:
    """Key order, record order, tabs, line breaks and 100 vs 100.0."""
    assert run(fixture("flags_base.json"), fixture("flags_reordered.json")) == []


def test_openapi_parameters_matched_by_name() -> None:
    changes = by_address(
        run(fixture("openapi_base.yaml"), fixture("openapi_head.yaml"), "api/openapi.yaml")
    )
    assert set(changes) == {"info", "paths"}
    assert fields(changes["paths"]) == {
        "paths./orders.get.parameters[limit].schema.maximum": (100, 500),
        "paths./orders/{id}.delete.security": ([{"bearerAuth": []}], []),
    }
    assert changes["paths"].line == line_of(fixture("openapi_head.yaml"), "paths:")


def test_multi_document_yaml_prefixes_addresses_and_redacts() -> None:
    base, head = fixture("pipeline_base.yaml"), fixture("pipeline_head.yaml")
    changes = by_address(run(base, head, "deploy/billing.yaml"))
    assert set(changes) == {"doc[1].queue", "doc[1].database"}
    assert fields(changes["doc[1].queue"]) == {"queue.concurrency": (16, 32)}
    assert fields(changes["doc[1].database"]) == {"database.password": (REDACTED, REDACTED)}
    assert changes["doc[1].queue"].line == line_of(head, "queue:\n  concurrency: 32")
    created = by_address(run(None, head, "deploy/billing.yaml"))
    assert {"doc[0].service", "doc[0].queue", "doc[1].database"} <= set(created)
    assert fields(created["doc[1].database"])["database.password"] == (None, REDACTED)
    for side in (changes, created):
        assert all(s not in dumped(list(side.values())) for s in SECRETS)


def test_top_level_secret_key_is_redacted() -> None:
    changes = run('{"db_password": "hunter2", "port": 5432}', '{"db_password": "hunter3"}')
    assert dumped(changes).count("hunter") == 0
    assert fields(by_address(changes)["db_password"]) == {"db_password": (REDACTED, REDACTED)}


def test_csv_records_keyed() -> None:
    [change] = run(fixture("regions.csv"), fixture("regions_head.csv"), "ref/regions.csv")
    assert change.address == "$"
    got = fields(change)
    assert got["$[Ireland].primary"] == ("true", "false")
    assert got["$[Frankfurt].code"] == (None, "eu-central-1")
    assert got["$[Sydney].code"] == ("ap-southeast-2", None)
    assert not any(p.startswith("$[N. Virginia]") for p in got), "reordered row is no change"


def test_scalar_and_list_roots() -> None:
    [change] = run('["a", "b"]', '["a", "c"]', "ref/list.json")
    assert (change.address, change.op) == ("$", "update")
    assert fields(change) == {"$": (["a", "b"], ["a", "c"])}
    [change] = run(None, "42\n", "ref/answer.yaml")
    assert (change.address, change.op) == ("$", "create")


def test_json_key_lines() -> None:
    text = '{\n  "a": {"x": 1},\n  "b\\"q": [\n    "c"\n  ],\n  "d"  :  null\n}\n'
    assert json_key_lines(text) == {"a": 2, 'b"q': 3, "d": 6}


BOMB = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)


@pytest.mark.parametrize(
    ("path", "head", "line"),
    [
        ("settings.yaml", "queue:\n  name: a\n concurrency: 4\n", 3),
        ("settings.yaml", "queue:\n\tname: a\n", 2),
        ("settings.yaml", BOMB, 7),
        ("settings.yaml", b"name: caf\xe9\n", None),
        ("flags.json", b'{"name": "caf\xe9"}', None),
        ("flags.json", '{\n  "a": 1,\n  "b": \n}\n', 4),
        ("stack.yaml", fixture("cloudformation.yaml"), (7, 12, 15)),  # a line with a tag
        ("evil.yaml", "x: !!python/object/apply:os.system ['echo pwned']\n", 1),
        ("ref/regions.csv", "code,name\neu-west-1\n", 2),
    ],
    ids=[
        "indentation",
        "tab",
        "billion-laughs",
        "utf8-yaml",
        "utf8-json",
        "json",
        "cfn",
        "py",
        "csv",
    ],
)
def test_unparseable(path: str, head: str | bytes, line: int | tuple[int, ...] | None) -> None:
    with pytest.raises(UnparseableError) as info:
        run("{}" if path.endswith(".json") else "a: 1\n", head, path)
    assert info.value.file == path
    assert info.value.line in (line if isinstance(line, tuple) else (line,))


def test_not_a_data_file() -> None:
    with pytest.raises(UnparseableError, match="not a JSON, YAML or CSV file"):
        run("a", "b", "README")


# -- properties --------------------------------------------------------------------------------

KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k != "id")
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=6),
)
RECORDS = st.lists(
    st.fixed_dictionaries({"id": KEYS}, optional={"v": SCALARS, "w": SCALARS}),
    max_size=4,
    unique_by=lambda r: r["id"],
)
VALUES = st.recursive(
    st.one_of(SCALARS, RECORDS),
    lambda children: st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=5)


def shuffled(value: Any, rng: random.Random) -> Any:
    """Same meaning: mapping keys and id-keyed records in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list) and all(isinstance(i, dict) and "id" in i for i in value):
        items = [shuffled(v, rng) for v in value]
        rng.shuffle(items)
        return items
    return value


def encode(value: Any, indent: int | None = 2) -> bytes:
    return json.dumps(value, indent=indent).encode()


@settings(max_examples=examples(80), deadline=None)
@given(DOCUMENTS, st.sampled_from(["data.json", "data.yaml"]))
def test_property_no_change_against_itself(doc: dict[str, Any], path: str) -> None:
    assert run(encode(doc), encode(doc, indent=None), path) == []


@settings(max_examples=examples(80), deadline=None)
@given(DOCUMENTS, st.randoms(use_true_random=False))
def test_property_reordering_keys_and_records_is_no_change(
    doc: dict[str, Any], rng: random.Random
) -> None:
    assert run(encode(doc), encode(shuffled(doc, rng))) == []


@settings(max_examples=examples(80), deadline=None)
@given(DOCUMENTS, DOCUMENTS)
def test_property_swapping_sides_swaps_create_and_delete(
    base: dict[str, Any], head: dict[str, Any]
) -> None:
    forward = by_address(run(encode(base), encode(head)))
    backward = by_address(run(encode(head), encode(base)))
    swap = {"create": "delete", "delete": "create", "update": "update"}
    assert {a: swap[c.op] for a, c in forward.items()} == {a: c.op for a, c in backward.items()}
    for address, change in forward.items():
        there = {(f.path, json.dumps(f.before), json.dumps(f.after)) for f in change.fields}
        back = {
            (f.path, json.dumps(f.after), json.dumps(f.before)) for f in backward[address].fields
        }
        assert there == back
