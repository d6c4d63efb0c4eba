"""The SDK's own client over both transports, and the scenario both transport tests share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from tests.service._agent_tokens import policies_with_tokens, sha256_ref

PRICING = "pf_pricing_mcp_5d1e0f7a9b3c4d2e8f6a"
DOCS = "pf_docs_mcp_0a9b8c7d6e5f4a3b2c1d"
REVOKED = "pf_revoked_mcp_77aa88bb99cc00dd"
TOOLS = {"preflight", "pr_status", "who_can", "explain_rule", "my_record"}
RAMP = (
    "graduation:\n"
    "  - {changes: [{kind: pricing, op: update}], from_tier: 2, to_tier: 1,\n"
    "     gates: {min_merged: 3, window_days: 30, max_reverted_pct: 0, max_bypass: 0,\n"
    "             min_run_id_coverage_pct: 100}}"
)
BEFORE = '{"plans": [{"sku": "pro", "price": 49.0}]}\n'
AFTER = '{"plans": [{"sku": "pro", "price": 29.4}]}\n'
PRICE_CUT: dict[str, Any] = {
    "diff": f"--- a/catalog/plans.json\n+++ b/catalog/plans.json\n@@ -1 +1 @@\n-{BEFORE}+{AFTER}",
    "files": {"catalog/plans.json": {"base": BEFORE, "head": AFTER}},
    "repo": "acme/shop",
    "body": "Cut the pro plan price.\n\nAgent-Run-Id: run_7f3a",
}
SECRET = "hunter2-Zq8w-very-secret-value"
SECRET_BEFORE = '{"db_password": "old-password-value-1"}\n'
SECRET_AFTER = f'{{"db_password": "{SECRET}"}}\n'
SECRET_CHANGE: dict[str, Any] = {
    "diff": "--- a/config/app.json\n+++ b/config/app.json\n@@ -1 +1 @@\n"
    f"-{SECRET_BEFORE}+{SECRET_AFTER}",
    "files": {"config/app.json": {"base": SECRET_BEFORE, "head": SECRET_AFTER}},
    "repo": "acme/shop",
}


def agent_policies(tmp: Path, *, docs_rate: str = "{per_minute: 0.5, burst: 3}") -> Path:
    """Shipped policies; pricing-bot and docs-bot get tokens, pricing-bot a trust-ramp entry."""
    return policies_with_tokens(
        tmp / "policies",
        {
            "pricing-bot": f'api_tokens: ["{sha256_ref(PRICING)}"]\n{RAMP}',
            "docs-bot": f'api_tokens: ["{sha256_ref(DOCS)}"]\napi_rate_limit: {docs_rate}',
        },
    )


Session = Callable[[Client], Awaitable[Any]]


async def _over_http(url: str, token: str | None, session: Session) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        return await session(client)


def over_http(url: str, token: str | None, session: Session) -> Any:
    """Run `session(client)` with an SDK client connected to `url`/mcp with `token`."""
    return asyncio.run(_over_http(url, token, session))


async def _over_stdio(params: StdioServerParameters, session: Session) -> Any:
    async with Client(params, read_timeout_seconds=60) as client:
        return await session(client)


def over_stdio(params: StdioServerParameters, session: Session) -> Any:
    """Run `session(client)` against a `countersign mcp` subprocess."""
    return asyncio.run(_over_stdio(params, session))


def call(tool: str, arguments: dict[str, Any] | None = None) -> Session:
    async def session(client: Client) -> CallToolResult:
        result = await client.call_tool(tool, arguments or {})
        assert isinstance(result, CallToolResult)
        return result

    return session


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)
