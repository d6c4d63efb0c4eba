"""Risk rules are data: YAML files of `rules: [...]`, validated and compiled once at load.

A rule that cannot work is refused at load with a RuleLoadError naming the file, the rule's line
and the fix, so a broken rule never silently classifies nothing in production: bad YAML, unknown
keys, a bad severity or tier, a `when` that does not compile, an unknown message placeholder, a
duplicate id, a `supersedes` naming no rule, or a rule without a `match` example.

Two keys beyond the basic schema keep the pack readable without negated copies of lists:
- `supersedes: [id, ...]`: when this rule matches a change, those rules' findings on the same
  change are dropped (a stateful-resource delete replaces the generic delete finding);
- `fallback: true`: the rule is evaluated only for changes no regular rule matched
  (`change.unclassified`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.core.errors import RuleLoadError, UnparseableError
from app.core.models import KINDS, Change, Kind, Op, Severity
from app.core.yamlsafe import YamlDocument, line_of, load_yaml_documents
from app.risk.celenv import WhenError, compile_when
from app.risk.matcher import Matcher
from app.risk.rulecache import load_items, store_items
from app.risk.template import Template, TemplateError, parse_template

RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+")
SUFFIXES = (".yaml", ".yml")
SCHEMA_HINT = "see the rule schema at the top of risk_rules/general.yaml"


def _listify(value: Any) -> Any:
    """`kind: terraform` reads as `kind: [terraform]`."""
    return [value] if isinstance(value, str) else value


Strs = Annotated[list[str], BeforeValidator(_listify)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchSpec(_Strict):
    kind: Annotated[list[Kind], BeforeValidator(_listify)] = []
    op: Annotated[list[Op], BeforeValidator(_listify)] = []
    type: Strs = []
    address: Strs = []
    file: Strs = []
    field: Strs = []
    environment: Strs = []


class ExamplesSpec(_Strict):
    match: list[dict[str, Any]] = Field(min_length=1)
    no_match: list[dict[str, Any]] = []


class RuleSpec(_Strict):
    id: str
    description: str = Field(min_length=1)
    match: MatchSpec = MatchSpec()
    when: str | None = None
    severity: Severity
    tier: int | None = Field(default=None, ge=0, le=3)
    message: str = Field(min_length=1)
    supersedes: Strs = []
    fallback: bool = False
    waivable_by: Strs = []
    waive_critical: bool = False
    examples: ExamplesSpec


class PrSpec(_Strict):
    """An example's `pr:`: the PR facts a rule's `when` may read beside the change."""

    is_agent: bool = False
    author: str | None = None


@dataclass(frozen=True)
class Example:
    """One `examples` entry: a change (and PR author) the rule must or must not match."""

    change: Change
    expected: bool
    index: int
    pr: PrSpec


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    tier: int | None
    message: Template
    matcher: Matcher
    when: Any
    when_source: str | None
    supersedes: frozenset[str]
    fallback: bool
    examples: tuple[Example, ...]
    source: str
    line: int
    waivable_by: tuple[str, ...] = ()
    """`@org/team`s (or `@user`s) whose members may waive this rule's findings (default nobody)."""
    waive_critical: bool = False
    """Whether its critical findings may be waived too (never unless the rule says so)."""


