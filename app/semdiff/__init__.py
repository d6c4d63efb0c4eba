"""Semantic diff: what a change means (resources, objects, SKUs), not which lines moved.

This module is the package's public API: code outside `app.semdiff` imports from here only
(`tests/test_architecture.py` checks it), so the families can be rearranged without touching
their callers. Names load lazily, on first use: `import app.semdiff` costs nothing, and a caller
that needs only the module-scope helpers (the GitHub snapshot fetch, `countersign analyze` on a
checkout) does not pay for the parsers of every analyzer family.
"""

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing this package loads nothing
if TYPE_CHECKING:
    from typing import Any

    from app.semdiff.common.scope import (
        is_terraform_module_file,
        module_dir,
        module_dirs_to_read,
    )
    from app.semdiff.destinations.introduced import FACT as DESTINATIONS_FACT
    from app.semdiff.destinations.introduced import with_destinations
    from app.semdiff.dispatch import analyze_files
    from app.semdiff.kubernetes.graph import gather_context as kustomize_context
    from app.semdiff.kubernetes.graph import wanted as kustomize_context_wanted
    from app.semdiff.terraform.plan.merge import merge as merge_plans
    from app.semdiff.terraform.plan.merge import (
        plan_changes,
        plan_digest,
        plan_from,
        plan_status,
        read_plan,
    )
    from app.semdiff.terraform.plan.read import analyze_plan, check_plan, load_plan, reject_constant
    from app.semdiff.terraform.plan.redact import redact_for_storage

_EXPORTS: dict[str, tuple[str, str]] = {
    # What a pull request's files mean: one list of `Change`s (the gate's second stage).
    "analyze_files": ("app.semdiff.dispatch", "analyze_files"),
    # Which destinations (hosts, principals, images) each change introduces.
    "with_destinations": ("app.semdiff.destinations.introduced", "with_destinations"),
    "DESTINATIONS_FACT": ("app.semdiff.destinations.introduced", "FACT"),
    # Which files form a Terraform module scope (what a snapshot must fetch beside the diff).
    "is_terraform_module_file": ("app.semdiff.common.scope", "is_terraform_module_file"),
    "module_dir": ("app.semdiff.common.scope", "module_dir"),
    "module_dirs_to_read": ("app.semdiff.common.scope", "module_dirs_to_read"),
    # Which unchanged files a PR's kustomizations need to judge what they still build (#24).
    "kustomize_context_wanted": ("app.semdiff.kubernetes.graph", "wanted"),
    "kustomize_context": ("app.semdiff.kubernetes.graph", "gather_context"),
    # Terraform plans: read, check, store redacted, and merge into the source analysis.
    "read_plan": ("app.semdiff.terraform.plan.merge", "read_plan"),
    "plan_from": ("app.semdiff.terraform.plan.merge", "plan_from"),
    "plan_digest": ("app.semdiff.terraform.plan.merge", "plan_digest"),
    "plan_status": ("app.semdiff.terraform.plan.merge", "plan_status"),
    "plan_changes": ("app.semdiff.terraform.plan.merge", "plan_changes"),
    "merge_plans": ("app.semdiff.terraform.plan.merge", "merge"),
    "load_plan": ("app.semdiff.terraform.plan.read", "load_plan"),
    "check_plan": ("app.semdiff.terraform.plan.read", "check_plan"),
    "reject_constant": ("app.semdiff.terraform.plan.read", "reject_constant"),
    "analyze_plan": ("app.semdiff.terraform.plan.read", "analyze_plan"),
    "redact_for_storage": ("app.semdiff.terraform.plan.redact", "redact_for_storage"),
}

__all__ = [
    "DESTINATIONS_FACT",
    "analyze_files",
    "analyze_plan",
    "check_plan",
    "is_terraform_module_file",
    "kustomize_context",
    "kustomize_context_wanted",
    "load_plan",
    "merge_plans",
    "module_dir",
    "module_dirs_to_read",
    "plan_changes",
    "plan_digest",
    "plan_from",
    "plan_status",
    "read_plan",
    "redact_for_storage",
    "reject_constant",
    "with_destinations",
]


if not TYPE_CHECKING:  # hidden from mypy, so a misspelt import is a type error, not `Any`

    def __getattr__(name: str) -> "Any":
        """Load an exported name from its module on first use (PEP 562), then keep it here."""
        try:
            module, attribute = _EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module 'app.semdiff' has no attribute {name!r}") from None
        from importlib import import_module

        value = getattr(import_module(module), attribute)
        globals()[name] = value
        return value
