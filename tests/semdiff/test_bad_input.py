"""Bad input through the dispatcher: clear outcomes (a change, or `unparseable`), never a crash."""

from __future__ import annotations

import json

import pytest

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.core.report import Report
from app.gate.render.markdown import render_markdown
from app.semdiff.dispatch import analyze_file, analyze_files


def test_a_50_mb_single_line_file_is_a_text_change() -> None:
    base = b"x" * (50 * 1024 * 1024)
    head = base[:-1] + b"y"
    changes = analyze_file(FileDiff(path="data/blob.txt", base=base, head=head), RepoConfig())
    assert [(c.kind, c.op) for c in changes] == [("text", "update")]
    assert changes[0].facts["lines_added"] == 1


def test_a_50_mb_json_file_is_unparseable_not_a_crash() -> None:
    head = b'{"a": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    changes = analyze_file(
        FileDiff(path="config/big.json", status="added", head=head), RepoConfig()
    )
    assert changes[0].kind == "text"
    assert "larger than" in changes[0].facts["unparseable"]


def test_hostile_file_names_are_analyzed_and_rendered_escaped() -> None:
    names = [
        "../../etc/passwd",
        "dir/\x00nul.tf",
        "ctl\x07\x1b[31m.yaml",
        "new\nline|pipe`tick<script>.md",
        "ü/日本/" + "long" * 100 + ".json",
    ]
    files = [FileDiff(path=n, status="added", head=b"a: 1\n") for n in names]
    changes = analyze_files(files, RepoConfig())
    assert {c.file for c in changes} == set(names)  # nothing dropped, nothing renamed
    text = render_markdown(Report(changes=tuple(changes), tier=1))
    assert "<script>" not in text
    assert "\nline|pipe" not in text


@pytest.mark.slow  # GitHub's 3000-file cap, analysed in full
def test_a_3000_file_change_set_yields_every_file() -> None:
    files = [
        FileDiff(
            path=f"svc/{i}/values.yaml",
            base=f"replicas: {i}\n".encode(),
            head=f"replicas: {i + 1}\n".encode(),
        )
        for i in range(3000)
    ]
    changes = analyze_files(files, RepoConfig())
    assert len({c.file for c in changes}) == 3000
    json.dumps([c.model_dump(mode="json") for c in changes[:10]])


def test_csv_with_odd_quoting_is_unparseable_with_a_line() -> None:
    base = b"sku,unit_price\nA,1.00\nB,2.00\n"
    head = b'sku,unit_price\nA,1.00\n"B,2.00\n'
    changes = analyze_file(FileDiff(path="tariffs/z.csv", base=base, head=head), RepoConfig())
    assert all(isinstance(c, Change) for c in changes)
    assert changes[0].kind == "text" and changes[0].facts.get("unparseable")
