"""Identity scopes: which files together decide whether an object was created, moved or deleted.

Terraform's unit is the module directory (all `.tf` and `.tf.json` files of one folder, not its
subfolders); a Kubernetes object is identified across the whole PR. A change of one file is judged
against its whole scope, so the snapshot builders must read the unchanged files of every module
directory the PR touches: `module_dirs_to_read` says which.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

TERRAFORM_MODULE_SUFFIXES = (".tf", ".tf.json")


def is_terraform_module_file(path: str) -> bool:
    """A file Terraform loads as part of its directory's module (`.tfvars` are inputs, not code)."""
    return path.lower().endswith(TERRAFORM_MODULE_SUFFIXES)


def module_dir(path: str) -> str:
    """The module directory of a Terraform file: its folder, `""` for the repository root."""
    return posixpath.dirname(path)


def module_dirs_to_read(paths: Iterable[str]) -> set[str]:
    """Directories whose unchanged Terraform files must be read to judge these changed paths.

    `paths` are the changed files' paths on both sides (for a rename, the old and the new one).
    """
    return {module_dir(p) for p in paths if is_terraform_module_file(p)}
