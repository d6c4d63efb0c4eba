"""Which module directories of a repository nothing applies: a module library's examples,
wrappers and test fixtures.

A module library (terraform-aws-modules and the like) ships `examples/<name>/` to show how its
modules are called, `wrappers/<name>/` for Terragrunt users, and `test/fixtures/` for its own
tests. Merging a change to them destroys nothing and moves no state: deleting an example's
`aws_kms_key` loses nobody's data, and an example's provider floor is not the library's. The
facts set here (`library_role`) let the rule pack say that at an honest severity instead of
"Terraform will destroy it". Directories are recognised by their path segments; a live
configuration keeps its full severity wherever else it lives (`envs/test/` is a real
environment and is not a fixture), and so does a directory under one of these names that
declares a `backend` or `cloud` (a root someone applies: the analyzer then sets no role).
"""

from __future__ import annotations

__all__ = ["library_role"]

_ROLES = {"examples": "example", "example": "example", "wrappers": "wrapper"}
_TEST_DIRS = frozenset({"test", "tests"})


def library_role(directory: str | None) -> str | None:
    """`example`, `wrapper` or `test` for a directory nothing applies, else None."""
    if not directory:
        return None
    parts = directory.split("/")
    for index, part in enumerate(parts):
        role = _ROLES.get(part)
        if role is not None:
            return role
        if part == "fixtures" and index > 0 and parts[index - 1] in _TEST_DIRS:
            return "test"
    return None
