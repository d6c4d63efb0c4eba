"""Terraform: HCL and JSON syntax, module-wide identity, and plans."""