@dataclass(frozen=True)
class RulePack:
    """The loaded rules, indexed by kind; `digest` (sha256 of the files) versions the pack."""

    rules: tuple[Rule, ...]
    digest: str
    by_kind: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict, repr=False)
    fallbacks: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, rules: Sequence[Rule], digest: str) -> RulePack:
        def index(selected: list[Rule]) -> dict[str, tuple[Rule, ...]]:
            return {
                kind: tuple(
                    r for r in selected if r.matcher.kinds is None or kind in r.matcher.kinds
                )
                for kind in KINDS
            }

        return cls(
            rules=tuple(rules),
            digest=digest,
            by_kind=index([r for r in rules if not r.fallback]),
            fallbacks=index([r for r in rules if r.fallback]),
        )

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def load_rule_pack(directory: Path) -> RulePack:
    """Every `*.yaml`/`*.yml` file of `directory`, in name order; refuse the pack on any error."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RuleLoadError(
            "risk rules folder not found",
            file=str(directory),
            hint="set COUNTERSIGN_RULES_DIR to a folder of rule YAML files",
        )
    paths = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    if not paths:
        raise RuleLoadError(
            "no rule files (*.yaml) in the rules folder",
            file=str(directory),
            hint="add rule files or point COUNTERSIGN_RULES_DIR at the shipped risk_rules/",
        )
    digest = hashlib.sha256()
    rules: list[Rule] = []
    for path in paths:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(data).digest())
        rules.extend(load_rule_file(data, str(path)))
    check_pack(rules)
    return RulePack.of(rules, digest.hexdigest())


def check_pack(rules: Sequence[Rule]) -> None:
    """Cross-rule checks: unique ids, and `supersedes` naming existing rules."""
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id]
            raise RuleLoadError(
                f"duplicate rule id {rule.id!r} (first defined at {first.source}:{first.line})",
                file=rule.source,
                line=rule.line,
                hint="rule ids must be unique across the pack; rename one of them",
            )
        seen[rule.id] = rule
    for rule in rules:
        for target in sorted(rule.supersedes):
            if target not in seen or target == rule.id:
                raise RuleLoadError(
                    f"rule {rule.id!r} supersedes {target!r}, which is "
                    + ("itself" if target == rule.id else "not a rule in the pack"),
                    file=rule.source,
                    line=rule.line,
                    hint="list ids of other rules under `supersedes`",
                )


def load_rule_file(data: bytes | str, source: str) -> list[Rule]:
    """Parse and compile one rule file (the parse is cached by content, see `rulecache`)."""
    raw = data.encode() if isinstance(data, str) else data
    cached = load_items(raw)
    if cached is not None:
        return [
            _compile(item, index, _always(line), source)
            for index, (item, line) in enumerate(cached)
        ]
    doc = _parse_rule_file(data, source)
    items = doc.value["rules"]
    rules = [
        _compile(item, index, lambda path: _line(doc, path), source)
        for index, item in enumerate(items)
    ]
    store_items(raw, [(item, rule.line) for item, rule in zip(items, rules, strict=True)])
    return rules


def _parse_rule_file(data: bytes | str, source: str) -> YamlDocument:
    """The file's one YAML document, checked to hold a `rules:` list and nothing else."""
    try:
        docs = load_yaml_documents(data, source)
    except UnparseableError as exc:
        raise RuleLoadError(
            exc.message, file=source, line=exc.line, hint="fix the YAML syntax"
        ) from exc
    if len(docs) != 1 or not isinstance(docs[0].value, dict) or "rules" not in docs[0].value:
        line = docs[1].line if len(docs) > 1 else (docs[0].line if docs else 1)
        raise RuleLoadError(
            "a rule file is one YAML document with a top-level `rules:` list",
            file=source,
            line=line,
            hint=SCHEMA_HINT,
        )
    doc = docs[0]
    extra = sorted(str(k) for k in doc.value if k != "rules")
    if extra:
        raise RuleLoadError(
            f"unknown top-level key {extra[0]!r}",
            file=source,
            line=line_of(doc.node, (extra[0],)) or doc.line,
            hint="a rule file holds only `rules:`",
        )
    if not isinstance(doc.value["rules"], list):
        raise RuleLoadError(
            "`rules` must be a list of rules",
            file=source,
            line=line_of(doc.node, ("rules",)) or doc.line,
            hint=SCHEMA_HINT,
        )
    return doc


def _line(doc: YamlDocument, path: tuple[str | int, ...]) -> int:
    for cut in range(len(path), 0, -1):
        line = line_of(doc.node, path[:cut])
        if line:
            return line
    return doc.line


