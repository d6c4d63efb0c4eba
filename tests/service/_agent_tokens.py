"""A copy of the shipped policies whose agents declare pre-flight API tokens (by hash)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


def sha256_ref(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def policies_with_tokens(target: Path, lines: dict[str, str]) -> Path:
    """Copy policies/ to `target`, adding `lines` (YAML, e.g. `api_tokens: [...]`) to agents."""
    shutil.copytree(SHIPPED, target)
    registry = target / "agents.yaml"
    text = registry.read_text()
    for agent_id, extra in lines.items():
        anchor = f"  - id: {agent_id}\n"
        assert anchor in text, agent_id
        text = text.replace(
            anchor, anchor + "".join(f"    {line}\n" for line in extra.splitlines())
        )
    registry.write_text(text)
    return target
