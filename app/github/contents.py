"""File contents of many commits and directories in one GraphQL batch, complete or flagged.

GraphQL's `Blob.text` stops at 512,000 bytes and says so with `isTruncated` (`byteSize` is the full
size). A cut text is never used as the file: the blob is read again over REST
(`GET /git/blobs/{oid}`, base64) when it is no bigger than the configured cap, and is otherwise
marked `too_large`, which the snapshot turns into a failing problem (fail closed).

Directory listings (`object(expression: "<sha>:<dir>") { ... on Tree { entries … } }`) ride in the
same batch, so the unchanged sibling files of a Terraform module cost no extra round trip.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.errors import GitHubError

if TYPE_CHECKING:
    from app.github.client import InstallationClient

OBJECTS_PER_QUERY = 200
BLOB_FIELDS = "oid text isBinary isTruncated byteSize"


@dataclass(frozen=True)
class Blob:
    """One file side as GitHub returned it; `data` is None unless the whole text was read."""

    exists: bool
    data: bytes | None = None
    binary: bool = False
    truncated: bool = False
    """The text could not be read in full (see `too_large`)."""
    too_large: bool = False
    """Bigger than the configured cap (`COUNTERSIGN_MAX_BLOB_BYTES`): not read at all."""
    size: int = 0


@dataclass(frozen=True)
class TreeEntry:
    """A file directly inside a listed directory."""

    path: str
    blob: Blob


def _gql_string(value: str) -> str:
    return json.dumps(value)


def _object_field(alias: str, expression: str, tree: bool) -> str:
    inner = (
        f"... on Tree {{ entries {{ name type object {{ __typename ... on Blob {{ {BLOB_FIELDS} }} }} }} }}"
        if tree
        else f"... on Blob {{ {BLOB_FIELDS} }}"
    )
    return f"{alias}: object(expression: {_gql_string(expression)}) {{ {inner} }}"


class ContentsReader:
    """Reads (sha, path) blobs and (sha, directory) listings of one repository."""

    def __init__(self, client: InstallationClient, repo: str, max_blob_bytes: int) -> None:
        self.client = client
        self.repo = repo
        self.max_blob_bytes = max_blob_bytes

    def read(
        self, blobs: list[tuple[str, str]], trees: list[tuple[str, str]] | None = None
    ) -> tuple[dict[tuple[str, str], Blob], dict[tuple[str, str], list[TreeEntry]]]:
        """Blobs by (sha, path), and the files of each (sha, dir) directory (absent: no key)."""
        owner, name = self.repo.split("/", 1)
        specs: list[tuple[str, str, bool]] = [(s, p, False) for s, p in blobs]
        specs += [(s, d, True) for s, d in trees or []]
        out_blobs: dict[tuple[str, str], Blob] = {}
        out_trees: dict[tuple[str, str], list[TreeEntry]] = {}
        for start in range(0, len(specs), OBJECTS_PER_QUERY):
            chunk = specs[start : start + OBJECTS_PER_QUERY]
            fields = " ".join(
                _object_field(f"f{i}", f"{sha}:{path}", tree)
                for i, (sha, path, tree) in enumerate(chunk)
            )
            query = (
                f"query {{ repository(owner: {_gql_string(owner)}, name: {_gql_string(name)}) "
                f"{{ {fields} }} }}"
            )
            data = self.client.graphql(query)
            if data.get("errors"):
                raise GitHubError(f"GraphQL contents query failed: {str(data['errors'])[:300]}")
            objects = (data.get("data") or {}).get("repository") or {}
            for i, (sha, path, tree) in enumerate(chunk):
                obj = objects.get(f"f{i}")
                if tree:
                    if obj is not None and isinstance(obj.get("entries"), list):
                        out_trees[(sha, path)] = self._entries(path, obj["entries"])
                else:
                    out_blobs[(sha, path)] = self._blob(obj)
        return out_blobs, out_trees

    def _entries(self, directory: str, entries: list[dict[str, Any]]) -> list[TreeEntry]:
        prefix = f"{directory.rstrip('/')}/" if directory else ""
        return [
            TreeEntry(f"{prefix}{e['name']}", self._blob(e.get("object")))
            for e in entries
            if e.get("type") == "blob"
        ]

    def _blob(self, obj: dict[str, Any] | None) -> Blob:
        if obj is None:
            return Blob(exists=False)
        size = int(obj.get("byteSize") or 0)
        if obj.get("isBinary"):
            return Blob(exists=True, binary=True, size=size)
        if obj.get("isTruncated") or obj.get("text") is None:
            if size > self.max_blob_bytes or not obj.get("oid"):
                return Blob(exists=True, truncated=True, too_large=True, size=size)
            return self._rest_blob(str(obj["oid"]), size)
        return Blob(exists=True, data=str(obj["text"]).encode("utf-8"), size=size)

    def _rest_blob(self, oid: str, size: int) -> Blob:
        """The whole blob over REST (GitHub serves blobs up to 100 MB there)."""
        body = self.client.json("GET", f"/repos/{self.repo}/git/blobs/{oid}") or {}
        try:
            if body.get("encoding") == "base64":
                data = base64.b64decode(str(body.get("content") or ""))
            else:
                data = str(body.get("content") or "").encode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise GitHubError(f"git blob {oid} of {self.repo} is not valid base64") from exc
        if len(data) != size:
            raise GitHubError(
                f"git blob {oid} of {self.repo}: GitHub sent {len(data)} bytes of {size}"
            )
        return Blob(exists=True, data=data, size=size)
