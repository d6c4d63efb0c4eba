"""The `countersign` command line. Heavy imports happen inside commands so `analyze` starts fast."""
