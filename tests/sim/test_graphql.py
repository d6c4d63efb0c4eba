"""The focused GraphQL parser/executor: the blob-batch shape, its edge cases, and loud refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sim import graphql
from app.sim.simulator import Simulator
from tests.sim.helpers import FIXTURES, read_tree


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as s:
        files = read_tree(FIXTURES / "shop")
        files['docs/odd name: "quoted" ü.md'] = b"# odd\n"
        s.create_repo("acme/shop", dict(files))
        yield s


def _head(sim: Simulator) -> str:
    repo = sim.world.repo("acme/shop")
    assert repo is not None
    return repo.branches["main"]


def _batch(owner: str, name: str, specs: list[tuple[str, str]]) -> str:
    """The query shape app/github/client.py builds (JSON-encoded string literals)."""
    fields = " ".join(
        f"f{i}: object(expression: {json.dumps(f'{sha}:{path}')}) "
        "{ ... on Blob { text isBinary byteSize oid } }"
        for i, (sha, path) in enumerate(specs)
    )
    return (
        f"query {{ repository(owner: {json.dumps(owner)}, name: {json.dumps(name)}) "
        f"{{ {fields} }} }}"
    )


def test_batch_of_text_binary_missing_and_directory(sim: Simulator) -> None:
    sha = _head(sim)
    query = _batch(
        "acme",
        "shop",
        [
            (sha, ".github/CODEOWNERS"),
            (sha, "logo.png"),
            (sha, "no/such.txt"),
            (sha, "infra"),
            (sha, 'docs/odd name: "quoted" ü.md'),
            ("main", "README.md"),
        ],
    )
    result = graphql.execute(sim.world, query, {"acme/shop"})
    assert "errors" not in result
    objects = result["data"]["repository"]
    assert objects["f0"]["text"].startswith("# Pricing is owned by finance")
    assert objects["f0"]["byteSize"] == len(objects["f0"]["text"].encode())
    assert objects["f1"]["isBinary"] is True
    assert objects["f1"]["text"] is None
    assert objects["f2"] is None
    assert objects["f3"] == {}  # a Tree: `... on Blob` selects nothing
    assert objects["f4"]["text"] == "# odd\n"
    assert objects["f5"]["text"].startswith("# shop")


def test_oid_is_the_git_blob_sha(sim: Simulator) -> None:
    import hashlib

    data = b"# odd\n"
    expected = hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
    query = _batch("acme", "shop", [(_head(sim), 'docs/odd name: "quoted" ü.md')])
    assert (
        graphql.execute(sim.world, query, {"acme/shop"})["data"]["repository"]["f0"]["oid"]
        == expected
    )


def test_invisible_repository_is_not_found(sim: Simulator) -> None:
    result = graphql.execute(sim.world, _batch("acme", "shop", [("main", "README.md")]), set())
    assert result["data"] == {"repository": None}
    assert result["errors"][0]["type"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("query($sha: String!) { repository { name } }", "variables are not supported"),
        ("{ viewer { login } }", "Field 'viewer' doesn't exist on type 'Query'"),
        ('{ repository(owner: "acme", name: "shop") { issues } }', "Field 'issues'"),
        ('{ repository(owner: "acme, name: "shop") { name } }', "Parse error"),
        ("{ repository { ...Frag } }", "named fragments are not supported"),
        ("mutation { x }", "only queries are supported"),
        ('{ repository(owner: "acme", name: "shop") { name }', "unclosed"),
    ],
)
def test_unsupported_or_bad_queries_answer_graphql_errors(
    sim: Simulator, query: str, message: str
) -> None:
    result = graphql.execute(sim.world, query, {"acme/shop"})
    assert "data" not in result
    assert message in result["errors"][0]["message"]


def test_comments_commas_and_typename(sim: Simulator) -> None:
    query = """
    # the client may comment its queries
    query Blobs {
      __typename,
      repository(owner: "acme", name: "shop") { nameWithOwner, __typename }
    }
    """
    assert graphql.execute(sim.world, query, {"acme/shop"})["data"] == {
        "__typename": "Query",
        "repository": {"nameWithOwner": "acme/shop", "__typename": "Repository"},
    }


@given(st.text(min_size=0, max_size=40))
def test_json_encoded_strings_round_trip_through_the_tokenizer(value: str) -> None:
    tokens = graphql.tokenize(json.dumps(value))
    assert [(t.kind, t.value) for t in tokens[:-1]] == [("string", value)]


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60))
def test_tokenizer_never_crashes(source: str) -> None:
    """Any input parses or raises GraphQLError with a message (never another exception)."""
    message = "parsed"
    try:
        graphql.parse(source)
    except graphql.GraphQLError as exc:
        message = exc.message
    assert message
