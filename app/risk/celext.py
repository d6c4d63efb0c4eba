"""The CEL engine without its command-line front end.

The `cel` package's `__init__` imports its interactive CLI, which pulls in prompt_toolkit: about
0.2 s of a 0.3 s budget for `countersign analyze`, spent on code a rule never runs. We load the
package's compiled extension module (`cel.cel`: `compile`, `Context`, `Program`) directly and
register it under its own name, so a later `import cel` elsewhere reuses it instead of
initialising the extension twice.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_cel_extension() -> ModuleType:
    """The `cel.cel` extension module, loaded once, without running `cel/__init__.py`."""
    loaded = sys.modules.get("cel.cel")
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("cel")
    if package is None or not package.submodule_search_locations:
        raise ImportError("the `common-expression-language` package (module `cel`) is missing")
    for folder in package.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if path.is_file():
                spec = importlib.util.spec_from_file_location("cel.cel", path)
                if spec is None or spec.loader is None:
                    continue
                module = importlib.util.module_from_spec(spec)
                sys.modules["cel.cel"] = module
                spec.loader.exec_module(module)
                return module
    raise ImportError("the `cel` package has no compiled extension for this Python")
