"""Console pages: Merges, Merge evidence (+ bypass review), Agents, Chain, Who can.

Every route but `signed-out` needs a session (auth.SignedIn); every POST checks the CSRF token.
Audit reads run in the thread pool (sync routes); they only read, except the two recorded actions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from app.console import csrf
from app.console.auth import Context, SignedIn, context
from app.console.queries import (
    PER_PAGE,
    MergeFilter,
    ReviewRefused,
    distinct_values,
    last_verification,
    merges_page,
    record_bypass_review,
    review_refusal,
    verify_and_record,
)
from app.console.views import render
from app.core.errors import UsageError
from app.core.moments import parse_moment
from app.runtime.context import Runtime

router = APIRouter(prefix="/console", include_in_schema=False)
TIERS = ("0", "1", "2", "3", "blocked")
Owner = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]
Number = Annotated[int, Path(ge=1, le=2_147_483_647)]


def engine_of(request: Request) -> Engine:
    runtime: Runtime = request.app.state.runtime
    return runtime.engine


def _date(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """An ISO date or time (app.core.moments); a bare `until` date includes that whole day."""
    if not value:
        return None
    try:
        return parse_moment(value, name, whole_day=end)
    except UsageError as error:
        raise HTTPException(400, str(error)) from None


def parse_filter(request: Request) -> tuple[MergeFilter, dict[str, str]]:
    """The filter from the query string, and its raw values (to refill the form and links)."""
    params = request.query_params
    raw = {
        name: params.get(name, "").strip()
        for name in ("repo", "agent", "run_id", "tier", "bypass", "since", "until")
    }
    if raw["tier"] and raw["tier"] not in TIERS:
        raise HTTPException(400, f"tier must be one of {', '.join(TIERS)}")
    if raw["bypass"] not in ("", "yes", "no"):
        raise HTTPException(400, "bypass must be yes or no")
    flt = MergeFilter(
        repo=raw["repo"] or None,
        agent=raw["agent"] or None,
        run_id=raw["run_id"] or None,
        tier=raw["tier"] or None,
        bypass={"yes": True, "no": False}.get(raw["bypass"]),
        since=_date(raw["since"], "since"),
        until=_date(raw["until"], "until", end=True),
    )
    return flt, raw


@router.get("")
def home(_session: SignedIn) -> Response:
    return RedirectResponse("/console/merges", status_code=303)


@router.get("/signed-out")
def signed_out(request: Request, _ctx: Context) -> Response:
    return render(request, "signed_out.html.j2")


@router.get("/merges")
def merges(
    request: Request,
    _session: SignedIn,
    page: int = 1,
    before: int | None = None,
    after: int | None = None,
) -> Response:
    """Merges, newest first, filtered and paginated (the older/newer links page by seq)."""
    flt, raw = parse_filter(request)
    page = max(1, min(page, 1_000_000))
    engine = engine_of(request)
    rows, total = merges_page(engine, flt, page, before=before, after=after)
    return render(
        request,
        "merges.html.j2",
        page="merges",
        rows=rows,
        total=total,
        current=page,
        pages=max(1, -(-total // PER_PAGE)),
        filters=raw,
        repos=distinct_values(engine, "repo"),
        agents=distinct_values(engine, "agent_id"),
        tiers=TIERS,
    )


@router.get("/merges/{owner}/{name}/{number}")
def evidence(
    request: Request, owner: Owner, name: Owner, number: Number, _session: SignedIn
) -> Response:
    """One merge's evidence packet (app.store.audit.evidence), with the bypass review form."""
    from app.store.audit.evidence import build_packet

    try:
        packet = build_packet(engine_of(request), f"{owner}/{name}", number)
    except UsageError as error:
        raise HTTPException(404, str(error)) from error
    return render(
        request,
        "evidence.html.j2",
        page="merges",
        p=packet,
        review_refused=review_refusal(packet, request.state.console_user),
    )


@router.post("/merges/{owner}/{name}/{number}/review")
async def review_bypass(
    request: Request, owner: Owner, name: Owner, number: Number, session: SignedIn, ctx: Context
) -> Response:
    """Mark a bypass merge reviewed (audit event `bypass_reviewed`)."""
    form = await csrf.read_form(request)
    csrf.check(form, ctx.signer, session)
    try:
        await run_in_threadpool(
            record_bypass_review,
            engine_of(request),
            f"{owner}/{name}",
            number,
            reviewer=session.login,
            note=form.get("note", ""),
        )
    except ReviewRefused as refused:
        raise HTTPException(409, str(refused)) from refused
    except UsageError as error:
        raise HTTPException(404, str(error)) from error
    return RedirectResponse(f"/console/merges/{owner}/{name}/{number}", status_code=303)


SCORECARD_DAYS = (7, 30, 90)


ALL_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""The start of the Agents page's all-time window (before any audit record can exist)."""


@router.get("/agents")
def agents(request: Request, _session: SignedIn, days: int = 30) -> Response:
    """Agent scorecards (app.agentops.scorecard) rendered as they are, never recomputed here:
    per agent over all time, then per agent and rule class over a window (7, 30 or 90 days)."""
    from app.agentops.scorecard import Window
    from app.store.audit.agent_events import agent_scorecards

    if days not in SCORECARD_DAYS:
        raise HTTPException(400, f"days must be one of {', '.join(map(str, SCORECARD_DAYS))}")
    engine = engine_of(request)
    now = datetime.now(UTC)
    return render(
        request,
        "agents.html.j2",
        page="agents",
        totals=agent_scorecards(engine, Window(since=ALL_TIME, until=now), by_class=False),
        cards=agent_scorecards(engine, Window(since=now - timedelta(days=days), until=now)),
        days=days,
        day_choices=SCORECARD_DAYS,
    )


@router.get("/chain")
def chain(request: Request, _session: SignedIn) -> Response:
    from app.store.audit.store import chain_head

    engine = engine_of(request)
    return render(
        request,
        "chain.html.j2",
        page="chain",
        last=last_verification(engine),
        head=chain_head(engine),
    )


@router.post("/chain/verify")
async def verify_now(request: Request, session: SignedIn, ctx: Context) -> Response:
    """Recompute the whole chain now and record the result (`chain_verified`)."""
    csrf.check(await csrf.read_form(request), ctx.signer, session)
    await run_in_threadpool(verify_and_record, engine_of(request), session.login)
    return RedirectResponse("/console/chain", status_code=303)


@router.get("/who-can")
def who_can(
    request: Request,
    _session: SignedIn,
    action: str = "propose",
    kind: str = "",
    op: str = "",
    env: str = "",
    repo: str = "",
) -> Response:
    """`countersign policy who-can` as a form, over the loaded Cedar policies."""
    from app.core.models import KINDS

    if action not in ("propose", "approve"):
        raise HTTPException(400, "action must be propose or approve")
    if kind and kind not in KINDS:
        raise HTTPException(400, f"kind must be one of {', '.join(KINDS)}")
    runtime: Runtime = request.app.state.runtime
    asked = bool(request.query_params)
    rows = (
        runtime.gate.policy.who_can(
            action=action, kind=kind or None, op=op or None, env=env or None, repo=repo or None
        )
        if asked
        else []
    )
    return render(
        request,
        "who_can.html.j2",
        page="who-can",
        asked=asked,
        rows=rows,
        form={"action": action, "kind": kind, "op": op, "env": env, "repo": repo},
        kinds=KINDS,
        ops=("create", "update", "delete", "rename", "replace"),
    )


__all__ = ["context", "router"]
