"""`analyze --repo` reads the unchanged files a PR's kustomizations reach, like the GitHub fetch
(#24): a re-creation of argoproj/argocd-example-apps 3ef31aef9c (Apache-2.0), where a
kustomization swaps `../guestbook/…` for the same file moved beside it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app.config.repo import RepoConfig
from app.semdiff import analyze_files
from app.sources.git import snapshot_from_git

SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: guestbook-ui\n"


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "x",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "x",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    for path, text in files.items():
        if text is None:
            (repo / path).unlink()
        else:
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


def test_the_removed_entry_and_its_replacement_are_read(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    base = commit(
        tmp_path,
        {
            "guestbook/guestbook-ui-svc.yaml": SERVICE,
            "kustomize-guestbook/kustomization.yaml": "resources:\n- ../guestbook/guestbook-ui-svc.yaml\n",
            "kustomize2-guestbook/guestbook-ui-svc.yaml": SERVICE,
        },
        "base",
    )
    head = commit(
        tmp_path,
        {
            "kustomize-guestbook/kustomization.yaml": "resources:\n- guestbook-ui-svc.yaml\n",
            "kustomize2-guestbook/guestbook-ui-svc.yaml": None,
            "kustomize-guestbook/guestbook-ui-svc.yaml": SERVICE,
        },
        "Moves kustomize2-guestbook to kustomize-guestbook",
    )
    snapshot = snapshot_from_git(tmp_path, base, head)
    assert [c.path for c in snapshot.context_files] == ["guestbook/guestbook-ui-svc.yaml"]
    changes = analyze_files(snapshot.files, RepoConfig(), snapshot.context_files)
    (removal,) = [c for c in changes if c.op == "delete" and c.kind == "data"]
    assert removal.facts.get("still_built") is True
