"""The corpus's precision numbers, computed from replayed findings and labels held as data.

`scripts/corpus.py` replays commits and hands this module plain records; everything here is
pure so `tests/scripts/test_corpus_metrics.py` checks it on synthetic data without a repository.

- **Precision** of high/critical findings: labelled findings (`corpus/labels.yaml`) that still
  occur, right / (right + wrong), overall and per rule. A label whose commit was replayed but whose
  finding no longer occurs is *gone*; a finding the seeded stratified sample picks but no label
  covers is *unlabelled*, and while any is left the precision does not count (the run fails).
- **The sample**: per stratum (rule, repository family), findings ranked by a hash of the seed and
  the finding's key; the stratum needs `min(quota, findings)` labels that occur, filled from the
  top of that ranking. A hash rank keeps the sample stable when findings come and go.
- **Routine commits** (see `is_routine`): releases and bumps, whose share at tier 2 or above
  should be small.
- **Unparseable commits**: commits with at least one file the engine could not parse.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HIGH = ("high", "critical")
VERDICTS = ("right", "wrong")


@dataclass(frozen=True)
class Targets:
    """The bars `make corpus` holds the engine to (issue #24)."""

    precision: float = 0.90
    rule_precision: float = 0.80
    rule_min_labels: int = 10
    routine_tier2: float = 0.10
    unparseable_commits: float = 0.02
    false_deletes: int = 0


@dataclass(frozen=True)
class Observed:
    """One high/critical finding of one replayed commit."""

    repo: str
    family: str
    commit: str
    rule: str
    severity: str
    file: str
    address: str
    message: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.repo, self.commit[:10], self.rule, self.file, self.address)


@dataclass(frozen=True)
class Label:
    """A reviewer's verdict on one finding: would they want it at that severity?"""

    repo: str
    commit: str
    rule: str
    file: str
    address: str
    verdict: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.repo, self.commit[:10], self.rule, self.file, self.address)


@dataclass(frozen=True)
class CommitRecord:
    """What one replayed commit came to: its risk tier (before who proposed it) and its files."""

    repo: str
    commit: str
    subject: str
    tier: int
    routine: bool
    unparseable: tuple[str, ...] = ()


@dataclass
class RuleScore:
    right: int = 0
    wrong: int = 0
    gone: int = 0
    findings: int = 0

    @property
    def labelled(self) -> int:
        return self.right + self.wrong

    @property
    def precision(self) -> float | None:
        return self.right / self.labelled if self.labelled else None


@dataclass
class Metrics:
    rules: dict[str, RuleScore] = field(default_factory=dict)
    unlabelled: list[Observed] = field(default_factory=list)
    gone: list[Label] = field(default_factory=list)
    routine: int = 0
    routine_tier2: list[CommitRecord] = field(default_factory=list)
    commits: int = 0
    unparseable: list[CommitRecord] = field(default_factory=list)
    false_deletes: int = 0

    @property
    def right(self) -> int:
        return sum(s.right for s in self.rules.values())

    @property
    def labelled(self) -> int:
        return sum(s.labelled for s in self.rules.values())

    @property
    def precision(self) -> float | None:
        return self.right / self.labelled if self.labelled else None

    @property
    def routine_share(self) -> float:
        return len(self.routine_tier2) / self.routine if self.routine else 0.0

    @property
    def unparseable_share(self) -> float:
        return len(self.unparseable) / self.commits if self.commits else 0.0


def parse_labels(document: Any, source: str = "corpus/labels.yaml") -> list[Label]:
    """Labels from the loaded YAML; a malformed entry names its index and the fix."""
    entries = document.get("labels", []) if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError(f"{source}: expected a mapping with a `labels:` list")
    out: list[Label] = []
    seen: set[tuple[str, str, str, str, str]] = set()
    for index, entry in enumerate(entries):
        where = f"{source}: labels[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected a mapping")
        missing = [
            k
            for k in ("repo", "commit", "rule", "address", "verdict", "reason")
            if not entry.get(k)
        ]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        if entry["verdict"] not in VERDICTS:
            raise ValueError(f"{where}: verdict must be right or wrong, not {entry['verdict']!r}")
        label = Label(
            repo=str(entry["repo"]),
            commit=str(entry["commit"]),
            rule=str(entry["rule"]),
            file=str(entry.get("file", "")),
            address=str(entry["address"]),
            verdict=str(entry["verdict"]),
            reason=str(entry["reason"]),
        )
        if label.key in seen:
            raise ValueError(f"{where}: a second label for {label.key}; keep one")
        seen.add(label.key)
        out.append(label)
    return out


