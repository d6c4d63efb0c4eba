"""JSON with comments (JSONC), read where the file's own tool allows it.

TypeScript's `tsconfig.json`, VS Code's `.vscode/*.json` and dev containers'
`devcontainer.json` are JSONC: `//` and `/* */` comments and trailing commas are valid there
(redash's `client/tsconfig.json`, kratos's `.vscode/launch.json`), while any other `.json` stays
strict, so a comment in a price table is still reported as invalid JSON. Comments become spaces
and newlines stay, so an error in what is left still names its line.
"""

from __future__ import annotations

import posixpath
import re

__all__ = ["is_jsonc_path", "strip_jsonc"]

_NAMES = re.compile(
    r"^(tsconfig|jsconfig)([.-][\w.-]+)?\.json$|^\.?devcontainer\.json$|^\.eslintrc\.json$"
    r"|^tslint\.json$|^api-extractor\.json$",
    re.IGNORECASE,
)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def is_jsonc_path(path: str) -> bool:
    """Whether the tool reading this file accepts comments and trailing commas."""
    name = posixpath.basename(path)
    folders = path.split("/")[:-1]
    return bool(_NAMES.match(name)) or ".vscode" in folders or ".devcontainer" in folders


def strip_jsonc(text: str) -> str:
    """`text` with comments blanked (line count kept) and trailing commas dropped."""
    out: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == '"':
            end = index + 1
            while end < length and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[index : end + 1])
            index = end + 1
        elif text.startswith("//", index):
            end = text.find("\n", index)
            end = length if end < 0 else end
            out.append(" " * (end - index))
            index = end
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            end = length if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[index:end]))
            index = end
        else:
            out.append(char)
            index += 1
    return _without_trailing_commas("".join(out))


def _without_trailing_commas(text: str) -> str:
    """Drop a comma before `}` or `]` outside strings (strings hold no unescaped quote)."""
    parts = re.split(r'("(?:\\.|[^"\\])*")', text)
    return "".join(p if i % 2 else _TRAILING_COMMA.sub(r"\1", p) for i, p in enumerate(parts))
