"""The one YAML loader: alias bombs refused, tags refused (never run), YAML 1.2, line look-ups."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import UnparseableError
from app.core.text import decode_text
from app.core.yamlsafe import MAX_DEPTH, line_of, load_yaml, load_yaml_documents, node_at
from app.semdiff.common.documents import read_documents


def laughs(levels: int, width: int = 9) -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_with_the_line() -> None:
    with pytest.raises(UnparseableError, match="alias bomb") as info:
        load_yaml_documents(laughs(10), "bomb.yaml")
    assert info.value.file == "bomb.yaml"
    assert info.value.line is not None


def test_small_aliases_and_merge_keys_still_load() -> None:
    doc = load_yaml(laughs(3) + "defaults: &d {retries: 3}\njob:\n  <<: *d\n  name: x\n")
    assert doc["a2"][0][0] == ["lol"] * 9
    assert doc["job"] == {"retries": 3, "name": "x"}


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(UnparseableError, match="recursive"):
        load_yaml_documents("a: &a [1, *a]\n", "loop.yaml")


def test_deep_nesting_is_refused() -> None:
    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    with pytest.raises(UnparseableError, match=r"deeper|deeply"):
        load_yaml_documents(deep, "deep.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "bucket: !Ref OrdersBucket\n",
        "arn: !GetAtt [OrdersBucket, Arn]\n",
        "x: !!python/name:os.system\n",
        "x: !custom {a: 1}\n",
    ],
)
def test_unknown_tags_are_refused(text: str) -> None:
    with pytest.raises(UnparseableError, match="constructor for the tag") as info:
        load_yaml_documents(text, "template.yaml")
    assert info.value.line == 1


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"x: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(UnparseableError):
        load_yaml_documents(text, "evil.yaml")
    assert not marker.exists()


def test_yaml_1_2_scalars() -> None:
    doc = load_yaml(
        "a: yes\nb: no\nc: on\nd: off\ne: 0755\nf: 0o17\ng: ~\nh: true\ni: 1e3\nj: 0x1F\nk: '1'\n"
    )
    assert doc == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "off",
        "e": 755,
        "f": 15,
        "g": None,
        "h": True,
        "i": 1000.0,
        "j": 31,
        "k": "1",
    }


def test_workflow_on_key_is_the_string_on() -> None:
    assert list(load_yaml("on: push\n")) == ["on"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\na: 2\n", 2),
        ("a:\n  b: 1\n c: 2\n", 3),
        ("a:\n\tb: 1\n", 2),
        ("a: [1, 2\n", 2),
    ],
    ids=["duplicate-key", "indentation", "tab", "unclosed"],
)
def test_syntax_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(UnparseableError, match="invalid YAML") as info:
        load_yaml_documents(text, "x.yaml")
    assert info.value.line == line
    assert str(info.value).startswith(f"x.yaml:{line}: ")


def test_encoding_errors() -> None:
    with pytest.raises(UnparseableError, match="UTF-8") as info:
        load_yaml_documents(b"name: caf\xe9\n", "latin1.yaml")
    assert info.value.hint == "save the file as UTF-8"
    with pytest.raises(UnparseableError, match="NUL"):
        load_yaml_documents(b"a: 1\x00\n", "bin.yaml")
    assert load_yaml(b"\xef\xbb\xbfa: 1\n") == {"a": 1}, "a UTF-8 BOM is fine"


def test_documents_lines_and_empty_streams() -> None:
    docs = load_yaml_documents("# header\n---\na: 1\n---\n---\nb:\n  - x\n  - y\n", "m.yaml")
    assert [d.value for d in docs] == [{"a": 1}, None, {"b": ["x", "y"]}], "explicit empty doc"
    assert [d.line for d in docs] == [3, 5, 6]
    assert load_yaml_documents("", "e.yaml") == []
    assert load_yaml("# only a comment\n") is None
    with pytest.raises(UnparseableError, match="several") as info:
        load_yaml("a: 1\n---\nb: 2\n", "one.yaml")
    assert info.value.line == 3


def test_line_of() -> None:
    text = "spec:\n  containers:\n    - name: web\n      image: nginx\n    - name: side\n"
    [doc] = load_yaml_documents(text)
    assert line_of(doc.node, ()) == 1
    assert line_of(doc.node, ("spec", "containers")) == 3
    assert line_of(doc.node, ("spec", "containers", 1)) == 5
    assert line_of(doc.node, ("spec", "containers", 0, "image")) == 4
    assert line_of(doc.node, ("spec", "missing")) is None
    assert line_of(doc.node, ("spec", "containers", 7)) is None
    assert line_of(doc.node, ("spec", "containers", "name")) is None
    assert line_of(None, ("a",)) is None


def test_line_of_a_key_is_where_a_finding_points() -> None:
    """The same walk, asked for the key's line (the analyzers' findings) or the value's."""
    text = "spec:\n  containers:\n    - name: web\n      image: nginx\n    - name: side\n"
    [doc] = load_yaml_documents(text)
    assert line_of(doc.node, ("spec", "containers"), key=True) == 2
    assert line_of(doc.node, ("spec", "containers")) == 3
    assert line_of(doc.node, ("spec", "containers", 1), key=True) == 5, "an item has no key"
    assert line_of(doc.node, (), key=True) == 1
    assert line_of(doc.node, ("spec", "missing"), key=True) is None
    assert node_at(doc.node, ("spec", "containers", 0, "image")) is not None
    assert node_at(doc.node, ("spec", "image")) is None


