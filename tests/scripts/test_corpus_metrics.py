"""The corpus's precision numbers on synthetic findings, labels and commits (no repository)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from app.core.yamlsafe import load_yaml


def _load() -> ModuleType:
    """`scripts/` is not a package: load the module the way `scripts/corpus.py` imports it."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "corpus_metrics.py"
    spec = importlib.util.spec_from_file_location("corpus_metrics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_metrics"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


cm = _load()


def finding(n: int, rule: str = "terraform.delete", family: str = "terraform", repo: str = "o/r"):
    return cm.Observed(
        repo=repo,
        family=family,
        commit=f"{n:010x}",
        rule=rule,
        severity="high",
        file="main.tf",
        address=f"aws_s3_bucket.b{n}",
    )


def label(f, verdict: str = "right"):
    return cm.Label(f.repo, f.commit, f.rule, f.file, f.address, verdict, "because")


def commit(n: int, *, tier: int = 0, routine: bool = False, unparseable: tuple[str, ...] = ()):
    return cm.CommitRecord("o/r", f"{n:010x}", "subject", tier, routine, unparseable)


def test_precision_counts_only_labelled_findings_that_still_occur() -> None:
    found = [finding(i) for i in range(4)] + [finding(9, rule="k8s.privileged", family="k8s")]
    labels = [label(found[0]), label(found[1]), label(found[2], "wrong"), label(found[4], "wrong")]
    gone = label(finding(7), "wrong")  # its commit was replayed, the finding no longer occurs
    commits = [commit(i) for i in (0, 1, 2, 3, 7, 9)]
    metrics = cm.compute(found, [*labels, gone], commits, false_deletes=0, quota=10)
    assert metrics.rules["terraform.delete"].right == 2
    assert metrics.rules["terraform.delete"].wrong == 1
    assert metrics.rules["terraform.delete"].gone == 1
    assert metrics.rules["terraform.delete"].findings == 4
    assert metrics.rules["k8s.privileged"].precision == 0.0
    assert metrics.precision == pytest.approx(2 / 4)
    assert metrics.gone == [gone]
    assert [u.key for u in metrics.unlabelled] == [found[3].key]


def test_a_label_whose_commit_was_not_replayed_is_not_gone() -> None:
    labels = [label(finding(5))]
    metrics = cm.compute([], labels, [commit(1)], false_deletes=0)
    assert metrics.gone == []
    assert metrics.precision is None


def test_the_sample_fills_each_stratum_to_its_quota_from_a_stable_ranking() -> None:
    found = [finding(i) for i in range(30)] + [finding(99, rule="sql.destructive", family="sql")]
    wanted = cm.sample_needing_labels(found, set(), quota=5, seed="s")
    assert len([w for w in wanted if w.rule == "terraform.delete"]) == 5
    assert [w.rule for w in wanted].count("sql.destructive") == 1
    # labelling some of the sample shrinks it by as many, and the rest stays the same findings
    done = {w.key for w in wanted[:2]}
    again = cm.sample_needing_labels(found, done, quota=5, seed="s")
    assert [w.key for w in again] == [w.key for w in wanted[2:]]
    # a finding that disappears does not reshuffle the others
    fewer = [f for f in found if f.key != wanted[0].key]
    after = cm.sample_needing_labels(fewer, set(), quota=5, seed="s")
    assert {w.key for w in wanted[1:]} <= {w.key for w in after}
    assert cm.sample_needing_labels(found, set(), quota=5, seed="other") != wanted


def test_failures_name_each_target_missed() -> None:
    found = [finding(i) for i in range(10)]
    labels = [label(f, "right" if i < 7 else "wrong") for i, f in enumerate(found)]
    commits = [commit(i, tier=2, routine=i < 2) for i in range(10)]
    commits += [commit(20 + i, routine=True) for i in range(8)]
    commits += [commit(40, unparseable=("a.yaml: bad",))]
    metrics = cm.compute(found, labels, commits, false_deletes=1)
    missed = cm.failures(metrics)
    assert "precision 70.0% < 90%" in missed
    assert "terraform.delete: precision 70.0% < 80%" in missed
    assert "tier 2+ on routine commits 20.0% > 10%" in missed
    assert "1 false deletes" in missed
    assert "unparseable commits 5.3% > 2%" in missed
    assert len(missed) == 5


def test_all_targets_met_and_small_rules_are_not_held_to_the_rule_bar() -> None:
    found = [finding(i) for i in range(20)] + [finding(50 + i, rule="k8s.delete") for i in range(3)]
    labels = [label(f) for f in found[:20]] + [label(f, "wrong") for f in found[20:21]]
    labels += [label(f) for f in found[21:]]
    metrics = cm.compute(found, labels, [commit(i) for i in range(60)], false_deletes=0)
    assert metrics.rules["k8s.delete"].precision == pytest.approx(2 / 3)  # below 80 %, 3 labels
    assert cm.failures(metrics) == []


def test_unlabelled_sampled_findings_fail_the_run() -> None:
    metrics = cm.compute([finding(1)], [], [commit(1)], false_deletes=0)
    assert cm.failures(metrics)[0] == "1 sampled high/critical findings are unlabelled"


@pytest.mark.parametrize(
    ("subject", "routine"),
    [
        ("chore(release): version 5.2.0 [skip ci]", True),
        ("chore(deps): update helm release grafana to v8.5.1", True),
        ("fix(deps): update module github.com/x/y to v1.4.0", True),
        ("Bump actions/checkout from 4 to 5", True),
        ("[argo-cd] bump chart version", True),
        ("v1.17.2", True),
        ("fix: Update GitHub Actions and pre-commit hook versions (#404)", True),
        ("feat!: Upgrade AWS provider to 6.0", False),
        ("fix: update the bucket policy", False),
        ("feat: Support bucket metadata config (#351)", False),
        ("chore: Update token prices (01-09-2025)", False),
    ],
)
def test_routine_by_subject(subject: str, routine: bool) -> None:
    assert cm.is_routine(subject, [("main.tf", "+", 'resource "x" "y" {}')]) is routine


def test_routine_by_a_version_only_diff() -> None:
    bump = [
        ("Chart.yaml", "-", "version: 1.2.3"),
        ("Chart.yaml", "+", "version: 1.2.4"),
        ("values.yaml", "-", "  tag: sha256:" + "a" * 64),
        ("values.yaml", "+", "  tag: sha256:" + "b" * 64),
        ("CHANGELOG.md", "+", "## 1.2.4 - fixed things"),
    ]
    assert cm.is_routine("Grafana chart", bump)
    more = [*bump, ("values.yaml", "+", "  hostNetwork: true")]
    assert not cm.is_routine("Grafana chart", more)
    assert not cm.is_routine("docs", [("README.md", "+", "1.2.3")])


def test_labels_parse_and_reject_what_cannot_be_counted() -> None:
    text = b"""labels:
  - {repo: o/r, commit: '0000000001', rule: terraform.delete, file: main.tf,
     address: aws_s3_bucket.b1, verdict: wrong, reason: renamed, not deleted}
"""
    (parsed,) = cm.parse_labels(load_yaml(text, "labels.yaml"))
    assert parsed.key == finding(1).key
    assert parsed.verdict == "wrong"
    with pytest.raises(ValueError, match=r"labels\[0\]: verdict must be right or wrong"):
        cm.parse_labels({"labels": [{**parsed.__dict__, "verdict": "maybe"}]})
    with pytest.raises(ValueError, match=r"labels\[0\]: missing reason"):
        cm.parse_labels({"labels": [{**parsed.__dict__, "reason": ""}]})
    with pytest.raises(ValueError, match="a second label"):
        cm.parse_labels({"labels": [parsed.__dict__, parsed.__dict__]})


def test_stubs_round_trip_into_labels_once_filled_in() -> None:
    text = cm.stubs([finding(3)]).replace("verdict: ", "verdict: right", 1)
    text = text.replace("reason: ", "reason: a real delete", 1)
    (parsed,) = cm.parse_labels(load_yaml(text.encode(), "stubs.yaml"))
    assert parsed.key == finding(3).key


def test_table_lists_rules_by_findings_with_a_total() -> None:
    found = [finding(1), finding(2), finding(3, rule="k8s.delete")]
    metrics = cm.compute(found, [label(found[0])], [commit(1)], false_deletes=0)
    rows = cm.table(metrics)
    assert rows[2].startswith("| terraform.delete | 2 | 1 | 1 | 0 | 100.0% |")
    assert rows[-1] == "| **all** | 3 | 1 | 1 | 0 | 100.0% | 0 |"
