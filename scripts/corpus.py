"""Replay real commits of public repositories through `analyze` and report what would mislead.

`make corpus` (outside `make test`: it needs the repositories, which are not shipped) reads
`corpus/repos.yaml`, finds each repository's git directory under the mirror folder
(`--mirror`, default `$COUNTERSIGN_CORPUS_DIR` or `/work/.mirror`), and evaluates the newest N
commits touching the listed paths as base = parent, head = commit, exactly as
`countersign analyze --repo R --base C^ --head C` does. It prints, per repository and in total:

- crashes: an exception escaping the evaluation (must be 0);
- rule errors: `risk.rule-error` findings (must be 0);
- unparseable files with their reason (must be only files that are really invalid);
- false deletes: a Terraform object reported deleted whose address still exists in the head
  module (any `.tf`/`.tf.json` of its directory at head), or a Kubernetes object reported deleted
  that the same PR also creates (same address): both are refactors, not destroys (must be 0).

Exit status 1 when any crash, rule error or false delete is found; a missing repository is
reported and skipped (exit 2 when none was found at all).
"""

from __future__ import annotations

import argparse
import logging
import os
import posixpath
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config.settings import shipped_dir  # noqa: E402
from app.core.errors import UsageError  # noqa: E402
from app.core.report import Report  # noqa: E402
from app.core.yamlsafe import load_yaml  # noqa: E402
from app.gate.pipeline import Gatekeeper, evaluate_snapshot  # noqa: E402
from app.semdiff.common.scope import is_terraform_module_file  # noqa: E402
from app.semdiff.terraform.parse import flavor_of, parse_side  # noqa: E402
from app.sources.git import GitRepo, snapshot_from_git  # noqa: E402

RULE_ERROR = "risk.rule-error"


@dataclass
class RepoResult:
    repo: str
    commits: int = 0
    files: int = 0
    changes: int = 0
    crashes: list[str] = field(default_factory=list)
    rule_errors: list[str] = field(default_factory=list)
    unparseable: list[str] = field(default_factory=list)
    false_deletes: list[str] = field(default_factory=list)
    tiers: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def git_dir(mirror: Path, repo: str) -> Path | None:
    folder = mirror / repo.replace("/", "+")
    for candidate in (folder / "repo", folder):
        if (candidate / "HEAD").exists() or (candidate / ".git").exists():
            return candidate
    return None


def commits_to_replay(git: GitRepo, paths: list[str], count: int) -> list[str]:
    raw = git.run("log", "--no-merges", "--format=%H", f"--max-count={count}", "HEAD", "--", *paths)
    return [line for line in raw.decode().split() if line]


def head_module_addresses(git: GitRepo, head: str, directory: str) -> set[str]:
    """Every object address declared in the module directory at head (all its .tf files)."""
    try:
        listing = git.run("ls-tree", "--name-only", f"{head}:{directory}" if directory else head)
    except UsageError:
        return set()  # the whole directory is gone at head
    names = [n for n in listing.decode("utf-8", "replace").splitlines() if n]
    paths = [posixpath.join(directory, n) if directory else n for n in names]
    paths = [p for p in paths if is_terraform_module_file(p)]
    blobs = git.blobs([f"{head}:{p}" for p in paths])
    out: set[str] = set()
    for path in paths:
        data = blobs.get(f"{head}:{path}")
        if data is None:
            continue
        try:
            out |= set(parse_side(data, flavor_of(path), path).objects)
        except Exception:  # an unparseable sibling is reported by the evaluation itself
            continue
    return out


def false_deletes(git: GitRepo, head: str, report: Report) -> list[str]:
    found: list[str] = []
    created = {(c.kind, c.address) for c in report.changes if c.op in ("create", "update")}
    modules: dict[str, set[str]] = {}
    for change in report.changes:
        if change.op != "delete":
            continue
        if change.kind == "kubernetes" and ("kubernetes", change.address) in created:
            found.append(f"{change.file}: {change.address} deleted and created in the same PR")
        if (
            change.kind != "terraform"
            or "[" in change.address
            or not change.file.endswith((".tf", ".tf.json"))
        ):
            continue  # instance deletes (count/for_each) are real deletes of that instance
        directory = str(change.facts.get("module_dir", posixpath.dirname(change.file)))
        if directory not in modules:
            modules[directory] = head_module_addresses(git, head, directory)
        if change.address in modules[directory]:
            found.append(
                f"{change.file}: {change.address} deleted but still in {directory or '.'}/"
            )
    return found


