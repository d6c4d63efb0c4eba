"""A Report as SARIF 2.1.0, for code scanning and any other SARIF viewer (`analyze --format sarif`).

Pure, like the Markdown renderer. One `result` per finding; each rule that fired is described once
in `tool.driver.rules` (from the loaded rule pack, else from the built-in rules below). Findings
carry `partialFingerprints` derived from the rule, the file and the object's address (or, without
an address, the message), never from line numbers: a finding that moves down a file on the next
push keeps its fingerprint, so code scanning tracks it as the same alert. Problems that kept the
gate from judging the change (fail closed) become error notifications,
`executionSuccessful: false` and one `countersign.problem` result each: code scanning ignores
notifications, so without a result a broken analysis would upload as a clean one.

GitHub code scanning rejects the whole file ("locationFromSarifResult: expected artifact
location") when one result lacks `physicalLocation.artifactLocation`, so a result without a file
(a plan-only finding, a problem) is anchored at the gate's config file, `ANCHOR`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app import __version__
from app.core.models import Severity
from app.core.report import Finding, Report, Tier
from app.risk.rules import RulePack

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "countersignFinding/v1"
SRCROOT = "%SRCROOT%"
ANCHOR = ".github/countersign.yml"
"""Where a result without a file points: the file that configures the gate for the repository."""
PROBLEM_RULE = "countersign.problem"

LEVELS: dict[Severity, str] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
# GitHub code scanning orders alerts by `security-severity` (0.0-10.0; >= 9.0 is critical).
SECURITY_SEVERITY: dict[Severity, str] = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.0",
}


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What SARIF says about a rule: its id, one-line description and default severity."""

    id: str
    description: str
    severity: Severity
    tier: Tier | None = None


# Findings the engine raises itself (app/risk/engine.py, app/risk/allowlist.py): no YAML rule.
BUILTIN_RULES: dict[str, RuleInfo] = {
    info.id: info
    for info in (
        RuleInfo("change.unclassified", "No risk rule classifies this change.", "medium"),
        RuleInfo("risk.rule-error", "A risk rule failed to evaluate on this change.", "medium"),
        RuleInfo("analysis.unparseable", "The file could not be parsed.", "medium"),
        RuleInfo("analysis.partial", "The file was only partly analysed.", "medium"),
        RuleInfo(
            "allowlist.destination", "A destination is not in the repository's allowlists.", "high"
        ),
        RuleInfo(
            PROBLEM_RULE, "Countersign could not judge the change (the gate fails closed).", "high"
        ),
    )
}


def rule_infos(pack: RulePack | None) -> dict[str, RuleInfo]:
    """The built-in rules plus every rule of the pack (the pack wins on a shared id)."""
    infos = dict(BUILTIN_RULES)
    for rule in pack.rules if pack is not None else ():
        infos[rule.id] = RuleInfo(rule.id, rule.description, rule.severity, rule.tier)
    return infos


def fingerprint(finding: Finding) -> str:
    """Hex SHA-256 of rule, file and address (or message): stable when only lines move."""
    what = finding.address if finding.address else finding.message
    text = "\x00".join((finding.rule, finding.file or "", what))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rule_entry(rule_id: str, info: RuleInfo | None, seen: Finding) -> dict[str, Any]:
    severity = info.severity if info is not None else seen.severity
    description = info.description if info is not None else f"Countersign rule {rule_id}."
    properties: dict[str, Any] = {
        "tags": sorted({"countersign", rule_id.split(".", 1)[0]}),  # SARIF: unique items
        "severity": severity,
        "security-severity": SECURITY_SEVERITY[severity],
    }
    if info is not None and info.tier is not None:
        properties["tier"] = info.tier
    return {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": properties,
    }


def _location(finding: Finding) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": finding.file or ANCHOR, "uriBaseId": SRCROOT}
    }
    if finding.file and finding.line is not None and finding.line >= 1:
        physical["region"] = {"startLine": finding.line}
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.address:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.address, "kind": "resource"}]
    return location


def _result(finding: Finding, index: int, occurrence: int) -> dict[str, Any]:
    print_ = fingerprint(finding)
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message or finding.rule},
        "partialFingerprints": {
            FINGERPRINT_KEY: print_ if occurrence == 1 else f"{print_}:{occurrence}"
        },
        "properties": {"severity": finding.severity, "tier": finding.tier},
    }
    result["locations"] = [_location(finding)]
    return result


def _notifications(problems: Iterable[str]) -> list[dict[str, Any]]:
    return [{"level": "error", "message": {"text": text}} for text in problems]


def _problem_findings(report: Report) -> list[Finding]:
    """Each problem as a finding of `countersign.problem`, at the report's tier."""
    return [
        Finding(rule=PROBLEM_RULE, severity="high", tier=report.tier, message=text)
        for text in report.problems
    ]


def render_sarif(report: Report, rules: Mapping[str, RuleInfo] | None = None) -> dict[str, Any]:
    """The SARIF log of one report: one run, one result per finding, in the report's order, then
    one per problem."""
    infos = rules if rules is not None else BUILTIN_RULES
    order: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    occurrences: dict[str, int] = {}
    for finding in (*report.findings, *_problem_findings(report)):
        if finding.rule not in order:
            order[finding.rule] = len(entries)
            entries.append(_rule_entry(finding.rule, infos.get(finding.rule), finding))
        key = fingerprint(finding)
        occurrences[key] = occurrences.get(key, 0) + 1
        results.append(_result(finding, order[finding.rule], occurrences[key]))
    invocation: dict[str, Any] = {"executionSuccessful": not report.problems}
    if report.problems:
        invocation["toolExecutionNotifications"] = _notifications(report.problems)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "Countersign",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": entries,
            }
        },
        "invocations": [invocation],
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The repository root."}}},
        "results": results,
        "properties": {
            "tier": report.tier,
            "risk": {"level": report.risk.level, "score": report.risk.score},
            "policyDecision": report.policy.decision,
            "policyVersion": report.policy_version,
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
