"""Every shipped rule against every change shape the analyzers emit: no `risk.rule-error`.

A rule that reads a fact some change does not carry fails at review time, on a real PR. So the
shapes come from the analyzers themselves, not from hand-written examples: every file under
tests/fixtures (new fixtures are picked up automatically) is run through the dispatcher as an
added, removed, renamed, partial and binary file, at its own path, at the path that gives it its
kind, and forced to that kind by config, and every two fixtures of one folder with the same
extension as the two sides of a modified file (where their kind lives); plus file-level shapes (rename-only, empty added
and deleted, binary, undecodable, partial) forced to every kind.
"""

from __future__ import annotations

import difflib
import itertools
import json
import posixpath
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from app.config.repo import parse_repo_config
from app.core.models import KINDS, Change, FileDiff, Kind
from app.risk import RulePack, evaluate_rules
from app.semdiff.dispatch import analyze_files

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CONFIG = parse_repo_config(
    "paths:\n"
    + "".join(f'  "forced/{kind}/**": {{kind: {kind}}}\n' for kind in KINDS)
    + '  "forced/pricing/**.json": {environment: production}\n'
)
FOLDER_KINDS: dict[str, Kind] = {
    "terraform": "terraform",
    "kubernetes": "kubernetes",
    "pricing": "pricing",
    "sql": "sql",
    "workflow": "workflow",
    "governance": "governance",
    "data": "data",
}


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file())


def placements(path: Path) -> list[str]:
    """Where a fixture is put in a PR: its own path, where its kind lives, forced to its kind."""
    relative = path.relative_to(FIXTURES).as_posix()
    name = path.name
    out = [relative]
    if name.endswith((".yml", ".yaml")):
        out.append(f".github/workflows/{name}")
    if name.startswith("CODEOWNERS"):
        out.append(".github/CODEOWNERS")
    if name.startswith("countersign"):
        out.append(".github/countersign.yml")
    if name.endswith(".cedar"):
        out.append(f"policies/{name}")
    kind = FOLDER_KINDS.get(relative.split("/", 1)[0])
    if kind is not None:
        out.append(f"forced/{kind}/{relative}")
    return out


def renamed(path: str) -> str:
    return posixpath.join(posixpath.dirname(path), f"moved-{posixpath.basename(path)}")


def patch(path: str, base: bytes, head: bytes) -> str:
    lines = difflib.unified_diff(
        base.decode("utf-8", "replace").splitlines(keepends=True),
        head.decode("utf-8", "replace").splitlines(keepends=True),
        f"a/{path}",
        f"b/{path}",
    )
    return "".join(lines)


def single_file_shapes(path: str, data: bytes) -> Iterator[list[FileDiff]]:
    yield [FileDiff(path=path, status="added", head=data)]
    yield [FileDiff(path=path, status="removed", base=data)]
    yield [FileDiff(path=renamed(path), old_path=path, status="renamed", base=data, head=data)]
    edited = data + b"\n"
    yield [FileDiff(path=path, patch=patch(path, data, edited), complete=False)]
    yield [FileDiff(path=path, base=data, head=data.replace(b"\n", b"\x00\n", 1))]


def pair_shapes(folder: list[Path]) -> Iterator[list[FileDiff]]:
    """Every two fixtures of a folder with one extension, both ways, where their kind lives."""
    by_suffix = sorted(folder, key=lambda p: "".join(p.suffixes))
    for _suffix, group in itertools.groupby(by_suffix, key=lambda p: "".join(p.suffixes)):
        for a, b in itertools.permutations(list(group), 2):
            path = placements(a)[-1]
            yield [FileDiff(path=path, base=a.read_bytes(), head=b.read_bytes())]


def file_level_shapes() -> Iterator[list[FileDiff]]:
    """What every kind's file-level changes look like, forced by config."""
    for kind in KINDS:
        for name in ("main.tf", "app.yaml", "plans.json", "0001.sql", "notes.txt"):
            path = f"forced/{kind}/{name}"
            yield [FileDiff(path=path, status="added", head=b"")]
            yield [FileDiff(path=path, status="removed", base=b"")]
            yield [FileDiff(path=path, status="added", head=b"\n# only a comment\n")]
            yield [
                FileDiff(path=renamed(path), old_path=path, status="renamed", base=b"", head=b"")
            ]
            text = b"x: 1\n"
            yield [
                FileDiff(path=renamed(path), old_path=path, status="renamed", base=text, head=text)
            ]
            yield [FileDiff(path=path, base=b"\x89PNG\r\n\x1a\n\x00", head=b"\x89PNG\x00\x01")]
            yield [FileDiff(path=path, base=b"\xff\xfe\xfa", head=b"\xff\xfe\xfb")]
            yield [FileDiff(path=path, base=b"{{{ [", head=b"{{{ [ ]")]
            yield [FileDiff(path=path, patch=patch(path, text, b"x: 2\n"), complete=False)]


def every_shape() -> Iterator[list[FileDiff]]:
    files = fixture_files()
    for path in files:
        for place in placements(path):
            yield from single_file_shapes(place, path.read_bytes())
    for _folder, group in itertools.groupby(files, key=lambda p: p.parent):
        yield from pair_shapes(list(group))
    yield from file_level_shapes()


@cache
def every_change() -> tuple[Change, ...]:
    seen: dict[str, Change] = {}
    for files in every_shape():
        for change in analyze_files(files, CONFIG):
            seen.setdefault(json.dumps(change.model_dump(mode="json"), sort_keys=True), change)
    return tuple(seen.values())


def test_the_shapes_cover_every_kind_and_op() -> None:
    """The collection itself works: every kind and op, objects and file-level changes."""
    changes = every_change()
    assert {c.kind for c in changes} == set(KINDS)
    assert {c.op for c in changes} == {"create", "update", "delete", "rename"}
    assert any(c.unparseable for c in changes)
    assert any(c.facts.get("partial") for c in changes)
    terraform_ops = {(c.op, c.address == c.file) for c in changes if c.kind == "terraform"}
    assert {("rename", True), ("delete", True), ("delete", False)} <= terraform_ops


@pytest.mark.parametrize("is_agent", [True, False])
def test_no_shipped_rule_errors_on_any_change_shape(default_pack: RulePack, is_agent: bool) -> None:
    changes = every_change()
    findings = evaluate_rules(default_pack, changes, is_agent=is_agent, author="infra-bot[bot]")
    errors: dict[str, str] = {}
    for f in findings:
        if f.rule == "risk.rule-error":
            errors.setdefault(f.message, f"{f.file}: {f.address}")
    assert errors == {}, "one example each"
