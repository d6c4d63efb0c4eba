"""A stateful local GitHub for tests and `countersign demo`: REST subset, GraphQL blob batches,
signed webhooks, fault injection, scenarios as data. See `simulator.Simulator` and
`server.SimServer`."""
