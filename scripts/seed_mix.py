"""The synthetic installation `seed_store.py` writes: payload templates, the event mix, the chain.

Payloads are canonical JSON built once per shape from the real record models (`EvaluationRecord`,
`MergeRecord`, …) with sentinels, filled in per event by `str.replace` (values are plain ASCII, so
the text stays canonical); `chained` hashes each event with the chain's own code
(`app.store.audit.chain.body_text` + `link_hash`, what `append` hashes) and gives merges their
`merge_index`/`prev_merge_hash` as `append` does. Pure: no database.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.models import Change, FieldChange
from app.core.report import AgentInfo, ApprovalRecord, ApprovalStatus, Finding, Report, Risk
from app.store.audit.chain import GENESIS_HASH, MERGE_KINDS, body_text, canonical_json, link_hash
from app.store.audit.records import ApprovalEventRecord, EvaluationRecord, MergeRecord

EVENTS_PER_PULL = 5.75
"""The mix's mean events per pull request (measured), which spaces PRs evenly over the span."""
RULES = (
    ("pricing.large-change", 2),
    ("terraform.delete-stateful", 3),
    ("terraform.iam-wildcard", 3),
    ("kubernetes.privileged", 2),
    ("workflow.permissions", 2),
    ("data.key-removed", 1),
    ("sql.drop-column", 3),
    ("text.docs", 0),
)
# Sentinels filled per event (str.replace on canonical text: values are plain ASCII, no escapes).
AGENT, RUN, HEAD_SHA, BASE, AUTHOR = "@@AGENT@@", "@@RUN@@", "@@HEAD@@", "@@BASE@@", "@@AUTHOR@@"
T0, T1, T2, REPO, URL, TITLE = "@@T0@@", "@@T1@@", "@@T2@@", "@@REPO@@", "@@URL@@", "@@TITLE@@"
MSHA, PREV_MERGE = "@@MSHA@@", "@@PREVMERGE@@"
PR_NUM, MERGE_INDEX, COST = 987650001, 987650002, "@@COST@@"
AGAIN = ("action_required", "action_required", "failure")
NO_REVERTS = '"reverts":{"commits":[],"pulls":[]}'

Row = tuple[str, datetime, str | None, int | None, str | None, str | None, str | None, str]
"""kind, occurred_at, repo, pr_number, head_sha, agent_id, run_id, payload (canonical text)."""


def _report(rule: str, tier: int | str, agent: bool) -> dict[str, Any]:
    changes = tuple(
        Change(
            file=f"infra/{rule.split('.')[0]}/main.tf",
            kind=rule.split(".")[0],
            address=f"aws_db_instance.main_{i}",
            op="update",
            fields=(
                FieldChange(path="instance_class", before="db.r6g.large", after="db.r6g.xlarge"),
            ),
            facts={"environment": "production", "price_delta_pct": 12.5},
        )
        for i in range(3)
    )
    finding = Finding(
        rule=rule,
        severity="high",
        tier=tier,
        file=changes[0].file,
        line=12,
        address=changes[0].address,
        message=f"{rule} matched {changes[0].address}",
    )
    return Report(
        changes=changes,
        findings=(finding,),
        risk=Risk(level="high", score=70),
        tier=tier,
        approvals=ApprovalStatus(
            required=("1 approval from a code owner",),
            satisfied=True,
            approvals=(ApprovalRecord(login="alice", commit=HEAD_SHA),),
        ),
        agent=AgentInfo(id=AGENT, run_id=RUN, author=AUTHOR, is_agent=True, run_cost_usd=COST)
        if agent
        else AgentInfo(author=AUTHOR),
        policy_version="p" * 64,
    ).model_dump(mode="json")


def _evaluation(rule: str, tier: int | str, conclusion: str, agent: bool) -> str:
    record = EvaluationRecord(
        report=_report(rule, tier, agent),
        head_sha=HEAD_SHA,
        base_sha=BASE,
        policy_version="p" * 64,
        conclusion=conclusion,
        check_run_id=PR_NUM,
        api_calls=9,
    )
    return canonical_json(record.model_dump(mode="json"))


def _merge(rule: str, tier: int | str, agent: bool) -> str:
    record = MergeRecord(
        repo=REPO,
        pr=PR_NUM,
        title=TITLE,
        url=URL,
        agent_id=AGENT if agent else None,
        run_id=RUN if agent else None,
        author=AUTHOR,
        head_sha=HEAD_SHA,
        merge_commit_sha=MSHA,
        merged_by="alice",
        merged_at=datetime(2001, 1, 1, tzinfo=UTC),
        tier=tier,
        risk_level="high",
        risk_score=70,
        findings=[{"rule": rule, "severity": "high", "tier": tier}],
        approvals=[
            {
                "login": "alice",
                "teams": ["platform"],
                "time": datetime(2001, 1, 2, tzinfo=UTC),
                "commit": HEAD_SHA,
            }
        ],
        check_conclusion="success",
        policy_version="p" * 64,
        run_cost_usd=COST if agent else None,
        head_first_evaluated_at=datetime(2001, 1, 3, tzinfo=UTC),
    )
    data = record.model_dump(mode="json")
    data["merge_index"], data["prev_merge_hash"] = MERGE_INDEX, PREV_MERGE
    text = canonical_json(data)
    for moment, mark in (("2001-01-01", T0), ("2001-01-02", T1), ("2001-01-03", T2)):
        text = text.replace(f'"{moment}T00:00:00Z"', f'"{mark}"')
    assert NO_REVERTS in text and T2 in text
    return text


