"""Where snapshots come from outside GitHub: a git checkout or a unified diff."""