def replay(entry: dict[str, Any], mirror: Path, gate: Gatekeeper) -> RepoResult | None:
    repo = str(entry["repo"])
    where = git_dir(mirror, repo)
    if where is None:
        return None
    result = RepoResult(repo=repo)
    git = GitRepo(where)
    config = str(entry["config"]).encode() if entry.get("config") else None
    started = time.perf_counter()
    for sha in commits_to_replay(git, list(entry["paths"]), int(entry.get("commits", 50))):
        parents = git.run("rev-list", "--parents", "-n", "1", sha).decode().split()
        if len(parents) < 2:
            continue  # the root commit has no base to compare with
        result.commits += 1
        try:
            snapshot = snapshot_from_git(where, parents[1], sha, repo_name=repo)
            if config is not None:
                snapshot = snapshot.model_copy(update={"config_text": config})
            report = evaluate_snapshot(snapshot, gate).report
        except Exception as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1]
            result.crashes.append(
                f"{sha[:10]}: {type(exc).__name__}: {exc} ({last.filename}:{last.lineno})"
            )
            continue
        result.files += len(snapshot.files)
        result.changes += len(report.changes)
        result.tiers[str(report.tier)] += 1
        for finding in report.findings:
            if finding.rule == RULE_ERROR:
                result.rule_errors.append(f"{sha[:10]} {finding.file}: {finding.message}")
        for change in report.changes:
            if change.unparseable:
                result.unparseable.append(f"{sha[:10]} {change.file}: {change.unparseable}")
        result.false_deletes += [f"{sha[:10]} {d}" for d in false_deletes(git, sha, report)]
    result.seconds = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mirror",
        type=Path,
        default=Path(os.environ.get("COUNTERSIGN_CORPUS_DIR", "/work/.mirror")),
        help="folder holding the repositories' git directories (owner+name/repo)",
    )
    parser.add_argument("--manifest", type=Path, default=ROOT / "corpus" / "repos.yaml")
    parser.add_argument("--only", action="append", default=[], help="replay only this owner/name")
    parser.add_argument("--show", type=int, default=15, help="examples listed per problem kind")
    args = parser.parse_args(argv)

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its parse fallbacks are not ours
    manifest = load_yaml(args.manifest.read_bytes(), str(args.manifest))
    gate = Gatekeeper.load(shipped_dir("risk_rules"), shipped_dir("policies"))
    results: list[RepoResult] = []
    for entry in manifest["repos"]:
        if args.only and entry["repo"] not in args.only:
            continue
        result = replay(entry, args.mirror, gate)
        if result is None:
            print(f"{entry['repo']}: not found under {args.mirror} (fetch it first); skipped")
            continue
        results.append(result)
        print(
            f"{result.repo}: {result.commits} commits, {result.files} files, "
            f"{result.changes} changes in {result.seconds:.1f} s — crashes {len(result.crashes)}, "
            f"rule errors {len(result.rule_errors)}, unparseable {len(result.unparseable)}, "
            f"false deletes {len(result.false_deletes)}; tiers {dict(sorted(result.tiers.items()))}"
        )
        for label, items in (
            ("crash", result.crashes),
            ("rule error", result.rule_errors),
            ("unparseable", result.unparseable),
            ("false delete", result.false_deletes),
        ):
            for item in items[: args.show]:
                print(f"    {label}: {item}")
            if len(items) > args.show:
                print(f"    … and {len(items) - args.show} more {label}s")
    if not results:
        print("no repository of the corpus was found; nothing replayed")
        return 2
    total = {
        "commits": sum(r.commits for r in results),
        "crashes": sum(len(r.crashes) for r in results),
        "rule errors": sum(len(r.rule_errors) for r in results),
        "unparseable": sum(len(r.unparseable) for r in results),
        "false deletes": sum(len(r.false_deletes) for r in results),
    }
    print("TOTAL: " + ", ".join(f"{k} {v}" for k, v in total.items()))
    return 1 if total["crashes"] or total["rule errors"] or total["false deletes"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
