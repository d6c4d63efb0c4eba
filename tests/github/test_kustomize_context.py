"""The unchanged files a PR's kustomizations reach are read beside the diff (#24): the base a new
`bases:` entry points at and the file a removed entry named, in one extra batch per level.
A re-creation of argoproj/argocd-example-apps b4ebe0049d (Apache-2.0)."""

from __future__ import annotations

from app.github.snapshot_fetch import fetch_snapshot
from tests.github.conftest import Hub

DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: guestbook-ui\n"
TREE = {
    "guestbook/guestbook-ui-deployment.yaml": DEPLOYMENT,
    "kustomize-guestbook/kustomization.yaml": "resources:\n- guestbook-ui-deployment.yaml\n",
    "kustomize-guestbook/guestbook-ui-deployment.yaml": DEPLOYMENT,
    "pre-post-sync/kustomization.yaml": "resources:\n- ../guestbook/guestbook-ui-deployment.yaml\n"
    "- pre-sync-job.yaml\n",
    "pre-post-sync/pre-sync-job.yaml": "kind: Job\nmetadata:\n  name: before\n",
}
HEAD = "bases:\n- ../kustomize-guestbook\nresources:\n- pre-sync-job.yaml\n"


def test_the_unchanged_base_and_the_removed_file_are_read_at_head(hub: Hub) -> None:
    hub.sim.create_repo("acme/apps", TREE)
    pr = hub.sim.open_pr(
        "acme/apps",
        "alice",
        "fix-example",
        {"pre-post-sync/kustomization.yaml": HEAD},
        title="Fix broken pre-post-sync example",
    )
    hub.sim.requests.clear()
    snapshot = fetch_snapshot(hub.client(), "acme/apps", pr.number)
    context = {c.path: c.content.decode() for c in snapshot.context_files}
    assert {p: context[p] for p in context if p in TREE} == {
        p: TREE[p]
        for p in (
            "guestbook/guestbook-ui-deployment.yaml",
            "kustomize-guestbook/kustomization.yaml",
            "kustomize-guestbook/guestbook-ui-deployment.yaml",
            "pre-post-sync/pre-sync-job.yaml",
        )
    }
    graphql = [c for c in hub.sim.requests if c.startswith("POST /graphql")]
    assert len(graphql) == 3  # the diff's blobs, then one batch per level of the graph
    assert snapshot.problems == ()


def test_a_pr_that_removes_no_kustomize_entry_reads_nothing_more(hub: Hub) -> None:
    hub.sim.create_repo("acme/apps", TREE)
    pr = hub.sim.open_pr(
        "acme/apps",
        "alice",
        "more",
        {
            "pre-post-sync/kustomization.yaml": TREE["pre-post-sync/kustomization.yaml"]
            + "- b.yaml\n"
        },
        title="One more resource",
    )
    hub.sim.requests.clear()
    assert fetch_snapshot(hub.client(), "acme/apps", pr.number).context_files == ()
    assert [c for c in hub.sim.requests if c.startswith("POST /graphql")] == ["POST /graphql > 200"]