def test_every_reader_decodes_through_one_function() -> None:
    """YAML, JSON/CSV documents and the other analyzers refuse bad bytes with one message."""
    for data, message in ((b"name: caf\xe9\n", "not valid UTF-8 at byte 9"), (b"a\x00", "NUL")):
        with pytest.raises(UnparseableError, match=message) as direct:
            decode_text(data, "f.yaml")
        with pytest.raises(UnparseableError) as via_yaml:
            load_yaml_documents(data, "f.yaml")
        with pytest.raises(UnparseableError) as via_documents:
            read_documents(data, "json", "f.json")
        assert direct.value.message == via_yaml.value.message == via_documents.value.message
    assert decode_text(b"\xef\xbb\xbfa", "f") == "a"


def test_mkdocs_env_tags_are_read_as_written() -> None:
    """mkdocs.yml's `!ENV` (issue #24): the text written, never an environment lookup."""
    text = (
        "site_name: Demo\nextra:\n  analytics:\n    property: !ENV GOOGLE_ANALYTICS_KEY\n"
        "  version: !ENV [DOCS_VERSION, 'latest']\ndocs_dir: !relative $config_dir/docs\n"
    )
    assert load_yaml(text, "mkdocs.yml") == {
        "site_name": "Demo",
        "extra": {
            "analytics": {"property": "!ENV GOOGLE_ANALYTICS_KEY"},
            "version": "!ENV [DOCS_VERSION, latest]",
        },
        "docs_dir": "!relative $config_dir/docs",
    }
    with pytest.raises(UnparseableError, match="on a mapping") as info:
        load_yaml("a: !ENV {x: 1}\n", "mkdocs.yml")
    assert info.value.line == 1


# argoproj/argocd-example-apps guestbook/guestbook-ui-svc.yaml at 8c06d23268 (Apache-2.0): every
# line ends in a tab. YAML 1.2 allows trailing white space and kubectl reads the file.
_TRAILING_TABS = (
    "apiVersion: v1\t\nkind: Service\t\nmetadata:\t\n  name: guestbook-ui\t\nspec:\t\n"
    "  ports:\t\n  - port: 80\t\n    targetPort: 80\t\n  selector:\t\n    app: guestbook-ui\t\n"
    "  type: LoadBalancer"
)


def test_trailing_tabs_are_white_space() -> None:
    docs = load_yaml_documents(_TRAILING_TABS, "guestbook-ui-svc.yaml")
    assert docs[0].value["spec"]["type"] == "LoadBalancer"
    assert docs[0].value["metadata"] == {"name": "guestbook-ui"}
    assert load_yaml("a: 1 \t # note\nb:\t# x\n  - 1\t\n\t\nc: 'q'\t\n") == {
        "a": 1,
        "b": [1],
        "c": "q",
    }
    assert load_yaml("a: |\n  x\t\n  y\n") == {"a": "x\t\ny\n"}, "a block scalar keeps its tabs"


@pytest.mark.parametrize("text", ["a:\n\tb: 1\n", "a: 1\n\tb: 2\n"])
def test_tabs_before_content_stay_errors(text: str) -> None:
    with pytest.raises(UnparseableError, match="invalid YAML"):
        load_yaml_documents(text, "x.yaml")
