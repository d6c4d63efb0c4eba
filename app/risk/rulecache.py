"""A cache of parsed rule files, so a one-file `countersign analyze` does not re-read YAML.

Parsing the shipped pack's YAML (with its examples) costs about 0.4 s with ruamel's pure-Python
loader; compiling the CEL `when` expressions costs milliseconds. So we cache the *parsed* rule
items of each file, keyed by the SHA-256 of the file's bytes and the versions of the code that
reads them; everything after parsing (schema validation, CEL compilation, pack checks) still runs
on every load, so a cached item can never smuggle past a check a fresh one would fail.
The code half of the key hashes the source of the modules that turn bytes into items (this
module, the rule reader and the YAML loader) plus ruamel's version, so an edited checkout or an
upgraded parser never reads a stale entry; it deliberately avoids `importlib.metadata`, whose
look-ups scan `sys.path` and import the email parser (tens of ms of a one-file pre-flight).
Only files that loaded cleanly are stored. A missing, unreadable or corrupt cache entry is a miss;
a cache that cannot be written is skipped silently (it is an optimisation, never a dependency).

Where: `$COUNTERSIGN_CACHE_DIR`, else `$XDG_CACHE_HOME/countersign`, else `~/.cache/countersign`;
`COUNTERSIGN_CACHE_DIR=off` disables it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FORMAT = "countersign-rule-cache/1"


def cache_dir() -> Path | None:
    configured = os.environ.get("COUNTERSIGN_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "false") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "countersign"


@functools.cache
def _code_version() -> str:
    """What decides how bytes become items: the reading code itself, ruamel's version and this
    format (computed once per process)."""
    import ruamel.yaml

    from app.core import yamlsafe
    from app.risk import rules

    digest = hashlib.sha256(FORMAT.encode())
    for module in (__file__, rules.__file__, yamlsafe.__file__):
        try:
            digest.update(Path(module).read_bytes())
        except OSError:  # a zipped or frozen install: fall back to the names alone
            digest.update(module.encode())
    return f"{FORMAT};ruamel.yaml={ruamel.yaml.__version__};code={digest.hexdigest()[:16]}"


def _entry(data: bytes) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256(_code_version().encode() + b"\0" + data).hexdigest()
    return folder / "rules" / f"{key}.json"


def load_items(data: bytes) -> list[tuple[Any, int]] | None:
    """The parsed `(rule item, line)` pairs of a rule file seen before, or None."""
    path = _entry(data)
    if path is None:
        return None
    try:
        stored = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        return None
    items = stored.get("rules")
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("line"), int) and "item" in i for i in items
    ):
        return None
    return [(i["item"], i["line"]) for i in items]


def store_items(data: bytes, items: list[tuple[Any, int]]) -> None:
    """Remember the parsed items of a file that loaded cleanly (best effort)."""
    path = _entry(data)
    if path is None:
        return
    try:
        text = json.dumps(
            {"format": FORMAT, "rules": [{"item": i, "line": n} for i, n in items]},
            allow_nan=False,
        )
    except (TypeError, ValueError):
        return  # a value JSON cannot hold exactly (a YAML date, say): keep parsing this file
    if json.loads(text)["rules"] != [{"item": i, "line": n} for i, n in items]:
        return  # JSON would change a value (tuple, non-str key): never cache an approximation
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            f.write(text)
        os.replace(f.name, path)
    except OSError:
        return
