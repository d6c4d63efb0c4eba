"""Decoding a file's bytes to text: the one UTF-8 rule every reader (YAML, JSON, HCL, SQL,
CODEOWNERS, price books) applies, so a binary or mis-encoded file fails the same way everywhere."""

from __future__ import annotations

from app.core.errors import UnparseableError

__all__ = ["decode_text"]


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text of a blob (a leading BOM dropped), or UnparseableError naming the file for
    binary content (a NUL byte) or invalid UTF-8 (the byte offset and the fix)."""
    if b"\x00" in data:
        raise UnparseableError("binary content (NUL byte)", file=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnparseableError(
            f"not valid UTF-8 at byte {exc.start}", file=source, hint="save the file as UTF-8"
        ) from exc
