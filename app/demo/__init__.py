"""`countersign demo`: the App and a local GitHub on loopback, playing agent PR scenarios."""
