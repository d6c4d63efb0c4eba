"""Replay the recall set of `corpus/recall.yaml` (the I/O half of `scripts/corpus_recall.py`).

Each recall commit is evaluated exactly as `countersign analyze --repo R --base C^ --head C`
does, with the repository's `config` from `corpus/repos.yaml` when it has one. A commit that
cannot be found or evaluated counts as missed (fail closed: an error never passes the check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import corpus_metrics as cm
import corpus_recall as cr

from app.core.yamlsafe import load_yaml
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.risk import tier_for
from app.sources.git import GitRepo, snapshot_from_git


def replay_one(
    entry: cr.RecallEntry,
    where: Path | None,
    gate: Gatekeeper,
    config: bytes | None,
) -> cr.Outcome:
    """Evaluate one recall commit against its parent and judge what it reported."""
    if where is None:
        return cr.judge(entry, 0, [], error=f"{entry.repo}: not found under the mirror")
    git = GitRepo(where)
    try:
        parents = git.run("rev-list", "--parents", "-n", "1", entry.commit).decode().split()
        if len(parents) < 2:
            return cr.judge(entry, 0, [], error=f"{entry.commit}: a root commit has no base")
        snapshot = snapshot_from_git(where, parents[1], parents[0], repo_name=entry.repo)
        if config is not None:
            snapshot = snapshot.model_copy(update={"config_text": config})
        report = evaluate_snapshot(snapshot, gate).report
    except Exception as exc:  # fail closed: an evaluation that breaks is a miss
        return cr.judge(entry, 0, [], error=f"{entry.commit}: {type(exc).__name__}: {exc}")
    found = [cm.observed(entry.repo, "recall", parents[0], f) for f in report.findings]
    return cr.judge(entry, tier_for(report.findings), found)


def replay_recall(
    entries: Sequence[cr.RecallEntry],
    manifest: Mapping[str, Any],
    locate: Callable[[str], Path | None],
    gate: Gatekeeper,
) -> list[cr.Outcome]:
    """Every recall commit's outcome, in the file's order."""
    configs = {
        str(e["repo"]): str(e["config"]).encode()
        for e in manifest.get("repos", [])
        if e.get("config")
    }
    return [replay_one(e, locate(e.repo), gate, configs.get(e.repo)) for e in entries]


def run(
    path: Path,
    only: Sequence[str],
    manifest: Mapping[str, Any],
    locate: Callable[[str], Path | None],
    gate: Gatekeeper,
) -> list[cr.Outcome]:
    """Read the recall set (only `only`'s repositories when given), replay it, print it."""
    entries = cr.parse_recall(load_yaml(path.read_bytes(), str(path)), str(path))
    entries = [e for e in entries if not only or e.repo in only]
    outcomes = replay_recall(entries, manifest, locate, gate)
    print_recall(outcomes)
    return outcomes


def print_recall(outcomes: Sequence[cr.Outcome]) -> None:
    """The found / missed table and every missed commit, named with where its highs went."""
    print("\nRECALL of real risky commits (corpus/recall.yaml)")
    for line in cr.table(outcomes):
        print(line)
    for outcome in outcomes:
        if not outcome.found:
            e = outcome.entry
            print(f"    missed: {e.repo} {e.commit} [{e.category}] {e.file} — {e.reason}")
            print(f"      {outcome.why_missed()}")


def print_gone_right(labels: Sequence[cm.Label], highs: Sequence[cm.Observed], show: int) -> None:
    """Right labels now gone: moved (still high elsewhere on the file) or lost."""
    gone = cr.gone_right(labels, highs)
    moved = [g for g in gone if g.moved]
    lost = [g for g in gone if not g.moved]
    print(f"right labels now gone: {len(gone)} ({len(moved)} moved, {len(lost)} lost)")
    for g in (lost + moved)[:show]:
        lab = g.label
        where = "; ".join(g.instead) if g.instead else "no high/critical finding on that file"
        state = "moved" if g.moved else "LOST"
        print(f"    {state}: {lab.repo} {lab.commit} {lab.rule} {lab.file} {lab.address} → {where}")
    if len(gone) > show:
        print(f"    … and {len(gone) - show} more (right labels gone)")
