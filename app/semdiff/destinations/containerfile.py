"""Destinations of a Dockerfile / Containerfile, which the `text` analyzer sees only as lines.

Base images (`FROM image`, `COPY --from=image`) name registries; URLs in instructions (`ADD
https://…`, `RUN curl https://…`) name outbound hosts. Build stages (`FROM base AS build`, then
`FROM build`), `scratch` and images built from `ARG`s (`FROM ${BASE}`) name nothing here.
"""

from __future__ import annotations

import posixpath
import re

from app.core.models import FileDiff
from app.semdiff.common.text import DOC_SUFFIXES
from app.semdiff.destinations import values as dv

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.I)
_COPY_FROM = re.compile(r"^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*?--from=(\S+)", re.I)


def is_containerfile(path: str) -> bool:
    """`Dockerfile`, `Containerfile`, `Dockerfile.prod`, `api.Dockerfile` (any folder)."""
    name = posixpath.basename(path).lower()
    if name.endswith(DOC_SUFFIXES):
        return False
    return (
        name in ("dockerfile", "containerfile")
        or name.startswith(("dockerfile.", "containerfile."))
        or name.endswith((".dockerfile", ".containerfile"))
    )


def _lines(data: bytes) -> list[str]:
    """Instructions with `\\` continuations joined; comments dropped."""
    out: list[str] = []
    pending = ""
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.rstrip()
        if not pending and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def destinations(data: bytes | None) -> dict[str, set[str]]:
    """Category → values named by one side of a containerfile."""
    found: dict[str, set[str]] = {}
    if not data:
        return found
    stages: set[str] = set()
    for line in _lines(data):
        images: list[str] = []
        start = _FROM.match(line)
        if start:
            images.append(start.group(1))
            if start.group(2):
                stages.add(start.group(2).lower())
        copy = _COPY_FROM.match(line)
        if copy:
            images.append(copy.group(1))
        for image in images:
            if image.lower() in stages or image.lower() == "scratch" or not dv.literal(image):
                continue
            if "$" in image or image.isdigit():  # `$BASE`, or a stage index
                continue
            repository = dv.image_repository(image)
            if repository:
                found.setdefault("registries", set()).add(repository)
        for host in dv.url_hosts(line):
            found.setdefault("destinations", set()).add(host)
    return found


def introduced(file: FileDiff) -> dict[str, list[str]]:
    """Category → values the head names and the base does not (sorted)."""
    before = destinations(file.base)
    after = destinations(file.head)
    return {
        category: sorted(values - before.get(category, set()))
        for category, values in sorted(after.items())
        if values - before.get(category, set())
    }
