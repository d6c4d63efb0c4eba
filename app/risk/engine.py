"""Changes → findings. Fail closed: every change leaves at least one finding behind.

Per change: the regular rules for its kind run in pack order (static `match` first, CEL `when`
only if that passes, on one lazily built context); superseded findings are dropped; fallback
rules run only when nothing matched. Floors that hold whatever the pack says: a change nothing
matched gets `change.unclassified` (low), a change the analyzer could not parse or saw only
through diff hunks gets `analysis.unparseable` / `analysis.partial` (medium), and a rule that
errors on a change becomes a `risk.rule-error` finding (medium) instead of a silent "no match".
Findings on `environment: production` changes are raised one level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.models import Change, Severity
from app.core.report import Finding
from app.risk.celenv import WhenError, build_context, pr_view, run_when
from app.risk.rules import Rule, RulePack
from app.risk.score import default_tier, raised
from app.risk.template import format_value

RULE_ERROR = "risk.rule-error"
UNCLASSIFIED = "change.unclassified"
UNPARSEABLE = "analysis.unparseable"
PARTIAL = "analysis.partial"
PRODUCTION = "production"


class LazyContext:
    """Builds the change's CEL context on first use: most changes need none or one."""

    __slots__ = ("_change", "_context", "_pr")

    def __init__(self, change: Change, pr: dict[str, Any]) -> None:
        self._change = change
        self._pr = pr
        self._context: Any = None

    def __call__(self) -> Any:
        if self._context is None:
            self._context = build_context(self._change, self._pr)
        return self._context


def match_rule(rule: Rule, change: Change, context: Callable[[], Any]) -> tuple[bool, str | None]:
    """(matched, field for `{field}`); raises WhenError when `when` fails at run time."""
    ok, field = rule.matcher.match(change)
    if not ok:
        return False, None
    if rule.when is None:
        return True, field
    return run_when(rule.when, context()), field


@dataclass(frozen=True)
class _Hit:
    rule: str
    severity: Severity
    pinned_tier: int | None
    message: str


def evaluate(
    pack: RulePack, changes: Sequence[Change], *, is_agent: bool, author: str | None = None
) -> list[Finding]:
    """Findings for every change, in change order then pack order."""
    pr = pr_view(is_agent, author)
    findings: list[Finding] = []
    for change in changes:
        findings.extend(_findings(pack, change, pr))
    return findings


evaluate_rules = evaluate


def _findings(pack: RulePack, change: Change, pr: dict[str, Any]) -> list[Finding]:
    context = LazyContext(change, pr)
    errors: list[_Hit] = []

    def run(rules: Sequence[Rule]) -> list[tuple[Rule, str | None]]:
        hits = []
        for rule in rules:
            try:
                ok, field = match_rule(rule, change, context)
            except WhenError as exc:
                errors.append(_rule_error(rule, exc))
                continue
            if ok:
                hits.append((rule, field))
        return hits

    matched = run(pack.by_kind.get(change.kind, ()))
    if not matched:
        matched = run(pack.fallbacks.get(change.kind, ()))
    dropped = {target for rule, _ in matched for target in rule.supersedes}
    hits = [
        _Hit(rule.id, rule.severity, rule.tier, rule.message.render(change, field))
        for rule, field in matched
        if rule.id not in dropped
    ]
    hits.extend(_floors(change, hits))
    hits.extend(errors)
    return [_finding(change, hit) for hit in hits]


def _floors(change: Change, hits: list[_Hit]) -> list[_Hit]:
    """What must be reported even when the pack forgot it."""
    ids = {hit.rule for hit in hits}
    out: list[_Hit] = []
    reason = change.unparseable
    if reason and UNPARSEABLE not in ids:
        out.append(
            _Hit(
                UNPARSEABLE,
                "medium",
                None,
                f"{change.file} could not be analysed ({format_value(reason)}): review the raw diff.",
            )
        )
    if change.facts.get("partial") and PARTIAL not in ids:
        out.append(
            _Hit(
                PARTIAL,
                "medium",
                None,
                f"{change.file} was seen only through diff hunks: the analysis may be incomplete.",
            )
        )
    if not hits and not out:
        out.append(
            _Hit(
                UNCLASSIFIED,
                "low",
                None,
                f"No risk rule classifies this {change.kind} {change.op} of {change.address}: "
                "review it by hand.",
            )
        )
    return out


def _rule_error(rule: Rule, exc: WhenError) -> _Hit:
    return _Hit(
        RULE_ERROR,
        "medium",
        None,
        f"Rule {rule.id} ({Path(rule.source).name}:{rule.line}) failed on this change ({exc}); "
        "it was counted as not matching, so review the change by hand and fix the rule.",
    )


def _finding(change: Change, hit: _Hit) -> Finding:
    severity, message = hit.severity, hit.message
    if change.facts.get("environment") == PRODUCTION and severity != "critical":
        severity = raised(hit.severity)
        note = f" (production: raised from {hit.severity})"
        message = f"{message[:-1]}{note}." if message.endswith(".") else f"{message}{note}"
    tier = hit.pinned_tier if hit.pinned_tier is not None else default_tier(severity)
    return Finding(
        rule=hit.rule,
        severity=severity,
        tier=tier,
        file=change.file,
        line=change.line,
        address=change.address,
        message=message,
    )
