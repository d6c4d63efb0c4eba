"""Reading files like GitHub serves them: GraphQL cuts texts at 512,000 bytes, so bigger files are
read in full over REST (or fail closed above the cap), and Terraform module siblings ride in the
same GraphQL batch as the changed blobs."""

from __future__ import annotations

import pytest

from app.github.snapshot_fetch import fetch_snapshot
from app.sim.graphql import TEXT_LIMIT
from app.sim.state import blob_sha
from tests.github.conftest import Hub
from tests.github.tariffs import CONFIG, cut_last_price, tariff_book

REPO = "acme/platform"


def test_the_simulator_cuts_graphql_text_like_github(hub: Hub) -> None:
    book = tariff_book()
    repo = hub.sim.create_repo("acme/tariffs", {"tariffs/zones.csv": book})
    query = (
        'query { repository(owner: "acme", name: "tariffs") { f: object(expression: '
        '"main:tariffs/zones.csv") { ... on Blob { oid text isTruncated byteSize isBinary } } } }'
    )
    blob = hub.client().graphql(query)["data"]["repository"]["f"]
    assert blob["isTruncated"] is True
    assert blob["byteSize"] == len(book) > TEXT_LIMIT == 512_000
    assert blob["text"].encode() == book[:TEXT_LIMIT]
    assert (
        blob["oid"]
        == blob_sha(book)
        == repo.commits[repo.branches["main"]].tree["tariffs/zones.csv"]
    )


def test_a_truncated_blob_is_read_in_full_over_rest(hub: Hub) -> None:
    book = tariff_book()
    hub.sim.create_repo("acme/tariffs", {"tariffs/zones.csv": book, "small.txt": "hi\n"})
    client = hub.client()
    sha = hub.sim.world.repos["acme/tariffs"].branches["main"]
    hub.sim.requests.clear()
    blobs = client.blobs("acme/tariffs", [(sha, "tariffs/zones.csv"), (sha, "small.txt")])
    assert blobs[(sha, "tariffs/zones.csv")].data == book
    assert blobs[(sha, "small.txt")].data == b"hi\n"
    assert [c for c in hub.sim.requests if "access_tokens" not in c] == [
        "POST /graphql > 200",
        f"GET /repos/acme/tariffs/git/blobs/{blob_sha(book)} > 200",
    ]


def test_a_pr_with_a_cut_in_the_last_row_of_a_720_kb_book_sees_the_cut(hub: Hub) -> None:
    book = tariff_book()
    hub.sim.create_repo(
        "acme/tariffs", {"tariffs/zones.csv": book, ".github/countersign.yml": CONFIG}
    )
    head, code = cut_last_price(book)
    pr = hub.sim.open_pr(
        "acme/tariffs", "pricing-bot[bot]", "agent/cut", {"tariffs/zones.csv": head}, title="Cut"
    )
    snapshot = fetch_snapshot(hub.client(), "acme/tariffs", pr.number)
    (changed,) = snapshot.files
    assert (changed.base, changed.head, changed.complete) == (book, head, True)
    assert code.encode() in head[TEXT_LIMIT:]  # the change is past GraphQL's cut
    assert snapshot.problems == ()


def test_a_file_above_the_cap_fails_closed_naming_size_and_cap(hub: Hub) -> None:
    book = tariff_book()
    hub.sim.create_repo("acme/tariffs", {"tariffs/zones.csv": book})
    head, _ = cut_last_price(book)
    pr = hub.sim.open_pr(
        "acme/tariffs", "pricing-bot[bot]", "agent/cut", {"tariffs/zones.csv": head}, title="Cut"
    )
    client = hub.client(max_blob_bytes=600_000)
    snapshot = fetch_snapshot(client, "acme/tariffs", pr.number)
    (changed,) = snapshot.files
    assert changed.complete is False and changed.head is None
    (problem,) = snapshot.problems
    assert f"tariffs/zones.csv is {len(head):,} bytes" in problem
    assert "600,000-byte cap (COUNTERSIGN_MAX_BLOB_BYTES)" in problem
    assert not any("/git/blobs/" in c for c in client.log.calls)  # never fetched past the cap


MODULE = {
    "infra/network/main.tf": 'resource "aws_vpc" "main" {\n  cidr_block = "10.0.0.0/16"\n}\n',
    "infra/network/vpc-endpoints.tf": (
        'resource "aws_vpc_endpoint" "s3" {\n  vpc_id       = aws_vpc.main.id\n'
        '  service_name = "com.amazonaws.eu-west-1.s3"\n}\n'
    ),
    "infra/network/variables.tf": 'variable "region" {\n  default = "eu-west-1"\n}\n',
    "infra/network/outputs.tf.json": '{"output": {"vpc_id": {"value": "${aws_vpc.main.id}"}}}\n',
    "infra/network/README.md": "# network\n",
    "infra/network/prod.tfvars": 'region = "eu-west-1"\n',
    "infra/network/modules/subnets/main.tf": 'variable "cidr" {}\n',
    "infra/database/main.tf": 'resource "aws_db_instance" "main" {\n  engine = "postgres"\n}\n',
}