LineOf = Callable[[tuple[str | int, ...]], int]


def _always(line: int) -> LineOf:
    """Lines for a cached file: every path is the rule's line (a cached file has no errors)."""
    return lambda _path: line


def _compile(item: Any, index: int, line_of_path: LineOf, source: str) -> Rule:
    at: tuple[str | int, ...] = ("rules", index)
    rule_line = line_of_path(at)
    rule_id = item.get("id") if isinstance(item, dict) else None
    label = f"rule {rule_id!r}" if isinstance(rule_id, str) else f"rule #{index + 1}"

    def fail(
        message: str, path: tuple[str | int, ...] = (), hint: str = SCHEMA_HINT
    ) -> RuleLoadError:
        return RuleLoadError(
            f"{label}: {message}", file=source, line=line_of_path(at + path), hint=hint
        )

    if not isinstance(item, dict):
        raise fail("each rule must be a mapping with id, description, match, severity, message")
    try:
        spec = RuleSpec.model_validate(item)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        where = ".".join(str(p) for p in loc)
        if error["type"] == "extra_forbidden":
            raise fail(f"unknown key {where!r}", loc, "remove it or fix its spelling") from exc
        if error["type"] == "missing":
            raise fail(f"missing required key {where!r}", loc[:-1]) from exc
        raise fail(f"{where}: {error['msg']}", loc) from exc
    if not RULE_ID.fullmatch(spec.id):
        raise fail(
            f"id {spec.id!r} is not dotted lower-case", ("id",), "use e.g. `terraform.delete-db`"
        )
    try:
        message = parse_template(spec.message)
    except TemplateError as exc:
        raise fail(str(exc), ("message",), "fix the placeholder") from exc
    program = None
    if spec.when is not None:
        try:
            program = compile_when(spec.when)
        except WhenError as exc:
            raise fail(
                f"`when` {exc}",
                ("when",),
                "fix the CEL expression; guard optional facts with has()",
            ) from exc
    examples = [
        _example(raw, expected, number, fail)
        for expected, group in ((True, spec.examples.match), (False, spec.examples.no_match))
        for number, raw in enumerate(group)
    ]
    for handle in spec.waivable_by:
        if not handle.startswith("@"):
            raise fail(
                f"waivable_by {handle!r} must be '@org/team' or '@user'",
                ("waivable_by",),
                'e.g. `waivable_by: ["@acme/security"]`',
            )
    if spec.waive_critical and not spec.waivable_by:
        raise fail("`waive_critical` without `waivable_by` waives nothing", ("waive_critical",))
    m = spec.match
    return Rule(
        id=spec.id,
        description=spec.description,
        severity=spec.severity,
        tier=spec.tier,
        message=message,
        matcher=Matcher.build(
            kind=m.kind,
            op=m.op,
            type=m.type,
            address=m.address,
            file=m.file,
            field=m.field,
            environment=m.environment,
        ),
        when=program,
        when_source=spec.when,
        supersedes=frozenset(spec.supersedes),
        fallback=spec.fallback,
        examples=tuple(examples),
        source=source,
        line=rule_line,
        waivable_by=tuple(spec.waivable_by),
        waive_critical=spec.waive_critical,
    )


def _example(
    raw: dict[str, Any], expected: bool, number: int, fail: Callable[..., RuleLoadError]
) -> Example:
    group = "match" if expected else "no_match"
    path: tuple[str | int, ...] = ("examples", group, number)
    data = dict(raw)
    try:
        pr = PrSpec.model_validate(data.pop("pr", None) or {})
        change = Change.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise fail(
            f"examples.{group}[{number}]: {where}: {error['msg']}",
            path,
            "an example is a change: file, kind, address, op, optional facts/fields/pr",
        ) from exc
    return Example(change=change, expected=expected, index=number, pr=pr)
