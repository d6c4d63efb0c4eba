"""Cedar policies: which agents may propose which changes, and whose approvals count. Pure."""

from app.config.agents import Agent, AgentRegistry
from app.policy.engine import ApprovalSubject, PolicyEngine, WhoCanRow
from app.policy.summary import ProposeSummary, summarize

__all__ = [
    "Agent",
    "AgentRegistry",
    "ApprovalSubject",
    "PolicyEngine",
    "ProposeSummary",
    "WhoCanRow",
    "summarize",
]