def rank(seed: str, finding: Observed) -> str:
    """The finding's place in its stratum's sample: a hash, so the order is reproducible."""
    return hashlib.sha256("\x1f".join((seed, *finding.key)).encode()).hexdigest()


def sample_needing_labels(
    findings: Sequence[Observed], labelled: set[tuple[str, ...]], quota: int, seed: str
) -> list[Observed]:
    """Findings the sample wants labelled: each stratum is filled to min(quota, size)."""
    strata: dict[tuple[str, str], list[Observed]] = defaultdict(list)
    for finding in {f.key: f for f in findings}.values():
        strata[(finding.rule, finding.family)].append(finding)
    wanted: list[Observed] = []
    for stratum in sorted(strata):
        members = sorted(strata[stratum], key=lambda f: rank(seed, f))
        have = sum(1 for f in members if f.key in labelled)
        missing = min(quota, len(members)) - have
        wanted += [f for f in members if f.key not in labelled][: max(missing, 0)]
    return wanted


def compute(
    findings: Sequence[Observed],
    labels: Sequence[Label],
    commits: Sequence[CommitRecord],
    *,
    false_deletes: int,
    quota: int = 10,
    seed: str = "corpus",
) -> Metrics:
    """Every number `make corpus` prints, from what was replayed and what was labelled."""
    metrics = Metrics(commits=len(commits), false_deletes=false_deletes)
    replayed = {(c.repo, c.commit[:10]) for c in commits}
    present = {f.key for f in findings}
    by_key = {label.key: label for label in labels}
    for finding in {f.key: f for f in findings}.values():
        score = metrics.rules.setdefault(finding.rule, RuleScore())
        score.findings += 1
        label = by_key.get(finding.key)
        if label is not None and label.verdict == "right":
            score.right += 1
        elif label is not None:
            score.wrong += 1
    for label in labels:
        if (label.repo, label.commit[:10]) in replayed and label.key not in present:
            metrics.rules.setdefault(label.rule, RuleScore()).gone += 1
            metrics.gone.append(label)
    metrics.unlabelled = sample_needing_labels(findings, set(by_key), quota, seed)
    for commit in commits:
        if commit.routine:
            metrics.routine += 1
            if commit.tier >= 2:
                metrics.routine_tier2.append(commit)
        if commit.unparseable:
            metrics.unparseable.append(commit)
    return metrics


