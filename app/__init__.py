"""Countersign: a policy-enforced gate between AI agents and the systems they change."""

__version__ = "0.1.0"
