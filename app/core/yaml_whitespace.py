"""ruamel's scanner, taught that trailing tabs are white space (YAML 1.2 §6.6, `s-b-comment`).

ruamel (like PyYAML) skips only spaces between tokens in block context, so a line ending in a
tab (`kind: Service<TAB>`), or a tab before a trailing comment, stops it with "found character
'\\t' that cannot start any token". YAML 1.2 allows any white space (space or tab) there, and
Kubernetes' parser (go-yaml, behind kubectl and every GitOps controller) reads such files.
Tabs *before* content stay errors: as indentation YAML forbids them, and elsewhere in block
context the parsers disagree, so refusing them is the safe reading.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scanner import Scanner

__all__ = ["TrailingTabScanner", "reference_yaml"]

_END = "\0\r\n\x85\u2028\u2029"


class TrailingTabScanner(Scanner):
    """Skips a run of spaces and tabs that ends the line or precedes a comment."""

    def scan_to_next_token(self) -> Any:
        """ruamel's own loop (spaces, comments, line breaks), plus trailing tabs."""
        peek, forward = self.reader.peek, self.reader.forward
        if self.reader.index == 0 and peek() == "\ufeff":
            forward()
        while True:
            length = 0
            while peek(length) in " \t":
                length += 1
            if self.flow_level or peek(length) in _END + "#":
                forward(length)
            else:  # before content in block context only spaces are white space
                while peek() == " ":
                    forward()
            if peek() == "#":
                while peek() not in _END:
                    forward()
            if not self.scan_line_break():
                return None
            if not self.flow_level:
                self.allow_simple_key = True


def reference_yaml() -> YAML:
    """The pure-Python safe loader every reference reading uses, with trailing tabs allowed."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Scanner = TrailingTabScanner
    return yaml
