"""The glob dialects, each named in `app.core.globs` and used by the file its users write."""

from __future__ import annotations

import pytest

from app.config.agents import Agent
from app.config.allowlists import allows
from app.config.repo import PathRule, RepoConfig, TerraformConfig
from app.core.globs import dir_spec, file_spec, gitignore_spec, glob_regex, repo_glob_match


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("catalog/**.json", "catalog/a/b/c.json", True),
        ("catalog/**.json", "catalog/c.json", True),
        ("catalog/**.json", "other/catalog.json", False),
        ("catalog/**/*.json", "catalog/a/c.json", True),
        ("*.csv", "deep/prices.csv", True),
        ("/prices/*.csv", "prices/a/b.csv", False),
    ],
)
def test_file_spec_and_repo_config_paths_agree(glob: str, path: str, expected: bool) -> None:
    """`paths:` in `.github/countersign.yml` is `file_spec`, one glob per entry."""
    assert file_spec([glob]).match_file(path) is expected
    config = RepoConfig(paths={glob: PathRule(kind="pricing")})
    assert (config.rule_for(path).kind == "pricing") is expected


def test_gitignore_spec_is_git_as_is() -> None:
    """No `**` rewriting: `dir/**` is everything below `dir`, as git reads it."""
    spec = gitignore_spec(["/policies/**", "**/migrations/0*.py"])
    assert spec.match_file("policies/a/b.cedar")
    assert spec.match_file("app/migrations/0001_init.py")
    assert not spec.match_file("x/policies/a.cedar")


@pytest.mark.parametrize(
    ("dirs", "directory", "expected"),
    [
        (("modules/*",), "modules/vpc", True),
        (("modules/*",), "x/modules/vpc", False),
        (("/infra/prod/",), "infra/prod", True),
        (("infra",), "infra/prod", True),
        (("infra/*",), "infra/prod/eu", False),
        ((), "anything", True),
    ],
)
def test_dir_spec_and_terraform_dirs_agree(
    dirs: tuple[str, ...], directory: str, expected: bool
) -> None:
    """`terraform.dirs` is anchored at the root (a leading slash changes nothing), `*` is one
    folder level."""
    assert TerraformConfig(dirs=dirs).covers(directory) is expected
    if dirs:
        assert dir_spec(dirs).match_file(directory) is expected


@pytest.mark.parametrize(
    ("globs", "repo", "expected"),
    [
        (("acme/*",), "acme/web", True),
        (("acme/*",), "Acme/Web", True),
        (("*",), "acme/web", True),
        (("acme/web-[ab]",), "acme/web-b", True),
        (("acme/web-[ab]",), "acme/web-c", False),
        (("acme/*",), "other/web", False),
    ],
)
def test_registry_repos_are_fnmatch_where_star_crosses_the_slash(
    globs: tuple[str, ...], repo: str, expected: bool
) -> None:
    assert repo_glob_match(repo, globs) is expected
    assert Agent(id="bot", logins=("bot[bot]",), repos=globs).may_touch_repo(repo) is expected


def test_allowlist_star_stays_within_one_segment_unlike_rule_addresses() -> None:
    """The same `glob_regex`, told by its caller what `*` may cross."""
    assert glob_regex(["aws_*"]).match("aws_s3/bucket")
    assert not glob_regex(["aws_*"], star="[^/]*").match("aws_s3/bucket")
    assert allows("hosts", "api.example.com", ["*.example.com"])
    assert not allows("hosts", "api.example.com/x", ["*.example.com"])
    assert allows("regions", "EU-West-1", ["eu-*"]), "allowlists ignore case"
