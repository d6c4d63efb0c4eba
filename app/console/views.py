"""Rendering console pages: one Jinja2 environment, autoescaped, and the headers every console
response carries (CSP without inline scripts or styles, no framing, no caching, no referrer).

Titles, file names and run URLs come from agents: templates never use `|safe`, links go through
`http_url` (no `javascript:`), and the CSP would stop a script even if one slipped through.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from app.store.audit.evidence import TEMPLATES as AUDIT_TEMPLATES
from app.store.audit.evidence import http_url

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NAV = (
    ("merges", "Merges", "/console/merges"),
    ("agents", "Agents", "/console/agents"),
    ("chain", "Chain", "/console/chain"),
    ("export", "Export", "/console/export"),
    ("who-can", "Who can", "/console/who-can"),
)


@cache
def environment() -> Environment:
    # Console templates first; the evidence body is shared with `countersign audit evidence`.
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(TEMPLATES), FileSystemLoader(AUDIT_TEMPLATES)]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    env.globals["nav"] = NAV
    env.globals["query"] = lambda values: urlencode(
        {k: v for k, v in values.items() if v not in (None, "")}
    )
    return env


def render(
    request: Request, template: str, *, status: int = 200, page: str = "", **context: Any
) -> HTMLResponse:
    """A console page; `user` and `csrf` come from the request when signed in."""
    html = (
        environment()
        .get_template(template)
        .render(
            user=getattr(request.state, "console_user", None),
            csrf=getattr(request.state, "console_csrf", ""),
            page=page,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status)