@dataclass
class Templates:
    """Canonical payload text per shape, built once from the real record models."""

    evaluations: dict[tuple[str, bool, str], str] = field(default_factory=dict)
    merges: dict[tuple[str, bool], str] = field(default_factory=dict)
    approval: str = ""

    @classmethod
    def build(cls) -> Templates:
        out = cls()
        for rule, tier in RULES:
            for agent in (True, False):
                for conclusion in ("success", "action_required", "failure"):
                    out.evaluations[rule, agent, conclusion] = _evaluation(
                        rule, tier, conclusion, agent
                    )
                out.evaluations[rule, agent, "blocked"] = _evaluation(
                    rule, "blocked", "failure", agent
                )
                out.merges[rule, agent] = _merge(rule, tier, agent)
        approval = ApprovalEventRecord(
            login="alice",
            teams=["platform"],
            state="APPROVED",
            commit=HEAD_SHA,
            at=datetime(2001, 1, 1, tzinfo=UTC),
            counted=True,
            reason="code owner",
        )
        text = canonical_json(approval.model_dump(mode="json"))
        out.approval = text.replace('"2001-01-01T00:00:00Z"', f'"{T0}"')
        return out


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fill(text: str, values: dict[str, str]) -> str:
    for mark, value in values.items():
        text = text.replace(mark, value)
    return text


@dataclass
class Mix:
    """The shape of the installation: agents (skewed weights), repositories, the time span."""

    agents: int = 50
    repos: int = 40
    days: int = 365
    end: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    seed: int = 1

    def agent_names(self) -> list[str]:
        return [f"agent-{i:02d}" for i in range(self.agents)]


@dataclass
class _Pull:
    """One pull request being written: its identity, the filled-in values and its clock."""

    repo: str
    pr: int
    agent: str | None
    rule: str
    moment: datetime
    step: timedelta
    values: dict[str, str]

    @property
    def head(self) -> str:
        return self.values[HEAD_SHA]

    def event(self, kind: str, payload: str, *, with_run: bool = True) -> Row:
        """The next event of this PR, `step` after the previous one."""
        self.moment += self.step
        run = self.values[RUN] or None if with_run else None
        return (kind, self.moment, self.repo, self.pr, self.head, self.agent, run, payload)


def _review(rng: random.Random, t: Templates, pull: _Pull, blocked: bool) -> Iterator[Row]:
    """Opening, evaluations (and the agent's pre-flight calls), review, maybe a waiver."""
    agent = pull.agent
    if agent:
        yield pull.event("agent_pr", '{"reopened":false}', with_run=False)
    evaluations = min(5, 1 + int(rng.expovariate(0.7)))
    for n in range(evaluations):
        key = "success" if n == evaluations - 1 else rng.choice(AGAIN)
        text = _fill(t.evaluations[pull.rule, agent is not None, "blocked" if blocked else key],
                     pull.values)  # fmt: skip
        yield pull.event("evaluation", text.replace(str(PR_NUM), str(rng.randrange(10**9))))
        if agent and rng.random() < 0.6:
            call = '{"outcome":"ok","status":200}'
            yield ("analyze_call", pull.moment, None, None, None, agent, None, call)
    if rng.random() < 0.9:
        yield pull.event(
            "approval", _fill(t.approval, {HEAD_SHA: pull.head, T0: _iso(pull.moment)})
        )
    if rng.random() < 0.04:
        yield pull.event("waiver", _waiver(pull.rule, pull.head, pull.moment))


def _merge_event(
    rng: random.Random, t: Templates, pull: _Pull, bypass: bool, merged: list[tuple[str, int]]
) -> Iterator[Row]:
    """The merge record (sometimes a revert of an earlier merge), maybe a deployment after it."""
    sha = hashlib.sha1(pull.head.encode()).hexdigest()
    values = pull.values | {
        REPO: pull.repo,
        TITLE: f"Change {pull.pr} of {pull.repo}",
        URL: f"https://github.com/{pull.repo}/pull/{pull.pr}",
        MSHA: sha,
        T0: _iso(pull.moment),
        T1: _iso(pull.moment - pull.step),
        T2: _iso(pull.moment - pull.step * 4),
    }
    text = _fill(t.merges[pull.rule, pull.agent is not None], values)
    text = text.replace(f":{PR_NUM},", f":{pull.pr},", 1)
    if rng.random() < 0.01 and merged:
        repo, pr = merged[rng.randrange(len(merged))]
        text = text.replace(NO_REVERTS, f'"reverts":{{"commits":[],"pulls":["{repo}#{pr}"]}}')
    if bypass:
        text = text.replace('"bypass":false', '"bypass":true')
    merged.append((pull.repo, pull.pr))
    if len(merged) > 1000:
        del merged[:500]
    yield pull.event("bypass_merge" if bypass else "merge", text)
    if rng.random() < 0.125:
        payload = _deployment(sha, pull.pr, pull.moment)
        yield pull.event("deployment_decision", payload, with_run=False)


