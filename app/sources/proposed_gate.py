"""The gate as proposed: the deployed rules and policies with some files replaced or removed.

A replay judges with the files a PR (or a person at the command line) proposes. The loaders read
folders, so the proposal is laid out in a temporary folder: the deployed files, then the
proposed ones over them (None removes a file). Load errors name the proposed file (`risk_rules/
pricing.yaml:12`), never the temporary folder.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from app.config.agents import REGISTRY_FILE
from app.core.errors import CountersignError
from app.gate.pipeline import Gatekeeper

RULES_PREFIX = "risk_rules/"
POLICIES_PREFIX = "policies/"


def load_proposed(
    rules_dir: Path,
    policies_dir: Path,
    files: Mapping[str, bytes | None],
) -> Gatekeeper:
    """`files` maps `risk_rules/<name>` and `policies/<name>` (top level only, as the loaders
    read them) to the proposed bytes, None for a removed file."""
    with tempfile.TemporaryDirectory(prefix="countersign-replay-") as tmp:
        rules = _lay_out(Path(rules_dir), Path(tmp) / "rules", files, RULES_PREFIX)
        policies = _lay_out(Path(policies_dir), Path(tmp) / "policies", files, POLICIES_PREFIX)
        try:
            return Gatekeeper.load(rules, policies)
        except CountersignError as error:
            error.file = _shown(error.file, tmp)
            raise


def _lay_out(source: Path, target: Path, files: Mapping[str, bytes | None], prefix: str) -> Path:
    target.mkdir(parents=True)
    if source.is_dir():
        for path in source.iterdir():
            if path.is_file():
                shutil.copyfile(path, target / path.name)
    for name, data in files.items():
        if not name.startswith(prefix) or "/" in name[len(prefix) :]:
            continue
        destination = target / name[len(prefix) :]
        if data is None:
            destination.unlink(missing_ok=True)
        else:
            destination.write_bytes(data)
    return target


def _shown(file: str | None, tmp: str) -> str | None:
    """The temporary folder's path as the proposal names it."""
    if file is None:
        return None
    for folder, prefix in (("rules", RULES_PREFIX), ("policies", POLICIES_PREFIX)):
        root = str(Path(tmp) / folder)
        if file.startswith(root):
            return prefix + file[len(root) :].lstrip("/")
    return file


def agents_file(data: bytes) -> dict[str, bytes | None]:
    """A proposed agent registry (`--agents FILE`) as the policies folder holds it."""
    return {POLICIES_PREFIX + REGISTRY_FILE: data}
