"""The C YAML path (rapidyaml, `app/core/yaml_fast.py`) against the ruamel reference.

Same values, same document lines and the same line for every node and key, over every YAML file
of this repository, generated documents, mutated (mostly invalid) text, and the real-repository
corpus when its mirror is present. Where the C path cannot read text exactly like ruamel it hands
the text to ruamel; each such known difference is listed and tested below.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from app.core import yaml_fast
from app.core.errors import UnparseableError
from app.core.yamlsafe import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    YamlDocument,
    line_of,
    load_yaml_documents,
    load_yaml_documents_reference,
)
from tests.core._yaml_compare import compare
from tests.examples import examples

ROOT = Path(__file__).resolve().parents[2]
OWN_YAML = sorted(
    p
    for folder in ("tests", "risk_rules", "policies", "deploy", "corpus", ".github")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in (".yaml", ".yml") and p.is_file()
)
MIRROR = Path(os.environ.get("COUNTERSIGN_CORPUS_MIRROR", "/work/.mirror"))


def fast(text: str) -> object:
    return yaml_fast.load(text, "t.yaml", max_depth=MAX_DEPTH, max_nodes=MAX_EXPANDED_NODES)


def test_every_yaml_file_of_the_repository_reads_the_same() -> None:
    assert len(OWN_YAML) > 40
    outcomes = [compare(p.read_text(encoding="utf-8-sig"), str(p)) for p in OWN_YAML]
    # Most are read by the C path (the rest use anchors or tags): if this drops, the C path
    # has started to hand everything to ruamel and the speed is gone.
    assert outcomes.count("fast") >= 0.75 * len(outcomes)


scalars = st.one_of(
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "0755",
            "0o17",
            "0x1F",
            "1_000",
            "1e3",
            ".inf",
            "-.5",
            "~",
            "null",
            "Null",
            "",
            "true",
            "True",
            "2001-12-14",
            "12:30:00",
            "=",
            "a: b",
            "- x",
            "#c",
            "x #c",
            "'q'",
            '"d"',
            "multi\nline",
            " lead",
            "trail ",
            "\u00e9t\u00e9",
        ]
    ),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    ),
    max_leaves=20,
)


def _dump(value: object, flow: bool | None, width: int) -> str:
    import io

    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    yaml.width = width
    yaml.dump_all([value, {"second": value}], out)
    return out.getvalue()


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.sampled_from([False, True, None]), st.sampled_from([20, 80, 4096]))
def test_generated_documents_read_the_same(value: object, flow: bool | None, width: int) -> None:
    compare(_dump(value, flow, width))


SEEDS = [
    *[t for p in OWN_YAML if len(t := p.read_text(encoding="utf-8-sig")) <= 1500][:40],
    "a: 1\nb:\n  - x\n  - y: 2\n    z: [1, 2, {q: r}]\nc: |\n  text\nd: >-\n  folded\n  text\n",
    "- a\n- b: c\n  d: e\n-\n  - f\n- 'q'\n- \"d\\tq\"\n---\nk: {a: 1, b: [x, y], c: {}}\n",
]
PIECES = [*":-- \n\n[]{}\"'#|>,?ab1.~&*!%@`", ": ", "- ", "\n  ", "\n- ", "---\n", "\t"]


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from(PIECES), st.integers(0, 3)), max_size=4),
)
def test_mutated_text_reads_the_same_or_fails_the_same(
    seed: str, edits: list[tuple[float, str, int]]
) -> None:
    """Mostly invalid YAML: the C path must never read what ruamel refuses, nor read it
    differently."""
    text = seed
    for where, piece, cut in edits:
        at = int(where * len(text))
        text = text[:at] + piece + text[at + cut :]
    compare(text)


def _corpus_files(limit: int) -> list[tuple[str, str]]:
    repos = sorted(p for p in MIRROR.glob("*+*") if p.is_dir()) if MIRROR.is_dir() else []
    out: list[tuple[str, str]] = []
    for repo in repos:
        git = repo / "repo" if (repo / "repo").is_dir() else repo
        listing = subprocess.run(
            ["git", "--git-dir", str(git), "ls-tree", "-r", "-l", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()
        blobs = [
            (row.split()[2], row.split("\t", 1)[1])
            for row in listing
            if row.endswith((".yaml", ".yml"))
            and row.split()[3].isdigit()
            and int(row.split()[3]) <= 64 * 1024
        ]
        for sha, path in blobs[:: max(1, len(blobs) // 12)][:12]:
            data = subprocess.run(
                ["git", "--git-dir", str(git), "cat-file", "blob", sha],
                capture_output=True,
                check=False,
            ).stdout
            out.append((f"{repo.name}:{path}", data.decode("utf-8", "replace")))
        if len(out) >= limit:
            break
    return out[:limit]


def test_real_repository_corpus_reads_the_same() -> None:
    """Up to 12 YAML files of each mirrored public repository (`make corpus`'s mirror)."""
    files = _corpus_files(int(os.environ.get("COUNTERSIGN_YAML_CORPUS_FILES", "240")))
    if not files:
        pytest.skip(f"no corpus mirror at {MIRROR}")
    outcomes = [compare(text, name) for name, text in files]
    assert outcomes.count("fast") >= 0.6 * len(outcomes)


# Each known difference between rapidyaml and ruamel, and what the C path does about it: it
# hands the text to ruamel, so the result (value or error) is ruamel's.
KNOWN = {
    "anchor and alias": "a: &x 1\nb: *x\n",
    "merge key": "base: {r: 1}\njob:\n  <<: {r: 2}\n",
    "tag": "a: !Ref b\n",
    "mkdocs tag read as text": "site: !ENV SITE_URL\n",
    "duplicate key": "a: 1\na: 2\n",
    "tab after a colon (rapidyaml: one scalar)": "a:\tb\n",
    "plain scalar starting with @": "a: @b\n",
    "plain scalar starting with a backquote": "a: `b`\n",
    "stray closing bracket": "a: 1\n}b: 2\n",
    "quoted key across lines": '"a\n  b": 1\n',
    "plain flow key across lines (rapidyaml folds it)": "a: {h \n  x: Z, b: 1}\n",
    "trailing tabs (white space to the reference)": "kind: Service\t\nspec:\t\n  type: x\t\n",
    "quoted key across lines after escaped quotes": "entry:\n  ': ''''\n  ': ~\n",
    "plain flow key across lines": "second:\n  k: {00 \n      0: null}\n",
    "text after a block scalar header": "a: > - x\n  y\n",
    "indented document end": "k:\n  - a\n  ...\n",
    "directive": "%YAML 1.2\n---\na: 1\n",
    "null key in a flow sequence": "a: [b,: c]\n",
    "colon before a flow indicator": "z: [1, {q:}]\n",
    "explicit key in a flow sequence": "v: [a, ?b]\n",
    "colon starting a flow key": "m: {a: 1, :b: 2}\n",
    "flow key ending in a colon": "r: [a:]\n",
    "blank line with spaces before a block scalar": "p: |-\n \n   - op\n",
    "comment on a block scalar header (final line break)": "run: | # note\n  echo\nx: 1\n",
    "lone surrogate escape": 'a: "\\ud800"\n',
    "block scalar at EOF without a line break": "a: |\n  text",
    "lone CR line break": "a: 1\rb: 2\r",
    "NEL line break": "a: x\x85b\n",
    "container as a key": "? [a, b]\n: 1\n",
    "nesting deeper than the cap": "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5),
}


@pytest.mark.parametrize("text", KNOWN.values(), ids=KNOWN.keys())
def test_known_difference_is_read_by_the_reference(text: str) -> None:
    assert fast(text) is None

    def read(loader: Callable[[str, str], list[YamlDocument]]) -> object:
        try:
            return [(d.value, d.line) for d in loader(text, "t.yaml")]
        except UnparseableError as error:
            return (error.message, error.line)

    assert read(load_yaml_documents) == read(load_yaml_documents_reference)


def test_yaml_12_scalars_through_the_c_path() -> None:
    docs = fast("a: yes\nb: 0755\nc: 1_000\nd: ~\ne: 2001-12-14\nf: '1'\ng: 1:20\nh: =\n")
    assert isinstance(docs, list)
    value = docs[0][0]
    assert value["a"] == "yes" and value["b"] == 755 and value["c"] == 1000
    assert value["d"] is None and value["f"] == "1" and value["g"] == "1:20" and value["h"] == "="
    assert str(value["e"]) == "2001-12-14"


LINES = """\
top: 1
list:
  - a
  - key: |
      block
  -
    late: 2
flow: [
  1, 2]
empty: {}
nested:
  deep:
    leaf: x
"""


@pytest.mark.parametrize(
    ("path", "key", "line"),
    [
        (("top",), True, 1),
        (("list",), True, 2),
        (("list",), False, 3),
        (("list", 0), False, 3),
        (("list", 1, "key"), False, 4),
        (("list", 2), False, 7),
        (("flow",), False, 8),
        (("flow", 1), False, 9),
        (("empty",), False, 10),
        (("nested", "deep", "leaf"), True, 13),
    ],
)
def test_line_look_ups_on_c_path_nodes(path: tuple[str | int, ...], key: bool, line: int) -> None:
    """Block scalars, flow collections across lines, an item on the line after its dash and an
    empty collection: the lines ruamel gives (the last two read from ruamel on demand)."""
    docs = load_yaml_documents(LINES, "t.yaml")
    assert type(docs[0].node).__name__ == "FastMapping"
    assert line_of(docs[0].node, path, key=key) == line
    assert line_of(load_yaml_documents_reference(LINES)[0].node, path, key=key) == line


def _big_entry(indent: str) -> str:
    rows = "".join(
        f"{indent}    field{i}: {{type: string, description: 'row {i}'}}\n" for i in range(200)
    )
    return f"{indent}spec:\n{indent}  properties:\n{rows}"


def test_a_top_level_entry_read_before_is_reused_and_equal() -> None:
    """The head of a PR is its base plus a key: the unchanged large entry is not walked again,
    and both sides still read exactly as ruamel reads them."""
    base = "kind: CustomResourceDefinition\n" + _big_entry("")
    head = base + "added: true\n"
    assert compare(base) == compare(head) == "fast"
    first, second = fast(base), fast(head)
    assert isinstance(first, list) and isinstance(second, list)
    assert second[0][0]["spec"] is first[0][0]["spec"]
    assert second[0][0]["added"] is True


def test_the_same_entry_text_at_another_indent_is_not_reused() -> None:
    """An entry's text is taken from its line's start: at another column the same words are
    another structure, so they are read again."""
    flat = fast(_big_entry("") + "x: 1\n")
    nested = fast("top:\n" + _big_entry("  ") + "  x: 1\n")
    assert isinstance(flat, list) and isinstance(nested, list)
    assert flat[0][0]["spec"] == nested[0][0]["top"]["spec"]
    assert flat[0][0]["spec"] is not nested[0][0]["top"]["spec"]
    compare("top:\n" + _big_entry("  ") + "  x: 1\n")
