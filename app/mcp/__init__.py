"""The MCP door: read-only tools an agent calls over MCP (stdio or Streamable HTTP at `/mcp`).

`server.build_server(door)` registers the tools; a `Door` (app/service/mcp_door.py) decides who
the caller is from its pre-flight token and applies the pre-flight API's caps, rate limit,
deadline and `analyze_call` counting. No tool approves, merges, waives or changes config.
"""
