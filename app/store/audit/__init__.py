"""The audit store: an append-only, hash-chained event log in the database, its merge export
and verification. `chain` is the format an auditor reproduces; `store` appends and reads;
`export`/`verify` stream; `cli` holds `countersign audit …` and `countersign db …`.
"""
