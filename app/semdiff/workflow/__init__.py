"""GitHub Actions workflows: triggers, token permissions, secrets, steps."""
