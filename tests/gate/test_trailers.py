import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.gate.trailers import collect_run_info, parse_trailers, trace_parent_error


def test_trailers_in_last_paragraph() -> None:
    msg = (
        "Scale web tier\n\nBody text here.\n\nAgent-Run-Id: run_abc\nAgent-Run-Url: https://x/r/1\n"
    )
    assert parse_trailers(msg) == {"agent-run-id": ["run_abc"], "agent-run-url": ["https://x/r/1"]}


def test_trailer_not_in_last_paragraph_is_ignored() -> None:
    msg = "Title\n\nAgent-Run-Id: run_abc\n\nSome closing words."
    assert parse_trailers(msg) == {}


def test_keys_case_insensitive_and_continuation() -> None:
    msg = "T\n\nagent-run-ID: run_1\nNote: first\n  second\n"
    assert parse_trailers(msg) == {"agent-run-id": ["run_1"], "note": ["first second"]}


def test_mixed_paragraph_is_not_a_trailer_block() -> None:
    assert parse_trailers("T\n\nI said: hello\nthis is prose") == {}


def test_code_fence_never_yields_trailers() -> None:
    assert parse_trailers("T\n\n```\nAgent-Run-Id: x\n```") == {}


def test_same_id_in_body_and_commits_is_fine() -> None:
    info = collect_run_info(
        [("PR body", "Do it\n\nAgent-Run-Id: r1"), ("commit 1234567", "x\n\nAgent-Run-Id: r1")]
    )
    assert info.run_id == "r1"
    assert info.problems == ()


def test_conflicting_ids_are_a_problem_not_a_pick() -> None:
    info = collect_run_info(
        [("PR body", "x\n\nAgent-Run-Id: r1"), ("commit a", "y\n\nAgent-Run-Id: r2")]
    )
    assert info.run_id is None
    assert "conflicting Agent-Run-Id" in info.problems[0]
    assert "r1 (PR body)" in info.problems[0] and "r2 (commit a)" in info.problems[0]


def test_bad_run_id_shape_is_refused() -> None:
    info = collect_run_info([("PR body", "x\n\nAgent-Run-Id: <script>alert(1)</script>")])
    assert info.run_id is None
    assert "not 1-128 characters" in info.problems[0]


def test_operator_cost_and_url() -> None:
    info = collect_run_info(
        [
            (
                "PR body",
                "x\n\nAgent-Run-Id: r\nAgent-Run-Operator: @alice\nAgent-Run-Cost-USD: 0.42\n"
                "Agent-Run-Url: http://insecure",
            )
        ]
    )
    assert (info.operator, info.run_cost_usd, info.run_url) == ("alice", "0.42", None)


@given(st.text(max_size=300))
def test_parser_never_crashes(text: str) -> None:
    result = parse_trailers(text)
    assert all(k == k.lower() for k in result)
    collect_run_info([("fuzz", text)])


def test_co_authors_from_the_trailer_block() -> None:
    from app.gate.trailers import co_authors

    message = (
        "Fix\n\nCo-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>\n"
        "co-authored-by: Bob B <bob@acme.example>\nCo-authored-by: not an identity"
    )
    assert co_authors(message) == (
        ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"),
        ("Bob B", "bob@acme.example"),
    )
    assert co_authors("Fix\n\nsee Co-authored-by: x <x@y.z> in prose") == ()


_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9 ._\[\]-]{0,30}[A-Za-z0-9\]]", fullmatch=True)
_EMAIL = st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,20}@[a-z0-9-]{1,15}\.[a-z]{2,6}", fullmatch=True)


@given(people=st.lists(st.tuples(_NAME, _EMAIL), min_size=1, max_size=4, unique=True))
def test_co_authors_round_trip(people: list[tuple[str, str]]) -> None:
    from app.gate.trailers import co_authors

    block = "\n".join(f"Co-authored-by: {name} <{email}>" for name, email in people)
    assert co_authors(f"Subject\n\nBody text.\n\n{block}") == tuple(people)


# --- Agent-Trace-Parent (W3C traceparent) ---------------------------------------------------
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
"""The W3C Trace Context recommendation's own example value."""


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (TRACE, None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", None),  # not sampled: fine
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "must be lower-case hex"),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "has an all-zero trace id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "has an all-zero parent id"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "is not"),  # other version
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "is not"),  # forbidden
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "is not"),  # 31 hex
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "is not"),
        ("4bf92f3577b34da6a3ce929d0e0e4736", "is not"),
        ("", "is not"),
    ],
)
def test_trace_parent_validation(value: str, why: str | None) -> None:
    error = trace_parent_error(value)
    if why is None:
        assert error is None
    else:
        assert error is not None and error.startswith(why)


def test_trace_parent_from_pr_body() -> None:
    info = collect_run_info([("PR body", f"Fix.\n\nAgent-Run-Id: r1\nAgent-Trace-Parent: {TRACE}")])
    assert info.run_id == "r1"
    assert info.trace_parent == TRACE
    assert info.notes == () and info.problems == ()


def test_bad_trace_parent_is_a_note_never_a_problem() -> None:
    info = collect_run_info([("PR body", "Fix.\n\nAgent-Run-Id: r1\nAgent-Trace-Parent: abc-123")])
    assert info.trace_parent is None
    assert info.run_id == "r1" and info.problems == ()
    assert len(info.notes) == 1
    assert info.notes[0].startswith("PR body: Agent-Trace-Parent 'abc-123' ignored: it is not")


def test_pr_body_trace_parent_wins_over_commits_and_newest_commit_over_older() -> None:
    older = "00-11111111111111111111111111111111-1111111111111111-01"
    newer = "00-22222222222222222222222222222222-2222222222222222-01"
    commits = [
        ("commit aaaaaaa", f"one\n\nAgent-Trace-Parent: {older}"),
        ("commit bbbbbbb", f"two\n\nAgent-Trace-Parent: {newer}"),
    ]
    assert collect_run_info(commits).trace_parent == newer
    both = collect_run_info([("PR body", f"x\n\nAgent-Trace-Parent: {TRACE}"), *commits])
    assert both.trace_parent == TRACE
    assert both.notes == (
        "3 different Agent-Trace-Parent trailers: the evaluation links to the one in PR body",
    )


@given(st.text(max_size=80))
def test_trace_parent_validation_never_crashes(value: str) -> None:
    error = trace_parent_error(value)
    info = collect_run_info([("PR body", f"x\n\nAgent-Trace-Parent: {value}")])
    assert info.problems == ()
    if info.trace_parent is not None:
        assert error is None and info.trace_parent == value.strip()
