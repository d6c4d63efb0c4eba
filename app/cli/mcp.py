"""`countersign mcp`: the MCP tools over stdio, for an agent running beside a checkout.

The agent's pre-flight token comes from COUNTERSIGN_AGENT_TOKEN (never an argument: argv is
visible to every process). The process reads the same settings as the service (database,
rules, policies, COUNTERSIGN_ANALYZE_*) and admits each call exactly as `/mcp` does.
Stdout carries the protocol only; logs go to stderr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from app.cli.settings import load_settings

TOKEN_VARIABLE = "COUNTERSIGN_AGENT_TOKEN"


def mcp_command() -> None:
    """Serve the read-only agent tools (preflight, pr_status, who_can, explain_rule,
    my_record) over stdio as the agent whose token is in COUNTERSIGN_AGENT_TOKEN."""
    import anyio

    from app.mcp.server import build_server
    from app.runtime.logging import configure_logging
    from app.service.app import build_runtime, close_runtime
    from app.service.mcp_door import RuntimeDoor

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    token = os.environ.get(TOKEN_VARIABLE, "")
    runtime = build_runtime(settings)

    def from_environment(_headers: Mapping[str, str] | None) -> str:
        return token

    try:
        server = build_server(RuntimeDoor(lambda: runtime, from_environment))
        anyio.run(server.run_stdio_async)
    finally:
        if runtime.analyze_guard is not None:
            runtime.analyze_guard.runner.close()
        close_runtime(runtime)
