"""The shared vocabulary every layer speaks: changes, snapshots, reports, errors, redaction, safe YAML, globs. Pure."""
