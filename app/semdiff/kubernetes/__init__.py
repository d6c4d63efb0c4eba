"""Kubernetes: manifests and their identity across a PR, Helm charts, kustomize and tool config."""
