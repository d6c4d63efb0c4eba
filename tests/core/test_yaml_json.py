"""The JSON path of the C YAML loader (`app/core/yaml_json.py`) against the ruamel reference.

Collections are built by rapidyaml's JSON emitter and `json`; a JSON string is trusted only
where ruamel would read it the same quoted or plain. These tests aim at exactly the places
where the JSON could lie: plain scalars the emitter writes as strings (`~`, `0x1F`, `inf`),
numbers it rewrites (`.5e3`), NaN/Infinity, duplicate keys, keys that are not strings, the
empty string, and the count of ambiguous quoted strings per top-level entry.
"""

from __future__ import annotations

import random

import pytest
import ryml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import yaml_fast, yaml_json
from app.core.yamlsafe import MAX_DEPTH, MAX_EXPANDED_NODES, load_yaml_documents
from tests.core._yaml_compare import compare, typed

TRICKY = [
    *("~", "null", "Null", "NULL", "", "true", "True", "TRUE", "false", "FALSE", "yes"),
    *("0", "-0", "1", "+1", "-1", "0755", "0o17", "0x1F", "0b101", "1_000", "9" * 25),
    *("1.5", "1.", "-1.", ".5", "-.5", "+.5", "0.", "1e3", "1E3", "1e+3", "1.e3"),
    *(".5e3", "-.5e3", ".5e+3", "0.5e3", "0e1", "12e03", "1.5.2", "1-2"),
    *(".inf", "-.inf", "+.inf", ".Inf", "inf", "-inf", "nan", ".nan", ".NaN", "NaN"),
    *("infinity", "-infinity", ".INF", "-.Inf", "-nan", "+.nan", "x.inf"),
    *("Infinity", "-Infinity", "2001-12-14", "2001-12-14 21:59:43.10 -5", "12:30"),
    *("<<", "=", "@x", "`x`", "*", "!x", "#x", "%x", ">x", "|x", "?x", ":x", "-x"),
    *("a,", "x, y", "[a", "{a", "]", "}", '"', "'", "\\", "é", "a: b", "- a"),
]
STYLES = ("plain", "single", "double")


def _scalar(text: str, style: str) -> str:
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def fast(text: str) -> object:
    return yaml_fast.load(text, "t.yaml", max_depth=MAX_DEPTH, max_nodes=MAX_EXPANDED_NODES)


def test_the_node_array_reads_as_assumed() -> None:
    """If a rapidyaml upgrade moves its node layout, the JSON path turns itself off (the walk
    still reads right, only slower): this test says so before the benchmark does."""
    assert yaml_json._LAYOUT_OK
    tree = ryml.parse_in_arena(b"a: [1, {b: 'c'}]\n")
    nodes = yaml_json.node_columns(tree)
    assert nodes is not None
    assert nodes.types == [int(tree.type(i)) for i in range(tree.size())]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(TRICKY), st.sampled_from(STYLES), st.sampled_from(TRICKY)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(STYLES),
    st.sampled_from(["block", "flow", "list"]),
)
def test_tricky_scalars_read_like_ruamel(
    rows: list[tuple[str, str, str]], key_style: str, layout: str
) -> None:
    """Plain and quoted, as keys and values, nested under a top-level entry (the JSON unit),
    in block and flow collections: the C path reads them as ruamel does, or defers."""
    if layout == "block":
        body = "".join(f"  {_scalar(k, key_style)}: {_scalar(v, s)}\n" for k, s, v in rows)
        text = f"entry:\n{body}other: 1\n"
    elif layout == "flow":
        pairs = ", ".join(f"{_scalar(k, key_style)}: {_scalar(v, s)}" for k, s, v in rows)
        text = f"entry: {{{pairs}}}\nnested:\n  deeper: [1, [2]]\n"
    else:
        body = "".join(f"  - {_scalar(v, s)}\n" for _, s, v in rows)
        text = f"entry:\n{body}"
    compare(text)