def test_unchanged_module_siblings_come_in_the_same_graphql_batch(hub: Hub) -> None:
    big_sibling = "".join(
        f'resource "aws_route" "r{i}" {{\n  route_table_id = "rtb-{i:08x}"\n'
        f'  destination_cidr_block = "10.{i % 250}.{i // 250 % 250}.0/24"\n}}\n'
        for i in range(6000)
    )
    files = {**MODULE, "infra/network/routes.tf": big_sibling}
    hub.sim.create_repo("acme/infra", files)
    moved = MODULE["infra/network/main.tf"] + MODULE["infra/network/vpc-endpoints.tf"]
    pr = hub.sim.open_pr(
        "acme/infra",
        "infra-bot[bot]",
        "agent/endpoints",
        {"infra/network/main.tf": moved, "infra/network/vpc-endpoints.tf": None},
        title="Move the S3 endpoint into main.tf",
    )
    hub.sim.requests.clear()
    snapshot = fetch_snapshot(hub.client(), "acme/infra", pr.number)
    context = {c.path: c.content for c in snapshot.context_files}
    assert sorted(context) == [
        "infra/network/outputs.tf.json",
        "infra/network/routes.tf",
        "infra/network/variables.tf",
    ]
    assert context["infra/network/routes.tf"] == big_sibling.encode()  # > 512,000 bytes, whole
    assert len(big_sibling) > TEXT_LIMIT
    graphql = [c for c in hub.sim.requests if c.startswith("POST /graphql")]
    assert graphql == ["POST /graphql > 200"]  # changed blobs and module trees: one batch
    assert snapshot.problems == ()


def test_a_pr_outside_terraform_reads_no_trees(hub: Hub) -> None:
    pr = hub.sim.open_pr(REPO, "alice", "docs", {"README.md": "# platform\nmore\n"}, title="Docs")
    assert fetch_snapshot(hub.client(), REPO, pr.number).context_files == ()


@pytest.mark.parametrize("directory", ["", "infra/network"])
def test_the_simulator_lists_tree_entries_like_github(hub: Hub, directory: str) -> None:
    hub.sim.create_repo("acme/infra", MODULE)
    expression = f"main:{directory}"
    query = (
        'query { repository(owner: "acme", name: "infra") { t: object(expression: '
        f'"{expression}") {{ ... on Tree {{ entries {{ name type path object {{ __typename '
        "... on Blob { byteSize isTruncated } } } } } } }"
    )
    entries = hub.client().graphql(query)["data"]["repository"]["t"]["entries"]
    if directory == "":
        assert entries == [
            {"name": "infra", "type": "tree", "path": "infra", "object": {"__typename": "Tree"}},
        ]
    else:
        names = {e["name"]: e["type"] for e in entries}
        assert names == {
            "README.md": "blob",
            "main.tf": "blob",
            "modules": "tree",
            "outputs.tf.json": "blob",
            "prod.tfvars": "blob",
            "variables.tf": "blob",
            "vpc-endpoints.tf": "blob",
        }
        main = next(e for e in entries if e["name"] == "main.tf")
        assert main["object"] == {
            "__typename": "Blob",
            "byteSize": len(MODULE["infra/network/main.tf"]),
            "isTruncated": False,
        }
        assert main["path"] == "infra/network/main.tf"


@pytest.mark.parametrize(
    ("size", "tail"),
    [
        (TEXT_LIMIT - 1, b"a"),
        (TEXT_LIMIT, b"a"),
        (TEXT_LIMIT + 1, b"a"),
        (TEXT_LIMIT + 2, "é".encode()),
    ],
    ids=["below", "at", "one-over", "split-character"],
)
def test_every_size_around_the_cut_comes_back_whole(hub: Hub, size: int, tail: bytes) -> None:
    # "é" is two bytes: at TEXT_LIMIT + 2 the cut falls inside it.
    data = b"x" * (size - len(tail) - 1) + tail + b"\n"
    assert len(data) == size
    hub.sim.create_repo("acme/sizes", {"notes.txt": data})
    sha = hub.sim.world.repos["acme/sizes"].branches["main"]
    hub.sim.requests.clear()
    (blob,) = hub.client().blobs("acme/sizes", [(sha, "notes.txt")]).values()
    assert blob.data == data
    over_rest = any("/git/blobs/" in r for r in hub.sim.requests)
    assert over_rest == (size > TEXT_LIMIT)
