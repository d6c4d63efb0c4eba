"""Agent run trailers (`Agent-Run-Id:` …) from commit messages and PR bodies.

Git's trailer rules, simplified to what matters for trust: trailers live in the last paragraph of a
message, one `Key: value` per line (continuation lines start with whitespace); keys are
case-insensitive. The same parser serves commit messages (`analyze`) and PR bodies (the App), so an
agent gets one behaviour everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

RUN_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")
_TRAILER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)\s*:\s?(.*)$")
_COST = re.compile(r"^\d{1,9}(\.\d{1,6})?$")

KEY_RUN_ID = "agent-run-id"
KEY_RUN_URL = "agent-run-url"
KEY_RUN_COST = "agent-run-cost-usd"
KEY_OPERATOR = "agent-run-operator"
KEY_TRACE_PARENT = "agent-trace-parent"
PR_BODY = "PR body"
"""The source label of a PR body (commits are labelled `commit <sha7>`)."""

# W3C Trace Context `traceparent`, version 00: lower-case hex, all-zero ids invalid.
_TRACE_PARENT = re.compile(
    r"^00-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$"
)


def trace_parent_error(value: str) -> str | None:
    """Why `value` is not a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or None.

    Only version 00 is accepted, in lower case, with a non-zero trace id and parent id, as the
    W3C Trace Context recommendation requires of a receiver.
    """
    match = _TRACE_PARENT.match(value)
    if match is None:
        if _TRACE_PARENT.match(value.lower()):
            return "must be lower-case hex"
        return "is not `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`"
    if set(match["trace"]) == {"0"}:
        return "has an all-zero trace id"
    if set(match["span"]) == {"0"}:
        return "has an all-zero parent id"
    return None


def parse_trailers(message: str) -> dict[str, list[str]]:
    """Trailers of the last paragraph, keys lower-cased, values in order of appearance.

    A paragraph counts as a trailer block only when every non-continuation line is `Key: value`
    (git also accepts mixed blocks for its own trailers; agents write clean blocks). A fenced code
    block or quoted text never yields trailers.
    """
    text = message.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text:
        return {}
    paragraphs = re.split(r"\n[ \t]*\n", text)
    last = paragraphs[-1]
    if "```" in last:
        return {}
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in last.split("\n"):
        if current is not None and line[:1] in (" ", "\t") and line.strip():
            out[current][-1] = (out[current][-1] + " " + line.strip()).strip()
            continue
        match = _TRAILER.match(line.strip()) if line.strip() else None
        if match is None or line[:1] in (" ", "\t", ">"):
            return {}
        current = match.group(1).lower()
        out.setdefault(current, []).append(match.group(2).strip())
    return out


@dataclass(frozen=True)
class RunInfo:
    """What the trailers of all sources say about the agent run, and what is wrong with them."""

    run_id: str | None = None
    run_url: str | None = None
    run_cost_usd: str | None = None
    operator: str | None = None
    sources: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    trace_parent: str | None = None
    """The agent's own trace (W3C `traceparent`) the evaluation links to: telemetry only."""
    notes: tuple[str, ...] = ()
    """What was ignored and why (a bad `Agent-Trace-Parent:`): shown, never failing the check."""


def collect_run_info(sources: Iterable[tuple[str, str]]) -> RunInfo:
    """Merge trailers from (label, text) sources, e.g. ("PR body", body), ("commit abc1234", msg).

    Distinct run IDs across sources are a conflict (a problem, never a silent pick); an ID that
    does not match the allowed shape is refused so it cannot smuggle markup into check runs.
    """
    ids: dict[str, list[str]] = {}
    urls: list[str] = []
    costs: list[str] = []
    operators: list[str] = []
    problems: list[str] = []
    traces: list[tuple[str, str]] = []
    notes: list[str] = []
    for label, text in sources:
        trailers = parse_trailers(text)
        for value in trailers.get(KEY_TRACE_PARENT, []):
            why = trace_parent_error(value)
            if why is None:
                traces.append((label, value))
            else:
                notes.append(f"{label}: Agent-Trace-Parent {value[:60]!r} ignored: it {why}")
        for value in trailers.get(KEY_RUN_ID, []):
            if RUN_ID.match(value):
                ids.setdefault(value, []).append(label)
            else:
                problems.append(
                    f"{label}: Agent-Run-Id {value[:40]!r} is not 1-128 characters of "
                    "[A-Za-z0-9._:/-]"
                )
        urls.extend(v for v in trailers.get(KEY_RUN_URL, []) if v.startswith("https://"))
        for value in trailers.get(KEY_RUN_COST, []):
            if _COST.match(value):
                costs.append(value)
            else:
                problems.append(f"{label}: Agent-Run-Cost-USD {value[:20]!r} is not a number")
        operators.extend(v.lstrip("@") for v in trailers.get(KEY_OPERATOR, []) if v)
    run_id = None
    if len(ids) > 1:
        listed = "; ".join(f"{rid} ({', '.join(where)})" for rid, where in ids.items())
        problems.append(f"conflicting Agent-Run-Id trailers: {listed}")
    elif ids:
        run_id = next(iter(ids))
    if len(set(operators)) > 1:
        problems.append("conflicting Agent-Run-Operator trailers: " + ", ".join(sorted(operators)))
    trace_parent = _pick_trace_parent(traces, notes)
    return RunInfo(
        run_id=run_id,
        run_url=urls[-1] if urls else None,
        run_cost_usd=costs[-1] if costs else None,
        operator=operators[-1] if len(set(operators)) == 1 else None,
        sources=tuple(label for rid in ids.values() for label in rid),
        problems=tuple(problems),
        trace_parent=trace_parent,
        notes=tuple(notes),
    )


def _pick_trace_parent(traces: list[tuple[str, str]], notes: list[str]) -> str | None:
    """The PR body's trace parent, else the last commit's (sources come body first, then commits
    oldest to newest). Several distinct values are no conflict: a trace link decides nothing."""
    if not traces:
        return None
    label, chosen = traces[0] if traces[0][0] == PR_BODY else traces[-1]
    if len({value for _, value in traces}) > 1:
        notes.append(
            f"{len({v for _, v in traces})} different Agent-Trace-Parent trailers: "
            f"the evaluation links to the one in {label}"
        )
    return chosen


KEY_CO_AUTHOR = "co-authored-by"
_IDENTITY = re.compile(r"^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$")


def co_authors(message: str) -> tuple[tuple[str, str], ...]:
    """`(name, e-mail)` of each `Co-authored-by: Name <e-mail>` trailer, in order, deduplicated.

    GitHub credits co-authors from the same trailer block; a malformed value is skipped (it names
    nobody GitHub would credit either).
    """
    out: list[tuple[str, str]] = []
    for value in parse_trailers(message).get(KEY_CO_AUTHOR, []):
        match = _IDENTITY.match(value.strip())
        if match is None:
            continue
        ident = (match.group(1).strip(), match.group(2).strip())
        if ident not in out:
            out.append(ident)
    return tuple(out)
