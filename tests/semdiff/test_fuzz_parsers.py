"""Fuzzing: no input makes an analyzer or parser crash; bad input becomes a finding or a typed error."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config.repo import RepoConfig, parse_repo_config
from app.core.errors import ConfigError, UsageError
from app.core.models import FileDiff
from app.gate.owners import CodeOwnersMap
from app.gate.trailers import collect_run_info
from app.semdiff.dispatch import analyze_file
from app.sources.diff import files_from_diff
from tests.examples import examples

PATHS = [
    "infra/main.tf",
    "infra/main.tf.json",
    "prod.tfvars",
    "k8s/app.yaml",
    "catalog/plans.json",
    "tariffs/zones.csv",
    "migrations/001.sql",
    ".github/CODEOWNERS",
    ".github/workflows/ci.yml",
    ".github/countersign.yml",
    "policies/propose.cedar",
    "config/flags.json",
    "README.md",
    "bin/tool",
]
FUZZ = settings(
    max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=10), c, max_size=5),
    max_leaves=25,
)
structured = json_values.map(lambda v: json.dumps(v).encode())
texty = st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass"))
blobs = st.one_of(st.binary(max_size=400), texty, structured)


def check(changes: list) -> None:  # type: ignore[type-arg]
    for change in changes:
        json.dumps(change.model_dump(mode="json"))  # facts and fields always serialise


@FUZZ
@given(path=st.sampled_from(PATHS), base=blobs, head=blobs)
def test_every_analyzer_survives_anything(path: str, base: bytes, head: bytes) -> None:
    changes = analyze_file(FileDiff(path=path, base=base, head=head), RepoConfig())
    check(changes)
    # (Modified files may legitimately yield nothing: `null` and an empty YAML file are equal.)
    for change in changes:
        if change.facts.get("unparseable"):
            assert change.kind == "text"


@FUZZ
@given(path=st.sampled_from(PATHS), content=blobs, status=st.sampled_from(["added", "removed"]))
def test_added_and_removed_files(path: str, content: bytes, status: str) -> None:
    side = {"head": content} if status == "added" else {"base": content}
    changes = analyze_file(FileDiff(path=path, status=status, **side), RepoConfig())  # type: ignore[arg-type]
    check(changes)
    assert changes


@FUZZ
@given(st.text(max_size=600))
def test_repo_config_only_raises_config_error(text: str) -> None:
    error: ConfigError | None = None
    try:
        parse_repo_config(text)
    except ConfigError as caught:
        error = caught
    assert error is None or error.file == ".github/countersign.yml"


@FUZZ
@given(st.text(max_size=600))
def test_codeowners_never_raises(text: str) -> None:
    owners = CodeOwnersMap.parse(text)
    owners.owners_for("infra/main.tf")
    for problem in owners.problems:
        str(problem)


@FUZZ
@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=300)), max_size=4))
def test_trailers_never_raise(sources: list[tuple[str, str]]) -> None:
    info = collect_run_info(sources)
    assert info.run_id is None or len(info.run_id) <= 128


@FUZZ
@given(st.text(max_size=800))
def test_diff_reader_only_raises_usage_error(text: str) -> None:
    try:
        files = files_from_diff(text)
    except UsageError:
        return
    for f in files:
        check(analyze_file(f, RepoConfig()))
