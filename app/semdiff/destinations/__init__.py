"""Destinations a change introduces (hosts, accounts, regions, registries), read from values and Containerfiles."""
