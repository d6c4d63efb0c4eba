"""The recall set: real risky commits whose risk must stay found, and right labels now gone.

Precision alone rewards an engine that says nothing. `corpus/recall.yaml` lists real commits of
the corpus repositories, each read by a person and judged risky (a real resource delete, an IAM
widening, a public exposure, secrets reaching an untrusted workflow, destructive SQL, a price
cut), with the rule(s) that must fire at high/critical on the named file and address, or the
minimum risk tier the commit must reach. `scripts/corpus.py` replays each one (base = parent)
and hands this module plain records; everything here is pure, so
`tests/scripts/test_corpus_recall.py` checks it without a repository.

A right label (`corpus/labels.yaml`) whose finding no longer occurs is split in two: *moved*
when the commit still has a high/critical finding on the same file under another rule or
address (not a loss: the reviewer is still told), *lost* when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # scripts/ is not a package: corpus.py puts it on sys.path at run time
    from corpus_metrics import Label as RightLabel
    from corpus_metrics import Observed as HighFinding

CATEGORIES = (
    "resource-delete",
    "iam-widening",
    "public-exposure",
    "untrusted-secrets",
    "destructive-sql",
    "price-cut",
)
HEX10 = re.compile(r"^[0-9a-f]{10,40}$")
SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class RecallEntry:
    """One real risky commit and what must be reported about it."""

    repo: str
    commit: str
    category: str
    file: str
    address: str
    rules: tuple[str, ...]
    min_tier: int | None
    reason: str
    severity: str = "high"


@dataclass(frozen=True)
class Outcome:
    """How one recall commit fared: which required rules fired, its tier, its highs."""

    entry: RecallEntry
    tier: int
    missing_rules: tuple[str, ...]
    highs: tuple[str, ...] = ()
    error: str = ""

    @property
    def found(self) -> bool:
        tier_ok = self.entry.min_tier is None or self.tier >= self.entry.min_tier
        return not self.error and not self.missing_rules and tier_ok

    def why_missed(self) -> str:
        if self.error:
            return self.error
        at = f"{self.entry.severity}+"
        parts = [
            f"no {at} {r} on {self.entry.file} {self.entry.address}" for r in self.missing_rules
        ]
        if self.entry.min_tier is not None and self.tier < self.entry.min_tier:
            parts.append(f"tier {self.tier} < {self.entry.min_tier}")
        went = "; ".join(self.highs) or "none"
        return f"{', '.join(parts)} (the commit's highs: {went})"


@dataclass
class CategoryScore:
    found: int = 0
    missed: list[Outcome] = field(default_factory=list)


def parse_recall(document: Any, source: str = "corpus/recall.yaml") -> list[RecallEntry]:
    """Recall entries from the loaded YAML; a malformed entry names its index and the fix."""
    entries = document.get("recall", []) if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError(f"{source}: expected a mapping with a `recall:` list")
    out: list[RecallEntry] = []
    seen: set[tuple[str, str, str, str]] = set()
    for index, raw in enumerate(entries):
        where = f"{source}: recall[{index}]"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected a mapping")
        missing = [k for k in ("repo", "commit", "category", "file", "reason") if not raw.get(k)]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        entry = _entry(raw, where)
        key = (entry.repo, entry.commit, entry.file, entry.address)
        if key in seen:
            raise ValueError(f"{where}: a second entry for {key}; keep one")
        seen.add(key)
        out.append(entry)
    return out


def _entry(raw: Mapping[str, Any], where: str) -> RecallEntry:
    commit = str(raw["commit"]).lower()
    if not HEX10.match(commit):
        raise ValueError(f"{where}: commit must be 10+ hex digits, not {raw['commit']!r}")
    if raw["category"] not in CATEGORIES:
        raise ValueError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    rules = raw.get("rules", [])
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise ValueError(f"{where}: rules must be a list of rule ids")
    min_tier = raw.get("min_tier")
    if min_tier is not None and (not isinstance(min_tier, int) or not 0 <= min_tier <= 3):
        raise ValueError(f"{where}: min_tier must be 0..3, not {min_tier!r}")
    if not rules and min_tier is None:
        raise ValueError(f"{where}: give the rules that must fire, or min_tier, or both")
    if rules and not raw.get("address"):
        raise ValueError(f"{where}: rules need the address (or file:line, or '*') they fire on")
    severity = str(raw.get("severity", "high"))
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    return RecallEntry(
        repo=str(raw["repo"]),
        commit=commit[:10],
        category=str(raw["category"]),
        file=str(raw["file"]),
        address=str(raw.get("address", "*")),
        rules=tuple(rules),
        min_tier=min_tier,
        reason=str(raw["reason"]),
        severity=severity,
    )


def matches(entry: RecallEntry, finding: HighFinding, rule: str) -> bool:
    """Whether a finding is the one the entry asks for, at the entry's severity or above.

    The address is exact, or `*` for any address of that file; `file:line` addresses are how
    findings without an address are named, so they are compared exactly too."""
    if finding.rule != rule or finding.commit[:10] != entry.commit:
        return False
    if finding.file != entry.file or not at_least(finding.severity, entry.severity):
        return False
    return entry.address == "*" or finding.address == entry.address


def at_least(severity: str, floor: str) -> bool:
    """Whether `severity` is `floor` or worse (an unknown severity never is)."""
    return severity in SEVERITIES and SEVERITIES.index(severity) >= SEVERITIES.index(floor)


def judge(
    entry: RecallEntry, tier: int, findings: Sequence[HighFinding], error: str = ""
) -> Outcome:
    """The outcome of one replayed recall commit from its tier and findings.

    The highs named on a miss (where the commit's risk went instead) are its high/critical
    findings and any finding on the entry's file at the entry's severity or above."""
    missing = tuple(r for r in entry.rules if not any(matches(entry, f, r) for f in findings))
    named = tuple(
        sorted(
            {
                f"{f.rule} {f.file} {f.address}"
                for f in findings
                if at_least(f.severity, "high")
                or (f.file == entry.file and at_least(f.severity, entry.severity))
            }
        )
    )
    return Outcome(entry=entry, tier=tier, missing_rules=missing, highs=named, error=error)


def by_category(outcomes: Sequence[Outcome]) -> dict[str, CategoryScore]:
    """Found / missed per category, in the order of CATEGORIES."""
    scores = {c: CategoryScore() for c in CATEGORIES}
    for outcome in outcomes:
        score = scores[outcome.entry.category]
        if outcome.found:
            score.found += 1
        else:
            score.missed.append(outcome)
    return {c: s for c, s in scores.items() if s.found or s.missed}


def table(outcomes: Sequence[Outcome]) -> list[str]:
    """Found / missed per category, Markdown."""
    lines = ["| category | commits | found | missed |", "|---|---:|---:|---:|"]
    scores = by_category(outcomes)
    for category, s in scores.items():
        lines.append(f"| {category} | {s.found + len(s.missed)} | {s.found} | {len(s.missed)} |")
    found = sum(s.found for s in scores.values())
    lines.append(f"| **all** | {len(outcomes)} | {found} | {len(outcomes) - found} |")
    return lines


@dataclass(frozen=True)
class GoneRight:
    """A right label whose finding no longer occurs, and where its commit's highs went."""

    label: RightLabel
    instead: tuple[str, ...]

    @property
    def moved(self) -> bool:
        return bool(self.instead)


def gone_right(gone: Sequence[RightLabel], highs: Sequence[HighFinding]) -> list[GoneRight]:
    """Right labels now gone, each with the same commit's high/critical findings on its file."""
    out: list[GoneRight] = []
    for label in gone:
        if label.verdict != "right":
            continue
        instead = sorted(
            {
                f"{f.rule} {f.address}"
                for f in highs
                if f.commit[:10] == label.commit[:10]
                and (not label.file or f.file == label.file)
                and getattr(f, "repo", label.repo) == label.repo
            }
        )
        out.append(GoneRight(label=label, instead=tuple(instead)))
    return out
