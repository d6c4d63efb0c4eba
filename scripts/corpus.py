"""Replay real commits of public repositories through `analyze` and report what would mislead.

`make corpus` (outside `make test`: it needs the repositories, which are not shipped) reads
`corpus/repos.yaml`, finds each repository's git directory under the mirror folder
(`--mirror`, default `$COUNTERSIGN_CORPUS_DIR` or `/work/.mirror`), and evaluates the newest N
commits touching the listed paths as base = parent, head = commit, exactly as
`countersign analyze --repo R --base C^ --head C` does. It prints, per repository and in total:

- crashes: an exception escaping the evaluation (must be 0);
- rule errors: `risk.rule-error` findings (must be 0);
- unparseable files with their reason (must be only files that are really invalid); binary and
  git-crypt encrypted files are listed apart (there is nothing to parse; the gate still asks for
  a human review of them);
- false deletes: a Terraform object reported deleted whose address still exists in the head
  module (any `.tf`/`.tf.json` of its directory at head), or a Kubernetes object reported deleted
  that the same PR also creates (same address): both are refactors, not destroys (must be 0).

It then prints the precision numbers of `scripts/corpus_metrics.py` against the labels in
`corpus/labels.yaml`: per-rule precision of high/critical findings (with labels now *gone* and
sampled findings still *unlabelled*), the tier-2+ share of routine release/bump commits, false
deletes and the share of commits with an unparseable file. `--stubs FILE` writes the unlabelled
findings as label entries to fill in.

First it replays the recall set (`corpus/recall.yaml`, `scripts/corpus_recall.py`; alone with
`--recall-only`). Exit status 1 when any crash, rule error or false delete is found, a target
is missed or a recall commit is missed; a missing repository is reported and skipped (exit 2
when none was found at all).
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

import corpus_metrics as cm  # noqa: E402  (beside this script)
import corpus_recall_run as crr  # noqa: E402

from app.config.settings import shipped_dir  # noqa: E402
from app.core.errors import UsageError  # noqa: E402
from app.core.report import Report  # noqa: E402
from app.core.yamlsafe import load_yaml  # noqa: E402
from app.gate.pipeline import Gatekeeper, evaluate_snapshot  # noqa: E402
from app.risk import tier_for  # noqa: E402
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
    binary: list[str] = field(default_factory=list)
    false_deletes: list[str] = field(default_factory=list)
    tiers: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    high: list[cm.Observed] = field(default_factory=list)
    records: list[cm.CommitRecord] = field(default_factory=list)


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


def changed_lines(
    git: GitRepo, base: str, head: str, paths: list[str]
) -> list[tuple[str, str, str]]:
    """(path, sign, text) of every added or removed line of the commit, for `is_routine`.

    A snapshot may lack its largest blobs; then only the replayed paths are read, and when even
    those are missing the commit counts as not version-only (its subject still decides)."""
    diff = ("diff", "--unified=0", "--no-color", "--no-ext-diff", base, head)
    try:
        raw = git.run(*diff)
    except UsageError:
        try:
            raw = git.run(*diff, "--", *paths)
        except UsageError:
            return []
    out: list[tuple[str, str, str]] = []
    path = ""
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else path
        elif line.startswith("--- "):
            path = line[6:] if line.startswith("--- a/") else path
        elif line[:1] in ("+", "-"):
            out.append((path, line[0], line[1:]))
    return out


def record(
    result: RepoResult, git: GitRepo, entry: dict[str, Any], commit: tuple[str, str], report: Report
) -> None:
    """Add one evaluated commit's problems, high/critical findings and routine-ness to `result`."""
    base, sha = commit
    family, paths = str(entry.get("family", "other")), [str(p) for p in entry["paths"]]
    result.changes += len(report.changes)
    result.tiers[str(report.tier)] += 1
    for finding in report.findings:
        if finding.rule == RULE_ERROR:
            result.rule_errors.append(f"{sha[:10]} {finding.file}: {finding.message}")
    # Binary and encrypted files have nothing to parse: listed apart, not as unparseable.
    unparseable = [
        f"{c.file}: {c.unparseable}"
        for c in report.changes
        if c.unparseable and not c.facts.get("binary")
    ]
    result.unparseable += [f"{sha[:10]} {u}" for u in unparseable]
    result.binary += [
        f"{sha[:10]} {c.file}: {c.unparseable}" for c in report.changes if c.facts.get("binary")
    ]
    result.false_deletes += [f"{sha[:10]} {d}" for d in false_deletes(git, sha, report)]
    result.high += [
        cm.observed(result.repo, family, sha, f) for f in report.findings if f.severity in cm.HIGH
    ]
    subject = git.run("log", "-1", "--format=%s", sha).decode("utf-8", "replace").strip()
    result.records.append(
        cm.CommitRecord(
            repo=result.repo,
            commit=sha,
            subject=subject,
            tier=tier_for(report.findings),
            routine=cm.is_routine(subject, changed_lines(git, base, sha, paths)),
            unparseable=tuple(unparseable),
        )
    )


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
        record(result, git, entry, (parents[1], sha), report)
        result.files += len(snapshot.files)
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
    parser.add_argument("--labels", type=Path, default=ROOT / "corpus" / "labels.yaml")
    parser.add_argument("--only", action="append", default=[], help="replay only this owner/name")
    parser.add_argument("--show", type=int, default=15, help="examples listed per problem kind")
    parser.add_argument("--quota", type=int, default=10, help="labels wanted per rule and family")
    parser.add_argument("--seed", default="corpus", help="seed of the sample's hash ranking")
    parser.add_argument("--stubs", type=Path, help="write unlabelled sampled findings here")
    parser.add_argument("--report", type=Path, help="write the numbers as Markdown here")
    parser.add_argument("--recall", type=Path, default=ROOT / "corpus" / "recall.yaml")
    parser.add_argument("--recall-only", action="store_true", help="replay just the recall set")
    args = parser.parse_args(argv)

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its parse fallbacks are not ours
    manifest = load_yaml(args.manifest.read_bytes(), str(args.manifest))
    gate = Gatekeeper.load(shipped_dir("risk_rules"), shipped_dir("policies"))
    outcomes = crr.run(args.recall, args.only, manifest, lambda r: git_dir(args.mirror, r), gate)
    recall_missed = sum(1 for o in outcomes if not o.found)
    if args.recall_only:
        return 1 if recall_missed else 0
    results: list[RepoResult] = []
    for entry in manifest["repos"]:
        if args.only and entry["repo"] not in args.only:
            continue
        result = replay(entry, args.mirror, gate)
        if result is None:
            print(f"{entry['repo']}: not found under {args.mirror} (fetch it first); skipped")
            continue
        results.append(result)
        print_repo(result, args.show)
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
    labels = cm.parse_labels(  # read after the replay, so labelling can go on while it runs
        load_yaml(args.labels.read_bytes(), str(args.labels)) if args.labels.exists() else {},
        str(args.labels),
    )
    metrics = cm.compute(
        [f for r in results for f in r.high],
        labels,
        [c for r in results for c in r.records],
        false_deletes=total["false deletes"],
        quota=args.quota,
        seed=args.seed,
    )
    print_metrics(metrics, args.show)
    crr.print_gone_right(metrics.gone, [f for r in results for f in r.high], args.show)
    if args.stubs is not None:
        args.stubs.write_text(cm.stubs(metrics.unlabelled))
        print(f"wrote {len(metrics.unlabelled)} label stubs to {args.stubs}")
    missed = cm.failures(metrics)
    if recall_missed:
        missed.append(f"{recall_missed} of {len(outcomes)} recall commits missed")
    for miss in missed:
        print(f"TARGET MISSED: {miss}")
    if args.report is not None:
        args.report.write_text(report_markdown(results, metrics, missed))
    return 1 if total["crashes"] or total["rule errors"] or missed else 0


