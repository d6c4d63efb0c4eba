"""Validators for the vendored standards' schemas (SARIF 2.1.0, OSCAL 1.1.2 Assessment Results).

The schemas are kept byte for byte as published (their READMEs record where from and the SHA-256);
these helpers check that, then validate with jsonschema-rs (its regex engine reads OSCAL's
`\\p{L}` patterns as written), formats included.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema_rs

ROOT = Path(__file__).resolve().parent
SARIF = ROOT / "sarif" / "sarif-schema-2.1.0.json"
OSCAL_AR = ROOT / "oscal" / "oscal_assessment-results_schema.json"
SHA256 = {
    SARIF: "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e",
    OSCAL_AR: "d033da70154cf6625ae46a746199e88e58f2928b1387dfac051d381b92f41b0d",
}


@functools.cache
def validator(path: Path) -> Any:
    """A validator for the schema at `path`, after checking it is the vendored file unchanged."""
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256[path], f"{path} differs from the vendored one"
    return jsonschema_rs.validator_for(json.loads(data), validate_formats=True)


def errors(path: Path, document: Any) -> list[str]:
    """Every schema error of `document`, as `path: message` lines (empty when valid)."""
    return [
        f"{'/'.join(str(p) for p in error.instance_path)}: {error.message}"
        for error in validator(path).iter_errors(document)
    ]
