"""Terraform plans (`terraform show -json`): reading, redaction, IAM documents, outputs, and merging with source changes."""
