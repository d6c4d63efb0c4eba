"""PolicyEngine: Cedar policies, schema and agent registry, parsed once, evaluated per request.

cedarpy never raises on bad input: errors come back as NoDecision with diagnostics, so anything
but Allow is treated as deny and the errors are surfaced (fail closed). Decisions name the
`@id` of the policies that decided them; duplicate `@id`s are refused at load (cedarpy does not).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from app.config.agents import REGISTRY_FILE, Agent, AgentRegistry
from app.core.errors import PolicyLoadError
from app.core.models import KINDS
from app.core.report import PolicyResult
from app.policy.summary import ProposeSummary

SCHEMA_FILE = "schema.cedarschema"
_ID = re.compile(r'@id\(\s*"([^"]*)"\s*\)')


@dataclass(frozen=True)
class ApprovalSubject:
    """The PR an approval is for, as the `approve` policies see it."""

    repo: str
    author: str
    agent_id: str
    operator: str
    tier: int
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class WhoCanRow:
    agent: str
    logins: tuple[str, ...]
    policies: tuple[str, ...]
    detail: str = ""

    def __str__(self) -> str:
        grant = ", ".join(self.policies) or "?"
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.agent} [{', '.join(self.logins)}] via {grant}{extra}"


def _uid(kind: str, name: str) -> dict[str, str]:
    return {"type": kind, "id": name}


class PolicyEngine:
    def __init__(
        self,
        directory: Path,
        policy_text: str,
        policy_files: dict[str, str],
        schema_text: str,
        registry: AgentRegistry,
    ) -> None:
        self.directory = directory
        self.registry = registry
        self.policy_files = policy_files
        try:
            self.policies = cedarpy.PolicySet.from_str(policy_text)
            self.schema = cedarpy.Schema.from_str(schema_text)
        except ValueError as error:
            raise PolicyLoadError(f"cannot parse Cedar: {error}", file=str(directory)) from error
        self._schema_text = schema_text
        self._policy_text = policy_text
        self.entities = cedarpy.Entities.from_json_str(
            json.dumps(self._entity_json(registry.agents)), schema=self._schema_text
        )
        digest = hashlib.sha256()
        for name in sorted(policy_files):
            digest.update(name.encode() + b"\0" + policy_files[name].encode() + b"\0")
        digest.update(schema_text.encode())
        digest.update((directory / REGISTRY_FILE).read_bytes())
        self.version = digest.hexdigest()

    # --- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: Path) -> PolicyEngine:
        directory = Path(directory)
        schema_path = directory / SCHEMA_FILE
        try:
            schema_text = schema_path.read_text(encoding="utf-8")
        except OSError as error:
            raise PolicyLoadError(
                f"cannot read the schema: {error.strerror}", file=str(schema_path)
            ) from error
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.cedar"))}
        if not files:
            raise PolicyLoadError("no *.cedar policy files", file=str(directory))
        seen: dict[str, str] = {}
        for name, text in files.items():
            try:
                cedarpy.PolicySet.from_str(text)
            except ValueError as error:
                raise PolicyLoadError(
                    f"Cedar syntax error: {error}",
                    file=str(directory / name),
                    line=_line(str(error), text),
                ) from error
            for match in _ID.finditer(text):
                pid = match.group(1)
                line = text.count("\n", 0, match.start()) + 1
                if pid in seen:
                    raise PolicyLoadError(
                        f"duplicate policy @id({pid!r}), also in {seen[pid]}",
                        file=str(directory / name),
                        line=line,
                    )
                seen[pid] = f"{name}:{line}"
        text = "\n".join(files[n] for n in sorted(files))
        result = cedarpy.validate_policies(text, schema_text)
        if not result.validation_passed:
            problems = "; ".join(str(e) for e in result.errors)
            raise PolicyLoadError(
                f"policies do not validate against {SCHEMA_FILE}: {problems}", file=str(directory)
            )
        registry = AgentRegistry.load(directory)
        return cls(directory, text, files, schema_text, registry)

    def _entity_json(self, agents: tuple[Agent, ...]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        groups = sorted({g for a in agents for g in a.groups} | {"registered"})
        out += [{"uid": _uid("AgentGroup", g), "attrs": {}, "parents": []} for g in groups]
        for agent in agents:
            out.append(self._agent_entity(agent.id, agent, registered=True))
        return out

    def _agent_entity(self, name: str, agent: Agent | None, *, registered: bool) -> dict[str, Any]:
        return {
            "uid": _uid("Agent", name),
            "attrs": {
                "registered": registered,
                "kinds": sorted(agent.kinds) if agent else [],
                "repo_globs": sorted(agent.repos) if agent else [],
                "has_price_limit": bool(agent and agent.max_price_delta_pct is not None),
                "max_price_delta_bp": round((agent.max_price_delta_pct or 0) * 100) if agent else 0,
                "has_environment_limit": bool(agent and agent.environments is not None),
                "environments": sorted(agent.environments or ()) if agent else [],
                "team": (agent.team or "") if agent else "",
            },
            "parents": (
                [_uid("AgentGroup", g) for g in (*agent.groups, "registered")] if agent else []
            ),
        }

    # --- decisions -----------------------------------------------------------------------
    def _decide(self, request: dict[str, Any], entities: Any) -> PolicyResult:
        result = cedarpy.is_authorized(request, self.policies, entities, self.schema)
        diag = result.diagnostics
        ids = diag.id_annotations_by_reason or {}
        reasons = tuple(ids.get(r, r) for r in (diag.reasons or []))
        errors = tuple(str(e) for e in (diag.errors or []))
        allowed = result.decision == cedarpy.Decision.Allow
        if not allowed and not reasons and not errors:
            reasons = ("no policy permits this",)
        return PolicyResult(decision="allow" if allowed else "deny", reasons=reasons, errors=errors)

    def decide_propose(self, proposer: str, repo: str, summary: ProposeSummary) -> PolicyResult:
        """May this agent (id, or an unregistered login) propose this change in `repo`?"""
        agent = self.registry.get(proposer) or self.registry.agent_for_logins([proposer])
        entities = self.entities
        name = agent.id if agent else f"unregistered:{proposer.lower()}"
        if agent is None:
            entities = self.entities.with_added_json_str(
                json.dumps([self._agent_entity(name, None, registered=False)]),
                schema=self._schema_text,
            )
        repo_allowed = bool(agent and agent.may_touch_repo(repo))
        request = {
            "principal": _uid("Agent", name),
            "action": _uid("Action", "propose"),
            "resource": _uid("Repository", repo),
            "context": summary.context(repo_allowed=repo_allowed),
        }
        result = self._decide(request, entities)
        if result.decision == "allow" or result.reasons != ("no policy permits this",):
            return result
        # No permit matched: say which registration condition failed, so the agent can act on it.
        if agent is None:
            why = f"{proposer} is not a registered agent (policies/{REGISTRY_FILE})"
        elif not repo_allowed:
            why = f"agent {agent.id} is not registered for {repo} (repos: {', '.join(agent.repos)})"
        else:
            extra = sorted(summary.kinds - set(agent.kinds))
            why = f"agent {agent.id} may not propose {', '.join(extra) or 'these'} changes"
        return result.model_copy(update={"reasons": ("no policy permits this", why)})

    def may_approve(
        self, login: str, *, is_bot: bool, pr: ApprovalSubject
    ) -> tuple[bool, tuple[str, ...]]:
        """Whether `login`'s approval may count for this PR, and the deciding policy ids."""
        lower = login.lower()
        resource = {
            "uid": _uid("PullRequest", f"{pr.repo}#{pr.author}"),
            "attrs": {
                "repo": pr.repo,
                "author": pr.author.lower(),
                "agent": pr.agent_id,
                "operator": pr.operator.lower(),
                "tier": pr.tier,
            },
            "parents": [],
        }
        user = {
            "uid": _uid("User", lower),
            "attrs": {},
            "parents": [_uid("Team", t.lower()) for t in pr.teams],
        }
        teams = [{"uid": _uid("Team", t.lower()), "attrs": {}, "parents": []} for t in pr.teams]
        entities = self.entities.with_added_json_str(
            json.dumps([resource, user, *teams]), schema=self._schema_text
        )
        request = {
            "principal": _uid("User", lower),
            "action": _uid("Action", "approve"),
            "resource": resource["uid"],
            "context": {
                "login": lower,
                "is_bot": is_bot or lower.endswith("[bot]"),
                "is_agent_login": lower in self.registry.all_logins(),
            },
        }
        decision = self._decide(request, entities)
        return decision.decision == "allow", decision.reasons + decision.errors

    # --- questions -----------------------------------------------------------------------
    def who_can(
        self,
        action: str = "propose",
        kind: str | None = None,
        op: str | None = None,
        env: str | None = None,
        repo: str | None = None,
    ) -> list[WhoCanRow]:
        """Which agents may propose this (kind/op/env/repo; unspecified = anything they may)."""
        if action == "approve":
            rules = [p for p in _ID.findall(self._policy_text) if "approv" in p]
            return [
                WhoCanRow(
                    agent="humans",
                    logins=(),
                    policies=tuple(rules),
                    detail="never the PR author, a bot, an agent login or the run's operator",
                )
            ]
        rows: list[WhoCanRow] = []
        for agent in self.registry.agents:
            kinds = [kind] if kind else list(agent.kinds or KINDS[:1])
            target = repo or next((g.replace("*", "example") for g in agent.repos), "any/repo")
            granted: list[str] = []
            ok = True
            for k in kinds:
                summary = ProposeSummary(
                    kinds=frozenset({k}),
                    ops=frozenset({op or "update"}),
                    max_severity="critical" if op == "delete" else "info",
                    environments=frozenset({env}) if env else frozenset(),
                    touches_governance=k == "governance",
                    deletes=op == "delete",
                    change_count=1,
                )
                decision = self.decide_propose(agent.id, target, summary)
                if decision.decision != "allow":
                    ok = False
                    break
                granted.extend(r for r in decision.reasons if r not in granted)
            if ok:
                rows.append(
                    WhoCanRow(
                        agent.id, agent.logins, tuple(granted), f"repos {', '.join(agent.repos)}"
                    )
                )
        return rows

    def check(self) -> list[str]:
        """Problems for `countersign policy check` (empty when all is well)."""
        problems: list[str] = []
        for name, text in self.policy_files.items():
            count = len(cedarpy.PolicySet.from_str(text))
            ids = _ID.findall(text)
            if len(ids) < count:
                problems.append(
                    f'{self.directory / name}: every policy needs an @id("…") ({len(ids)} of {count})'
                )
        for agent in self.registry.agents:
            if not agent.kinds:
                problems.append(
                    f"{self.directory / REGISTRY_FILE}: agent {agent.id!r} has no kinds: it can propose nothing"
                )
        return problems


def _line(message: str, text: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    if match:
        return int(match.group(1))
    match = re.search(r"offset (\d+)|\[(\d+)\.\.", message)
    if match:
        offset = int(match.group(1) or match.group(2))
        return text.count("\n", 0, offset) + 1
    return None
