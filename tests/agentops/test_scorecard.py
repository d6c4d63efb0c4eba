"""Scorecards over audit facts: each figure on a hand-made record, and invariants on any record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.agentops.facts import AnalyzeCallFact, EvaluationFact, Fact, MergeFact
from app.agentops.reverts import RevertRefs
from app.agentops.scorecard import Scorecard, Window, percentile, scorecards

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(days=30))


def ev(seq: int, pr: int, conclusion: str, *, agent: str = "pricing-bot", day: float = 1,
       blocked: bool = False, classes: tuple[str, ...] = ("pricing",)) -> EvaluationFact:  # fmt: skip
    return EvaluationFact(
        seq=seq,
        at=T0 + timedelta(days=day),
        agent_id=agent,
        repo="acme/platform",
        pr=pr,
        head_sha=f"{pr:040x}",
        conclusion=conclusion,
        blocked=blocked,
        rule_classes=frozenset(classes),
    )


def merge(seq: int, pr: int, *, agent: str | None = "pricing-bot", day: float = 2,
          bypass: bool = False, run_id: str | None = "run", cost: str | None = "0.10",
          waited_minutes: float | None = 30, reverts: RevertRefs | None = None,
          classes: tuple[str, ...] = ("pricing",)) -> MergeFact:  # fmt: skip
    at = T0 + timedelta(days=day)
    first = at - timedelta(hours=2)
    return MergeFact(
        seq=seq,
        at=at,
        agent_id=agent,
        repo="acme/platform",
        pr=pr,
        head_sha=f"{pr:040x}",
        merge_sha=f"{pr:02x}" + "c" * 38,
        bypass=bypass,
        run_id=run_id,
        cost_usd=Decimal(cost) if cost is not None else None,
        last_approval_at=first + timedelta(minutes=waited_minutes) if waited_minutes else None,
        head_first_evaluated_at=first,
        rule_classes=frozenset(classes),
        reverts=reverts or RevertRefs(),
    )


def agent_card(cards: list[Scorecard], agent: str = "pricing-bot") -> Scorecard:
    return next(c for c in cards if c.agent_id == agent and c.rule_class is None)


def test_each_figure_on_a_known_record() -> None:
    facts: list[Fact] = [
        ev(1, 10, "action_required"),
        ev(2, 10, "success"),
        merge(3, 10, waited_minutes=30),
        ev(4, 11, "failure", blocked=True),
        ev(5, 12, "failure"),
        ev(6, 12, "success"),
        merge(7, 12, waited_minutes=90, cost="0.30"),
        ev(8, 13, "failure"),
        merge(9, 13, bypass=True, run_id=None, cost=None, waited_minutes=None),
        AnalyzeCallFact(10, T0 + timedelta(days=3), "pricing-bot"),
        AnalyzeCallFact(11, T0 + timedelta(days=3), "pricing-bot", outcome="too_large"),
        # A human reverts PR 10 with GitHub's Revert button, after the window.
        merge(12, 99, agent=None, day=40, reverts=RevertRefs(pulls=("acme/platform#10",))),
    ]
    card = agent_card(scorecards(facts, WINDOW))
    assert (card.evaluated, card.merged, card.blocked, card.failed) == (4, 3, 1, 2)
    assert (card.bypassed, card.reverted, card.reverted_prs) == (1, 1, ("acme/platform#10",))
    assert card.reverted_pct == 33.333
    assert card.approval_latency_p50_seconds == 30 * 60
    assert card.approval_latency_p90_seconds == 90 * 60
    assert card.run_id_coverage_pct == 66.667
    assert card.cost_usd == "0.40"
    assert card.cost_per_merge_usd == round(0.4 / 3, 6)
    assert card.merges_without_cost == 1
    assert card.analyze_calls == 2


def test_a_git_revert_matches_the_merge_sha_even_abbreviated() -> None:
    original = merge(1, 5)
    assert original.merge_sha is not None
    revert = merge(2, 6, day=3, reverts=RevertRefs(commits=(original.merge_sha[:7],)))
    card = agent_card(scorecards([original, revert], WINDOW))
    assert card.reverted_prs == ("acme/platform#5",)
    earlier = merge(3, 7, day=4)  # a "revert" recorded before its target cannot revert it
    before = merge(0, 8, day=1, reverts=RevertRefs(pulls=("acme/platform#7",)))
    card = agent_card(scorecards([earlier, before], WINDOW))
    assert card.reverted == 0


def test_rule_class_rows_and_window_edges() -> None:
    facts: list[Fact] = [
        ev(1, 1, "success", classes=("pricing", "data")),
        merge(2, 1, classes=("pricing", "data")),
        ev(3, 2, "success", agent="infra-bot", classes=("terraform",)),
        ev(4, 3, "success", day=30),  # the window's end is exclusive
        ev(5, 4, "success", day=-1),
    ]
    cards = scorecards(facts, WINDOW)
    keys = [(c.agent_id, c.rule_class) for c in cards]
    assert keys == [
        ("infra-bot", None),
        ("infra-bot", "terraform"),
        ("pricing-bot", None),
        ("pricing-bot", "data"),
        ("pricing-bot", "pricing"),
    ]
    assert agent_card(cards).evaluated == 1
    assert all(c.analyze_calls is None for c in cards if c.rule_class is not None)
    assert [c.rule_class for c in scorecards(facts, WINDOW, by_class=False)] == [None, None]


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile(list(map(float, range(1, 11))), 90) == 9.0


@st.composite
def records(draw: st.DrawFn) -> list[Fact]:
    facts: list[Fact] = []
    for seq in range(draw(st.integers(0, 40))):
        pr = draw(st.integers(1, 8))
        day = draw(st.floats(-5, 35))
        agent = draw(st.sampled_from(["a", "b"]))
        if draw(st.booleans()):
            facts.append(ev(seq, pr, draw(st.sampled_from(["success", "failure"])), agent=agent,
                            day=day, blocked=draw(st.booleans())))  # fmt: skip
        else:
            target = draw(st.integers(1, 8))
            reverts = (
                RevertRefs(pulls=(f"acme/platform#{target}",)) if draw(st.booleans()) else None
            )
            facts.append(merge(seq, pr, agent=agent, day=day, bypass=draw(st.booleans()),
                               waited_minutes=draw(st.floats(-100, 500)), reverts=reverts))  # fmt: skip
    return facts


@given(records())
def test_invariants_on_any_record(facts: list[Fact]) -> None:
    for card in scorecards(facts, WINDOW):
        assert 0 <= card.reverted <= card.merged and 0 <= card.bypassed <= card.merged
        assert 0 <= card.blocked <= card.evaluated and 0 <= card.failed <= card.evaluated
        assert 0.0 <= card.reverted_pct <= 100.0
        p50, p90 = card.approval_latency_p50_seconds, card.approval_latency_p90_seconds
        assert (p50 is None) == (p90 is None)
        if p50 is not None and p90 is not None:
            assert 0 <= p50 <= p90
        in_window = [f for f in facts if isinstance(f, MergeFact) and f.agent_id == card.agent_id
                     and WINDOW.holds(f.at)]  # fmt: skip
        if card.rule_class is None:
            assert card.merged == len(in_window)
