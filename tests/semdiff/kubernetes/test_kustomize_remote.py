"""A remote base whose URL changes only by version is an update of one entry, not a removal (#24).

Faithful re-creations of fluxcd/flux2-multi-tenancy's kyverno bumps (Apache-2.0):
0d9ab1434f (`…/kyverno/v1.5.4/definitions/release/install.yaml` → `v1.5.5`), 01484188d7 (v1.5.5
→ v1.6.0-rc2 with the path moved to `config/install.yaml`) and 621b6dd3ed (`config/` →
`config/release/`).
"""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")
KYVERNO = "https://raw.githubusercontent.com/kyverno/kyverno/%s/install.yaml"
PATH = "infrastructure/kyverno/kustomization.yaml"


def kustomization(before: list[str], after: list[str]) -> FileDiff:
    def side(urls: list[str]) -> bytes:
        return ("resources:\n" + "".join(f"  - {u}\n" for u in urls)).encode()

    return FileDiff(path=PATH, base=side(before), head=side(after))


def high(file: FileDiff) -> set[tuple[str, str]]:
    findings = evaluate_rules(PACK, analyze_files([file], RepoConfig()), is_agent=True, author="x")
    return {(f.rule, f.address or "") for f in findings if f.severity in ("high", "critical")}


def test_a_version_segment_bump_is_one_update() -> None:
    file = kustomization(
        [KYVERNO % "v1.5.4/definitions/release"], [KYVERNO % "v1.5.5/definitions/release"]
    )
    (change,) = analyze_files([file], RepoConfig())
    assert change.op == "update"
    assert change.address == f"resources[{KYVERNO % '*/definitions/release'}]"
    assert [(f.before, f.after) for f in change.fields] == [
        (KYVERNO % "v1.5.4/definitions/release", KYVERNO % "v1.5.5/definitions/release")
    ]
    assert high(file) == set()


def test_a_bump_that_moves_the_path_in_the_same_repository_is_one_update() -> None:
    for before, after in (
        ("v1.5.5/definitions/release", "v1.6.0-rc2/config"),
        ("v1.6.0-rc2/config", "v1.6.0-rc2/config/release"),
    ):
        file = kustomization(["rbac.yaml", KYVERNO % before], ["rbac.yaml", KYVERNO % after])
        (change,) = analyze_files([file], RepoConfig())
        assert change.op == "update", (before, after)
        assert [(f.before, f.after) for f in change.fields] == [(KYVERNO % before, KYVERNO % after)]
        assert high(file) == set()


def test_another_file_of_the_same_repository_is_a_removal() -> None:
    # `//monitoring` → `//logging`: what the old entry built leaves the cluster.
    url = "https://github.com/example/platform//%s?ref=v1.0.0"
    file = kustomization([url % "monitoring"], [url % "logging"])
    assert (
        "kustomize.resource-removed",
        f"resources[{url % 'monitoring'}]".replace("?ref=v1.0.0", ""),
    ) in high(file)
    # Two removed and one added from the same repository: which one stayed is unknown.
    both = kustomization([KYVERNO % "v1.5.4/a", KYVERNO % "v1.5.4/b"], [KYVERNO % "v1.6.0/c"])
    assert sorted(c.op for c in analyze_files([both], RepoConfig())) == [
        "create",
        "delete",
        "delete",
    ]


def test_removing_a_remote_base_for_good_stays_high() -> None:
    file = kustomization([KYVERNO % "v1.5.5/definitions/release", "sync.yaml"], ["sync.yaml"])
    assert high(file) == {
        ("kustomize.resource-removed", f"resources[{KYVERNO % '*/definitions/release'}]")
    }
