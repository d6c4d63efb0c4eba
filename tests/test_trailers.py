from hypothesis import given
from hypothesis import strategies as st

from app.trailers import collect_run_info, parse_trailers


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
    from app.trailers import co_authors

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
    from app.trailers import co_authors

    block = "\n".join(f"Co-authored-by: {name} <{email}>" for name, email in people)
    assert co_authors(f"Subject\n\nBody text.\n\n{block}") == tuple(people)
