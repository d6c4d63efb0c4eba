"""The running process's plumbing: structured logging, tracing, metrics, and the runtime context the service builds once."""
