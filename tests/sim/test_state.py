"""The simulator's git: file lists GitHub would show, and merges that carry the PR's changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sim.gittree import diff_trees
from app.sim.simulator import Simulator
from app.sim.state import SimError, blob_sha
from tests.examples import examples
from tests.sim.helpers import FIXTURES, read_tree


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(sync_webhooks=True) as s:
        s.create_repo("acme/shop", dict(read_tree(FIXTURES / "shop")))
        yield s


def test_blob_sha_is_gits() -> None:
    assert blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert blob_sha(b"hello\n") == hashlib.sha1(b"blob 6\x00hello\n").hexdigest()


def test_file_list_statuses_renames_and_binary(sim: Simulator) -> None:
    repo = sim.world.repo("acme/shop")
    assert repo is not None
    plans = repo.read(repo.branches["main"], "catalog/plans.json")
    pr = sim.open_pr(
        "acme/shop",
        "infra-bot[bot]",
        "agent/mixed",
        {
            "catalog/plans.json": None,
            "catalog/plans-2025.json": plans,
            "README.md": "# shop\n\nUpdated.\n",
            "logo.png": b"\x89PNG\r\n\x1a\n\x00new",
            "k8s/deployment.yaml": None,
            "infra/prod/variables.tf": 'variable "region" {}\n',
        },
        title="Mixed",
    )
    files = {f.filename: f for f in diff_trees(repo, pr.base_sha, pr.head_sha)}
    assert {n: f.status for n, f in files.items()} == {
        "catalog/plans-2025.json": "renamed",
        "README.md": "modified",
        "logo.png": "modified",
        "k8s/deployment.yaml": "removed",
        "infra/prod/variables.tf": "added",
    }
    assert files["catalog/plans-2025.json"].previous_filename == "catalog/plans.json"
    assert files["logo.png"].patch is None
    assert files["README.md"].patch is not None
    assert files["README.md"].patch.startswith("@@ ")
    assert (files["k8s/deployment.yaml"].additions, files["infra/prod/variables.tf"].additions) == (
        0,
        1,
    )


def test_merge_applies_the_pr_on_a_moved_base(sim: Simulator) -> None:
    first = sim.open_pr("acme/shop", "alice", "a", {"README.md": "# A\n"}, title="A")
    second = sim.open_pr("acme/shop", "bob", "b", {"new.txt": "b\n"}, title="B")
    sim.merge(first, by="carol", admin=True)
    merged = sim.merge(second, by="carol", admin=True)
    repo = sim.world.repo("acme/shop")
    assert repo is not None
    assert repo.read(merged, "README.md") == b"# A\n"
    assert repo.read(merged, "new.txt") == b"b\n"
    assert repo.commits[merged].parents[1] == second.head_sha
    with pytest.raises(SimError, match="not mergeable"):
        sim.merge(second, by="carol", admin=True)


def test_reviews_follow_github_rules(sim: Simulator) -> None:
    pr = sim.open_pr("acme/shop", "infra-bot[bot]", "r", {"x": "1"}, title="R")
    with pytest.raises(SimError, match="your own pull request"):
        sim.review(pr, "infra-bot[bot]", "APPROVED")
    comment = sim.review(pr, "alice", "COMMENTED")
    with pytest.raises(SimError, match="dismiss a commented"):
        sim.dismiss_review(comment.id, by="carol")
    with pytest.raises(SimError, match="not part of"):
        sim.review(pr, "alice", "APPROVED", commit_id="f" * 40)


paths = st.from_regex(r"[a-z]{1,3}(/[a-z]{1,3}){0,2}\.txt", fullmatch=True)


@settings(max_examples=examples(40), deadline=None)
@given(
    base=st.dictionaries(paths, st.binary(max_size=20), max_size=8),
    changes=st.dictionaries(paths, st.none() | st.binary(max_size=20), max_size=8),
)
def test_file_list_covers_exactly_the_changed_paths(
    base: dict[str, bytes], changes: dict[str, bytes | None]
) -> None:
    with Simulator() as sim:
        sim.create_repo("acme/p", dict(base))
        pr = sim.open_pr("acme/p", "alice", "x", dict(changes), title="P")
        repo = sim.world.repo("acme/p")
        assert repo is not None
        files = diff_trees(repo, pr.base_sha, pr.head_sha)
        touched = {f.filename for f in files} | {f.previous_filename for f in files} - {None}
        head = {p: c for p, c in {**base, **changes}.items() if c is not None}
        changed = {p for p in set(base) | set(head) if base.get(p) != head.get(p)}
        assert touched == changed
