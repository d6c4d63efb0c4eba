"""JSONC files (tsconfig, VS Code, dev containers) are read with their comments (#24).

Re-creations, trimmed, of getredash/redash 24b70fed9e `client/tsconfig.json` (BSD-2-Clause) and
ory/kratos 2b8bf02b6a `.vscode/launch.json` (Apache-2.0).
"""

from __future__ import annotations

import pytest

from app.config.repo import RepoConfig
from app.core.errors import UnparseableError
from app.core.models import FileDiff
from app.semdiff.common.documents import read_documents
from app.semdiff.common.jsonc import is_jsonc_path, strip_jsonc
from app.semdiff.dispatch import analyze_files

TSCONFIG = b"""{
  "compilerOptions": {
    // Target latest version of ECMAScript.
    "target": "%s",
    /* Search under node_modules for non-relative imports. */
    "moduleResolution": "node",
    "paths": {"@/*": ["./app/*"]}, // "http://not-a-comment"
  },
  "include": ["app/**/*", "// kept"],
}
"""


@pytest.mark.parametrize(
    ("path", "jsonc"),
    [
        ("client/tsconfig.json", True),
        ("tsconfig.build.json", True),
        (".vscode/launch.json", True),
        (".devcontainer/devcontainer.json", True),
        ("prices/model_prices.json", False),
        ("package.json", False),
    ],
)
def test_jsonc_paths(path: str, jsonc: bool) -> None:
    assert is_jsonc_path(path) is jsonc


def test_comments_and_trailing_commas_are_read_strings_kept() -> None:
    (doc,) = read_documents(TSCONFIG % b"es2019", "json", "client/tsconfig.json")
    assert doc.value["compilerOptions"]["target"] == "es2019"
    assert doc.value["include"] == ["app/**/*", "// kept"]
    assert strip_jsonc('{"a": "x /* y */ z"}') == '{"a": "x /* y */ z"}'


def test_a_tsconfig_edit_is_a_data_change_not_unparseable() -> None:
    diff = FileDiff(
        path="client/tsconfig.json", base=TSCONFIG % b"es2019", head=TSCONFIG % b"es2022"
    )
    changes = analyze_files([diff], RepoConfig())
    assert [c.unparseable for c in changes] == [None]
    assert [(f.path, f.before, f.after) for c in changes for f in c.fields] == [
        ("compilerOptions.target", "es2019", "es2022")
    ]


def test_strict_json_stays_strict() -> None:
    with pytest.raises(UnparseableError, match=r"plans\.json:3: invalid JSON"):
        read_documents(TSCONFIG % b"es2019", "json", "prices/plans.json")