def test_quoted_look_alikes_are_strings_and_plain_ones_are_not() -> None:
    """`"~"` and `~` in the same entry: the counts differ, so the entry is walked."""
    text = "values:\n  a: '~'\n  b: ~\n  c: \"8080\"\n  d: 8080\n  e: ''\n  f:\n"
    assert compare(text) == "fast"
    docs = fast(text)
    assert isinstance(docs, list)
    assert typed(docs[0][0]["values"]) == typed(
        {"a": "~", "b": None, "c": "8080", "d": 8080, "e": "", "f": None}
    )


@pytest.mark.parametrize(
    "text",
    [
        "spec:\n  x: .5e3\n",  # rewritten by the emitter to 0.5e3: a string to ruamel
        "spec:\n  x: inf\n",  # emitted as ".inf"
        "spec:\n  x: NaN\n",
        "spec:\n  x: [Infinity, -Infinity]\n",
        "spec:\n  1: a\n  '1': b\n",  # keys that are not strings
        "spec:\n  true: a\n",
        "spec:\n  a: 1\n  b: {c: 1, c: 2}\n",  # duplicate key inside a JSON unit: an error
    ],
)
def test_what_the_json_cannot_say_is_read_by_the_walk_or_ruamel(text: str) -> None:
    compare(text)


def test_plain_empty_values_are_null_strings_in_rapidyaml() -> None:
    """The JSON path reads `""` as the empty string because rapidyaml gives a plain empty
    value or key no text (its emitter then writes `null`): held over mutated text."""
    rng = random.Random(7)
    pieces = [*":-- \n[]{}\"'#|>,?ab1", ": ", "- ", "\n  ", "\n- ", "? ", "{a: }", "[a, ]"]
    seeds = ["a:\n", "- \n- x\n", "{a: , b: }\n", "[a, , b]\n", "a: b\nc:", "? a\n: \n"]
    checked = 0
    for _ in range(3000):
        text = rng.choice(seeds)
        for _ in range(rng.randint(0, 3)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(pieces) + text[at + rng.randint(0, 2) :]
        try:
            tree = ryml.parse_in_arena(text.encode())
        except ryml.ExceptionBasic:
            continue
        nodes = yaml_json.node_columns(tree)
        assert nodes is not None
        for nid, kind in enumerate(nodes.types):
            if kind & ryml.VAL and not kind & (ryml.VALQUO | ryml.MAP | ryml.SEQ):
                address, length = nodes.scalar(nid, False)
                if length == 0:
                    assert address == 0, text
                    checked += 1
            if kind & ryml.KEY and not kind & ryml.KEYQUO:
                address, length = nodes.scalar(nid, True)
                if length == 0:
                    assert address == 0, text
    assert checked > 100


def test_deep_nesting_is_still_refused_through_json() -> None:
    text = "top:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(MAX_DEPTH + 5))
    text += "  " * (MAX_DEPTH + 6) + "leaf: 1\n"
    assert fast(text) is None
    compare(text)


def test_a_big_entry_is_built_by_json_not_the_walk() -> None:
    """Speed guard: a large plain entry goes through `yaml_json` in one piece."""
    rows = "".join(f"    f{i}: {{type: string, enum: [a, b], max: {i}}}\n" for i in range(300))
    text = f"kind: CustomResourceDefinition\nspec:\n  properties:\n{rows}"
    calls: list[int] = []
    original = yaml_json.decode

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    yaml_json.decode = counting  # type: ignore[assignment]
    try:
        yaml_fast._reused.clear()
        docs = load_yaml_documents(text, "crd.yaml")
    finally:
        yaml_json.decode = original  # type: ignore[assignment]
    assert len(calls) == 1
    assert docs[0].value["spec"]["properties"]["f299"] == {
        "type": "string",
        "enum": ["a", "b"],
        "max": 299,
    }
    compare(text)
