"""Agent operations, pure: scorecards over the audited record, the trust ramp and PR rate limits.

Nothing here reads the database or GitHub: the service reads the store (app/store/audit/agent_events.py)
and hands the figures in as data.
"""
