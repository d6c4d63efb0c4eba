"""Semantic diff: what a change means (resources, objects, SKUs), not which lines moved."""