def print_repo(result: RepoResult, show: int) -> None:
    print(
        f"{result.repo}: {result.commits} commits, {result.files} files, "
        f"{result.changes} changes in {result.seconds:.1f} s — crashes {len(result.crashes)}, "
        f"rule errors {len(result.rule_errors)}, unparseable {len(result.unparseable)}, "
        f"binary {len(result.binary)}, "
        f"false deletes {len(result.false_deletes)}, high/critical {len(result.high)}; "
        f"tiers {dict(sorted(result.tiers.items()))}"
    )
    for label, items in (
        ("crash", result.crashes),
        ("rule error", result.rule_errors),
        ("unparseable", result.unparseable),
        ("binary", result.binary),
        ("false delete", result.false_deletes),
    ):
        _listed(label, items, show)


def print_metrics(metrics: cm.Metrics, show: int) -> None:
    """The precision table and the other measured targets, with what to look at listed."""
    print("\nPRECISION of high/critical findings (labels: corpus/labels.yaml)")
    for line in cm.table(metrics):
        print(line)
    _listed("gone", [f"{g.repo} {g.commit} {g.rule} {g.address}" for g in metrics.gone], show)
    _listed(
        "unlabelled",
        [f"{u.repo} {u.commit} {u.rule} {u.file} {u.address}" for u in metrics.unlabelled],
        show,
    )
    print(
        f"routine commits at tier 2+: {len(metrics.routine_tier2)} of {metrics.routine} "
        f"({metrics.routine_share:.1%})"
    )
    _listed(
        "routine at tier 2+",
        [f"{c.repo} {c.commit[:10]} {c.subject}" for c in metrics.routine_tier2],
        show,
    )
    print(f"false deletes: {metrics.false_deletes}")
    print(
        f"unparseable commits: {len(metrics.unparseable)} of {metrics.commits} "
        f"({metrics.unparseable_share:.1%})"
    )
    _listed(
        "unparseable commit",
        [f"{c.repo} {c.commit[:10]} {c.unparseable[0]}" for c in metrics.unparseable],
        show,
    )


def report_markdown(results: list[RepoResult], metrics: cm.Metrics, missed: list[str]) -> str:
    """The run's numbers as Markdown, for corpus/REPORT.md."""
    out = [
        "| repository | commits | high/critical | unparseable files | false deletes | seconds |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {r.repo} | {r.commits} | {len(r.high)} | {len(r.unparseable)} "
        f"| {len(r.false_deletes)} | {r.seconds:.0f} |"
        for r in results
    ]
    out += ["", *cm.table(metrics), ""]
    out.append(
        f"- routine commits at tier 2+: {len(metrics.routine_tier2)} of {metrics.routine} "
        f"({metrics.routine_share:.1%})"
    )
    out.append(f"- false deletes: {metrics.false_deletes}")
    out.append(
        f"- unparseable commits: {len(metrics.unparseable)} of {metrics.commits} "
        f"({metrics.unparseable_share:.1%})"
    )
    out += [
        f"  - {c.repo} {c.commit[:10]}: {'; '.join(c.unparseable)}" for c in metrics.unparseable
    ]
    out += ["", "Targets missed:", *[f"- {m}" for m in missed or ["none"]]]
    return "\n".join(out) + "\n"


def _listed(label: str, items: list[str], show: int) -> None:
    for item in items[:show]:
        print(f"    {label}: {item}")
    if len(items) > show:
        print(f"    … and {len(items) - show} more ({label})")


if __name__ == "__main__":
    raise SystemExit(main())
