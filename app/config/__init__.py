"""What users configure: the repository's `.github/countersign.yml`, allowlists, the agent registry (`agents.yaml`) and the deployment settings. Pure parsing and validation."""
