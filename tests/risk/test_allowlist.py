"""The allowlist stage: `allowlist.destination` for introduced values outside the lists."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.config.allowlists import Allowlists, effective_layers
from app.core.models import Change, FileDiff
from app.core.report import Finding
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.risk.allowlist import RULE, allowlist_findings
from app.semdiff.terraform.plan.merge import read_plan

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "destinations"
GATE = Gatekeeper.load(ROOT / "risk_rules", ROOT / "policies")

REPO_LISTS = """\
allowlists:
  regions: ["eu-*"]
  accounts: ["123456789012"]
  registries: [ghcr.io/acme]
  destinations: ["*.acme.com", events.pagerduty.com]
  principals: ["123456789012"]
  export_buckets: ["acme-*"]
"""


def snapshot(
    files: tuple[FileDiff, ...], config: str | None, author: str = "infra-bot[bot]"
) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repo="acme/platform",
        number=12,
        author=author,
        author_is_bot=author.endswith("[bot]"),
        body="Route payment alerts to the vendor bridge\n\nAgent-Run-Id: run_alerts_3",
        head_sha="c0ffee0000000000000000000000000000000001",
        files=files,
        config_text=config.encode() if config else None,
    )


def alerts_pr() -> tuple[FileDiff, ...]:
    return (
        FileDiff(
            path="infra/payments/alerts.tf",
            base=(FIXTURES / "alerts_base.tf").read_bytes(),
            head=(FIXTURES / "alerts_head.tf").read_bytes(),
        ),
    )


def allowlist_messages(findings: tuple[Finding, ...] | list[Finding]) -> list[str]:
    return [f.message.split("): ", 1)[0] + ")" for f in findings if f.rule == RULE]


def test_an_agent_change_outside_the_repository_lists_is_tier_2_and_names_each_value() -> None:
    report = evaluate_snapshot(snapshot(alerts_pr(), REPO_LISTS), GATE).report
    source = "(.github/countersign.yml)"
    assert allowlist_messages(report.findings) == [
        f"region us-east-1 not in allowlists.regions {source}",
        f"destination mailhook.example.net not in allowlists.destinations {source}",
        f"destination bridge.incidents.example.org not in allowlists.destinations {source}",
        f"region us-east-1 not in allowlists.regions {source}",
        f"account 444455556666 not in allowlists.accounts {source}",
        f"principal arn:aws:iam::444455556666:role/vendor-reader not in allowlists.principals "
        f"{source}",
        f"account 777788889999 not in allowlists.accounts {source}",
        f"principal arn:aws:iam::777788889999:root not in allowlists.principals {source}",
        f"account 777788889999 not in allowlists.accounts {source}",
        f"export bucket partner-audit-drop not in allowlists.export_buckets {source}",
        f"registry quay.io/vendor/alert-relay not in allowlists.registries {source}",
    ]
    found = [f for f in report.findings if f.rule == RULE]
    assert {(f.severity, f.tier) for f in found} == {("high", 2)}
    bridge = next(f for f in found if "bridge.incidents" in f.message)
    assert bridge.address == "aws_sns_topic_subscription.vendor_bridge"
    assert bridge.file == "infra/payments/alerts.tf"
    assert bridge.line is not None and bridge.line > 1
    assert report.tier == 2


def test_no_lists_no_allowlist_findings() -> None:
    report = evaluate_snapshot(snapshot(alerts_pr(), None), GATE).report
    assert allowlist_messages(report.findings) == []
    # the facts are there all the same, for rules and reviewers
    assert any("destinations" in c.facts for c in report.changes)


def test_values_inside_the_lists_raise_nothing() -> None:
    wide = REPO_LISTS.replace('"eu-*"', '"eu-*", us-east-1').replace(
        '"123456789012"]\n  registries',
        '"123456789012", "444455556666", "777788889999"]\n  registries',
    )
    wide = wide.replace("[ghcr.io/acme]", "[ghcr.io/acme, quay.io/vendor]")
    wide = wide.replace(
        "events.pagerduty.com]", "events.pagerduty.com, '*.example.net', '*.example.org']"
    )
    wide = wide.replace('principals: ["123456789012"]', 'principals: ["*"]')
    wide = wide.replace('["acme-*"]', '["acme-*", partner-*]')
    report = evaluate_snapshot(snapshot(alerts_pr(), wide), GATE).report
    assert allowlist_messages(report.findings) == []


def test_an_agent_list_narrows_the_repository_list(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    registry = policies / "agents.yaml"
    registry.write_text(
        registry.read_text().replace(
            "    run_signing_key: infra-bot-runs-2026",
            "    run_signing_key: infra-bot-runs-2026\n"
            "    allowlists:\n"
            "      destinations: [events.pagerduty.com]\n",
        )
    )
    gate = Gatekeeper.load(ROOT / "risk_rules", policies)
    config = "allowlists:\n  destinations: ['*.example.org', events.pagerduty.com]\n"
    report = evaluate_snapshot(snapshot(alerts_pr(), config), gate).report
    agent_source = "(agent infra-bot in policies/agents.yaml)"
    assert allowlist_messages(report.findings) == [
        "destination mailhook.example.net not in allowlists.destinations (.github/countersign.yml)",
        f"destination bridge.incidents.example.org not in allowlists.destinations {agent_source}",
    ]
    # A human's PR is held to the repository's lists only.
    human = evaluate_snapshot(snapshot(alerts_pr(), config, author="bob"), gate).report
    assert allowlist_messages(human.findings) == [
        "destination mailhook.example.net not in allowlists.destinations (.github/countersign.yml)"
    ]


def test_the_stage_reads_only_facts_it_understands() -> None:
    odd = Change(
        file="x.yaml",
        kind="data",
        address="x",
        op="update",
        facts={"destinations": {"regions": "us-east-1", "colours": ["red"]}},
    )
    layers = effective_layers(Allowlists(regions=()))
    assert allowlist_findings([odd], layers) == []


def test_a_webhook_outside_the_list_lifts_a_config_change_to_tier_2() -> None:
    files = (
        FileDiff(
            path="monitoring/alertmanager.yml",
            base=(FIXTURES / "alertmanager_base.yml").read_bytes(),
            head=(FIXTURES / "alertmanager_head.yml").read_bytes(),
        ),
    )
    plain = evaluate_snapshot(snapshot(files, None), GATE).report
    assert plain.tier == 1
    listed = evaluate_snapshot(snapshot(files, REPO_LISTS), GATE).report
    assert listed.tier == 2
    assert allowlist_messages(listed.findings) == [
        "destination ingest.partner-monitoring.example.com not in allowlists.destinations "
        "(.github/countersign.yml)",
        "destination partner-support.example.com not in allowlists.destinations "
        "(.github/countersign.yml)",
    ]


def test_plan_after_values_are_held_to_the_lists() -> None:
    source = b'module "audit" {\n  source = "./modules/audit"\n}\n'
    files = (
        FileDiff(
            path="infra/audit/main.tf",
            base=source,
            head=source.replace(b"}\n", b'  trail = "org"\n}\n'),
        ),
    )
    plan = read_plan((FIXTURES / "audit_export_plan.json").read_bytes(), "infra/audit", "plan")
    snap = snapshot(files, REPO_LISTS).model_copy(update={"plans": (plan,)})
    report = evaluate_snapshot(snap, GATE).report
    source_file = "(.github/countersign.yml)"
    assert allowlist_messages(report.findings) == [
        f"account 555566667777 not in allowlists.accounts {source_file}",
        f"principal arn:aws:iam::555566667777:role/ingest not in allowlists.principals "
        f"{source_file}",
        f"region us-west-2 not in allowlists.regions {source_file}",
        f"export bucket trail-archive-7731 not in allowlists.export_buckets {source_file}",
    ]
    trail = next(f for f in report.findings if "trail-archive" in f.message)
    assert trail.address == "module.audit.aws_cloudtrail.org"
    assert trail.file == "infra/audit/plan.json"


def test_messages_name_hosts_never_the_secrets_in_urls() -> None:
    config = b"notify:\n  slack: https://hooks.slack.com/services/T0001/B0001/s3cr3tW3bh00kT0k3n\n"
    head = config + b"  sink: https://relay:hunter2@logs.example.com/ingest?key=abc123\n"
    files = (FileDiff(path="config/notify.yaml", base=config, head=head),)
    report = evaluate_snapshot(snapshot(files, "allowlists: {destinations: []}\n"), GATE).report
    found = [f for f in report.findings if f.rule == RULE]
    assert [f.message.split(" (", 1)[0] for f in found] == [
        "destination logs.example.com not in allowlists.destinations"
    ]
    text = report.model_dump_json()
    assert "hunter2" not in text
    assert "abc123" not in found[0].message


def test_a_dockerfile_base_image_outside_the_registries() -> None:
    files = (
        FileDiff(
            path="services/api/Dockerfile",
            base=(FIXTURES / "api_base.Dockerfile").read_bytes(),
            head=(FIXTURES / "api_head.Dockerfile").read_bytes(),
        ),
    )
    config = "allowlists:\n  registries: [ghcr.io/acme, quay.io/vendor]\n"
    report = evaluate_snapshot(snapshot(files, config), GATE).report
    assert allowlist_messages(report.findings) == [
        "registry registry.evil.example/base/python not in allowlists.registries "
        "(.github/countersign.yml)"
    ]
    assert report.tier == 2
