"""The allowlist stage: a destination a change introduces outside the configured lists.

`facts.destinations` (from `app.semdiff.destinations.introduced`) says what each change introduces; this
stage holds every value against the effective lists (`app.config.allowlists.effective_layers`) and
reports each one outside them as `allowlist.destination` (high, tier 2) on that change, naming
the value, the category and the list that refused it. It is a stage of its own rather than a
rule of the pack because a rule sees only the change and the PR, never the repository's or the
agent's lists. The severity is not raised for production: the lists are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.config.allowlists import CATEGORIES, NOUNS, AllowlistLayer, Category, refusing_layer
from app.core.models import Change
from app.core.redact import mask_url_passwords
from app.core.report import Finding
from app.semdiff import DESTINATIONS_FACT

RULE = "allowlist.destination"
TIER = 2
_MAX_VALUE = 160


def allowlist_findings(
    changes: Iterable[Change], layers: Sequence[AllowlistLayer]
) -> list[Finding]:
    """One finding per change and value outside a list, in change then category order."""
    if not layers:
        return []
    out: list[Finding] = []
    for change in changes:
        found = change.facts.get(DESTINATIONS_FACT)
        if not isinstance(found, dict):
            continue
        for category in CATEGORIES:
            values = found.get(category)
            if not isinstance(values, list):
                continue
            for value in values:
                layer = refusing_layer(category, str(value), layers)
                if layer is not None:
                    out.append(_finding(change, category, str(value), layer))
    return out


def _finding(change: Change, category: Category, value: str, layer: AllowlistLayer) -> Finding:
    shown = mask_url_passwords(value)
    if len(shown) > _MAX_VALUE:
        shown = shown[: _MAX_VALUE - 1] + "…"
    noun = NOUNS[category]
    return Finding(
        rule=RULE,
        severity="high",
        tier=TIER,
        file=change.file,
        line=change.line,
        address=change.address,
        message=(
            f"{noun} {shown} not in allowlists.{category} ({layer.source}): "
            "two reviewers must confirm it, or add it to that list."
        ),
    )
