"""The pure decision: a PR snapshot in, a report out (config, changes, proposer, findings, policy, approvals)."""