def _pull(
    rng: random.Random,
    t: Templates,
    where: tuple[str, int, datetime, timedelta],
    agent: str | None,
    merged: list[tuple[str, int]],
) -> Iterator[Row]:
    """The events of one pull request (`where`: repo, number, start, step between events)."""
    repo, pr, at, step = where
    head = hashlib.sha1(f"{repo}#{pr}".encode()).hexdigest()
    values = {
        AGENT: agent or "",
        RUN: f"run-{repo[-2:]}-{pr}" if agent else "",
        HEAD_SHA: head,
        BASE: head[::-1],
        AUTHOR: f"{agent}[bot]" if agent else f"dev-{pr % 300}",
        COST: f"{rng.randrange(2, 300) / 100:.2f}",
    }
    pull = _Pull(repo, pr, agent, RULES[rng.randrange(len(RULES))][0], at, step, values)
    blocked = rng.random() < 0.02
    yield from _review(rng, t, pull, blocked)
    fate = rng.random()
    if blocked or fate < 0.2:
        if agent:
            yield pull.event("pr_closed", '{"opened_seq":0}', with_run=False)
        return
    yield from _merge_event(rng, t, pull, fate > 0.975, merged)


def _waiver(rule: str, head: str, moment: datetime) -> str:
    return canonical_json(
        {
            "rule": rule,
            "address": None,
            "by": "bob",
            "team": "platform",
            "reason": "accepted for the migration window",
            "at": _iso(moment),
            "expires_at": _iso(moment + timedelta(days=7)),
            "head_sha": head,
            "objects": [],
            "digest": hashlib.sha256(head.encode()).hexdigest(),
        }
    )


def _deployment(sha: str, pr: int, moment: datetime) -> str:
    return canonical_json(
        {
            "environment": "production",
            "sha": sha,
            "ref": "refs/heads/main",
            "deployment_id": pr,
            "workflow_run_id": pr * 7,
            "default_branch": "main",
            "since_sha": None,
            "state": "approved",
            "reasons": ["every merged change passed the gate"],
            "merges": [{"sha": sha, "pr": pr, "seq": 0, "state": "merged"}],
            "direct_pushes": [],
            "comment": "Countersign: approved",
            "error": None,
        }
    )


def events(total: int, mix: Mix) -> Iterator[Row]:
    """Exactly `total` events, oldest first, spread evenly over `mix.days` ending at `mix.end`."""
    rng = random.Random(mix.seed)
    templates = Templates.build()
    names = mix.agent_names()
    weights = [1 / (1 + i / 5) for i in range(len(names))]
    repos = [f"acme/svc-{i:02d}" for i in range(mix.repos)]
    numbers = dict.fromkeys(repos, 0)
    merged: list[tuple[str, int]] = []
    span = timedelta(days=mix.days)
    start = mix.end - span
    gap = span / max(1, round(total / EVENTS_PER_PULL))
    step = gap / 12  # a PR's events fit in its gap: time never goes backwards
    written, index = 0, 0
    while written < total:
        repo = repos[rng.randrange(len(repos))]
        numbers[repo] += 1
        agent = rng.choices(names, weights)[0] if rng.random() < 0.85 else None
        at = start + gap * index
        index += 1
        where = (repo, numbers[repo], at, step)
        for row in _pull(rng, templates, where, agent, merged):
            yield row
            written += 1
            if written == total:
                return


@dataclass
class Head:
    seq: int = 0
    hash: str = GENESIS_HASH
    merge_count: int = 0
    merge_hash: str = GENESIS_HASH


def chained(rows: Iterator[Row], head: Head) -> Iterator[tuple[Any, ...]]:
    """Each row with seq, iso time, prev_hash and hash, hashed as `append` hashes it."""
    for kind, moment, repo, pr, head_sha, agent, run, payload in rows:
        if kind in MERGE_KINDS:
            head.merge_count += 1
            payload = payload.replace(str(MERGE_INDEX), str(head.merge_count), 1).replace(
                PREV_MERGE, head.merge_hash, 1
            )
        seq = head.seq + 1
        iso = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        digest = link_hash(
            head.hash, body_text(seq, kind, iso, repo, pr, head_sha, agent, run, payload)
        )
        yield seq, kind, moment, iso, repo, pr, head_sha, agent, run, payload, head.hash, digest
        head.seq, head.hash = seq, digest
        if kind in MERGE_KINDS:
            head.merge_hash = digest
