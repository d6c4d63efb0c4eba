"""The agent-ops store edge: openings ordered by the chain, closes, and facts read back from
records shaped as the service writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.agentops.scorecard import Window
from app.store.audit import agent_events as agentops
from app.store.audit import store
from app.store.audit.agent_record import agent_history
from app.store.audit.records import MergeRecord

NOW = datetime.now(UTC)


def open_pr(engine: sa.Engine, pr: int, agent: str = "docs-bot") -> int:
    return agentops.record_opening(
        engine, repo="acme/web", pr=pr, agent_id=agent, head_sha=f"{pr:040x}"
    )


def test_an_opening_is_recorded_once_until_the_pr_closes(db_engine: sa.Engine) -> None:
    first = open_pr(db_engine, 1)
    assert open_pr(db_engine, 1) == first  # re-evaluations reuse it
    assert agentops.record_closed(db_engine, repo="acme/web", pr=1, head_sha=None)
    assert not agentops.record_closed(db_engine, repo="acme/web", pr=1, head_sha=None)
    assert not agentops.record_closed(db_engine, repo="acme/web", pr=9, head_sha=None)
    reopened = open_pr(db_engine, 1)
    assert reopened > first
    events = store.events_for_pr(db_engine, "acme/web", 1, kinds=agentops.LIFECYCLE)
    assert [(e.kind, e.data()) for e in events] == [
        ("agent_pr", {"reopened": False}),
        ("pr_closed", {"opened_seq": first}),
        ("agent_pr", {"reopened": True}),
    ]


def test_history_counts_only_earlier_openings_of_other_prs(db_engine: sa.Engine) -> None:
    seqs = {pr: open_pr(db_engine, pr) for pr in (1, 2, 3, 4)}
    open_pr(db_engine, 5, agent="infra-bot")
    agentops.record_closed(db_engine, repo="acme/web", pr=2, head_sha=None)
    store.append(
        db_engine,
        "merge",
        MergeRecord(
            repo="acme/web",
            pr=3,
            title="t",
            url="u",
            agent_id="docs-bot",
            head_sha="3" * 40,
            merged_at=NOW,
            tier=0,
            risk_level="info",
            risk_score=0,
            policy_version="v",
        ),
    )

    def history(pr: int) -> agentops.AgentHistory:
        return agent_history(
            db_engine, agent_id="docs-bot", repo="acme/web", pr=pr, opening_seq=seqs[pr], windows=()
        )

    assert len(history(1).opened_last_hour) == 0
    assert len(history(3).opened_last_hour) == 2
    later = history(4)
    assert len(later.opened_last_hour) == len(later.opened_last_day) == 3
    assert later.open_prs == 1  # #1; #2 closed and #3 merged since (#5 is another agent's)


def test_facts_round_trip_through_the_store(db_engine: sa.Engine) -> None:
    agentops.record_analyze_call(db_engine, agent_id="docs-bot", outcome="ok", status=200)
    store.append(
        db_engine,
        "evaluation",
        {
            "report": {"tier": "blocked", "findings": [{"rule": "governance.codeowners"}]},
            "head_sha": "a" * 40,
            "policy_version": "v",
            "conclusion": "failure",
        },
        repo="acme/web",
        pr_number=7,
        head_sha="a" * 40,
        agent_id="docs-bot",
    )
    window = Window(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    (card,) = agentops.agent_scorecards(db_engine, window, by_class=False)
    assert (card.agent_id, card.evaluated, card.blocked, card.failed) == ("docs-bot", 1, 1, 1)
    assert card.analyze_calls == 1
    classes = [c.rule_class for c in agentops.agent_scorecards(db_engine, window)]
    assert classes == [None, "governance"]