def failures(metrics: Metrics, targets: Targets = Targets()) -> list[str]:
    """Each target missed, in words; empty when all are met."""
    out: list[str] = []
    if metrics.unlabelled:
        out.append(f"{len(metrics.unlabelled)} sampled high/critical findings are unlabelled")
    if metrics.precision is None or metrics.precision < targets.precision:
        out.append(f"precision {_pct(metrics.precision)} < {targets.precision:.0%}")
    for rule, score in sorted(metrics.rules.items()):
        if (
            score.labelled >= targets.rule_min_labels
            and (score.precision or 0.0) < targets.rule_precision
        ):
            out.append(f"{rule}: precision {_pct(score.precision)} < {targets.rule_precision:.0%}")
    if metrics.routine_share > targets.routine_tier2:
        out.append(
            f"tier 2+ on routine commits {metrics.routine_share:.1%} > {targets.routine_tier2:.0%}"
        )
    if metrics.false_deletes > targets.false_deletes:
        out.append(f"{metrics.false_deletes} false deletes")
    if metrics.unparseable_share > targets.unparseable_commits:
        out.append(
            f"unparseable commits {metrics.unparseable_share:.1%} > {targets.unparseable_commits:.0%}"
        )
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def table(metrics: Metrics) -> list[str]:
    """The per-rule precision table, Markdown, rules with the most findings first."""
    lines = [
        "| rule | high/critical findings | labelled | right | wrong | precision | gone |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rule, s in sorted(metrics.rules.items(), key=lambda kv: (-kv[1].findings, kv[0])):
        lines.append(
            f"| {rule} | {s.findings} | {s.labelled} | {s.right} | {s.wrong} "
            f"| {_pct(s.precision)} | {s.gone} |"
        )
    total = sum(s.findings for s in metrics.rules.values())
    gone = len(metrics.gone)
    lines.append(
        f"| **all** | {total} | {metrics.labelled} | {metrics.right} "
        f"| {metrics.labelled - metrics.right} | {_pct(metrics.precision)} | {gone} |"
    )
    return lines


# --- what counts as a routine commit ------------------------------------------------------------

ROUTINE_SUBJECT = re.compile(
    r"""^(
        (chore|build|ci|deps|release)(\([^)]*\))?!?:\s*(release|bump|upgrade|pin)\b
      | (chore|build|ci|fix)\((deps|deps-dev|release|main|master)\)
      | .*\bbump(s|ed)?\b
      | (release|prepare\ release|\[release\])\b
      | v?\d+\.\d+(\.\d+)?([-+.\w]*)\s*$
      | .*\b(update|upgrade|bump)s?\b.*(\bversions?\b|\b(to|from)\ v?\d)
      | .*\bauto-?update\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
VERSION_TOKEN = re.compile(
    r"""v?\d+(\.\d+)+([-+.][\w.]+)?   # 1.2 1.2.3 v1.2.3-rc.1
      | \b[0-9a-f]{7,64}\b            # git shas and digests
      | \d{4}-\d{2}-\d{2}             # dates
    """,
    re.VERBOSE,
)
DOC_FILE = re.compile(r"(^|/)(CHANGELOG|CHANGES|HISTORY|RELEASE)[^/]*$|\.(md|rst|txt)$", re.I)


def version_only(changed: Iterable[tuple[str, str, str]]) -> bool:
    """Whether a diff changes only version numbers, digests and dates (docs files aside).

    `changed` holds (path, sign, line) for every added (`+`) or removed (`-`) line. The diff is
    version-only when, with those tokens masked, the removed lines and the added lines are the
    same multiset, and something outside docs changed at all."""
    removed: Counter[str] = Counter()
    added: Counter[str] = Counter()
    for path, sign, line in changed:
        if DOC_FILE.search(path):
            continue
        masked = VERSION_TOKEN.sub("<v>", line).strip()
        (added if sign == "+" else removed)[masked] += 1
    return bool(added or removed) and added == removed


BREAKING = re.compile(r"^\w+(\([^)]*\))?!:|BREAKING", re.IGNORECASE)


def is_routine(subject: str, changed: Iterable[tuple[str, str, str]]) -> bool:
    """A release or dependency bump: by its subject line, or by a version-only diff.

    A commit that says it breaks something (`feat!:`, `BREAKING`) is never routine."""
    if BREAKING.search(subject):
        return False
    return bool(ROUTINE_SUBJECT.match(subject.strip())) or version_only(changed)


def stubs(findings: Sequence[Observed]) -> str:
    """Label entries (YAML) for findings still to judge: verdict and reason left to fill."""
    out = ["labels:"]
    for f in findings:
        out += [
            f"  - repo: {f.repo}",
            f"    family: {f.family}",
            f"    commit: {f.commit[:10]!r}",
            f"    rule: {f.rule}",
            f"    file: {_quoted(f.file)}",
            f"    address: {_quoted(f.address)}",
            f"    # {f.severity}: {' '.join(f.message.split())[:200]}",
            "    verdict: ",
            "    reason: ",
        ]
    return "\n".join(out) + "\n"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def observed(repo: str, family: str, sha: str, finding: Any) -> Observed:
    """A finding (`app.core.report.Finding`) as the labels name it: its address, or file:line
    when it has none."""
    address = finding.address or f"{finding.file}:{finding.line or 0}"
    return Observed(
        repo=repo,
        family=family,
        commit=sha[:10],
        rule=finding.rule,
        severity=str(finding.severity),
        file=finding.file or "",
        address=address,
        message=finding.message,
    )
