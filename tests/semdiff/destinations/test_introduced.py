"""`facts.destinations`: what each change introduces, read from realistic files of every kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.allowlists import CATEGORIES
from app.config.repo import RepoConfig
from app.core.models import Change, FieldChange, FileDiff
from app.semdiff.destinations import values as dv
from app.semdiff.destinations.introduced import introduced, with_destinations
from app.semdiff.dispatch import analyze_files
from app.semdiff.terraform.plan.read import analyze_plan, load_plan
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "destinations"


def found(base: str | None, head: str | None, path: str) -> dict[str, dict[str, list[str]]]:
    """address → facts.destinations of every change of one file (base/head are fixture names)."""
    file = FileDiff(
        path=path,
        status="modified" if base and head else ("added" if head else "removed"),
        base=(FIXTURES / base).read_bytes() if base else None,
        head=(FIXTURES / head).read_bytes() if head else None,
    )
    changes = with_destinations(analyze_files([file], RepoConfig()))
    return {c.address: c.facts["destinations"] for c in changes if "destinations" in c.facts}


def test_terraform_module_edits_introduce_regions_endpoints_principals_and_buckets() -> None:
    got = found("alerts_base.tf", "alerts_head.tf", "infra/payments/alerts.tf")
    assert got == {
        "provider.aws": {"regions": ["us-east-1"]},
        "aws_sns_topic_subscription.ops_mail": {"destinations": ["mailhook.example.net"]},
        "aws_sns_topic_subscription.vendor_bridge": {
            "destinations": ["bridge.incidents.example.org"]
        },
        "aws_sqs_queue_policy.vendor_queue": {
            "accounts": ["123456789012", "444455556666"],
            "principals": ["123456789012", "arn:aws:iam::444455556666:role/vendor-reader"],
            "regions": ["us-east-1"],
        },
        "aws_kms_key.alerts": {
            "accounts": ["777788889999"],
            "principals": ["arn:aws:iam::777788889999:root"],
        },
        "aws_s3_bucket_replication_configuration.audit": {
            "accounts": ["777788889999"],
            "export_buckets": ["partner-audit-drop"],
        },
        "aws_ecs_task_definition.relay": {"registries": ["quay.io/vendor/alert-relay"]},
    }


def test_a_whole_new_terraform_file_introduces_everything_it_names() -> None:
    got = found(None, "alerts_base.tf", "infra/payments/alerts.tf")
    assert got["provider.aws"] == {"accounts": ["123456789012"], "regions": ["eu-west-1"]}
    # The PagerDuty endpoint's key is an expression in the path: the host is still literal.
    assert got["aws_sns_topic_subscription.pager"] == {"destinations": ["events.pagerduty.com"]}
    assert got["aws_sns_topic_subscription.ops_mail"] == {"destinations": ["acme.com"]}
    assert got["aws_s3_bucket_replication_configuration.audit"] == {
        "export_buckets": ["acme-audit-replica"]
    }


def test_deleting_a_terraform_file_introduces_nothing() -> None:
    assert found("alerts_base.tf", None, "infra/payments/alerts.tf") == {}


def test_kubernetes_images_webhooks_regions_and_workload_identity_accounts() -> None:
    got = found("notifier_base.yaml", "notifier_head.yaml", "k8s/notifier.yaml")
    assert got == {
        "ServiceAccount/shop/notifier": {"accounts": ["210987654321"]},
        "Deployment/shop/notifier": {
            # the init container's curl target and the new chat webhook; the in-cluster
            # collector never leaves the cluster, and a new tag of the same image is no new registry
            "destinations": ["templates.acme.com", "webhook.site"],
            "regions": ["ap-southeast-2"],
            "registries": ["docker.io/curlimages/curl", "registry.evil.example/tools/tap"],
        },
    }


def test_workflow_actions_docker_images_regions_and_outbound_hosts() -> None:
    got = found("deploy_base.yml", "deploy_head.yml", ".github/workflows/deploy.yml")
    assert got == {
        "job.deploy": {
            "action_owners": ["some-dev"],
            "destinations": ["collect.example.dev", "hooks.example-chat.io"],
            "regions": ["eu-central-1"],
            "registries": ["ghcr.io/yannh/kubeconform"],
        }
    }


def test_generic_config_urls_and_mail_domains() -> None:
    got = found("alertmanager_base.yml", "alertmanager_head.yml", "monitoring/alertmanager.yml")
    assert got == {
        "receivers": {
            "destinations": ["ingest.partner-monitoring.example.com", "partner-support.example.com"]
        }
    }


def test_terraform_plan_after_values_and_decoded_policies() -> None:
    plan = load_plan((FIXTURES / "audit_export_plan.json").read_bytes(), "plan.json")
    changes = with_destinations(analyze_plan(plan, "infra/audit"))
    got = {c.address: c.facts.get("destinations") for c in changes}
    assert got == {
        "module.audit.aws_s3_bucket_policy.export": {
            "accounts": ["555566667777"],
            "principals": ["arn:aws:iam::555566667777:role/ingest"],
        },
        "module.audit.aws_cloudtrail.org": {
            "export_buckets": ["trail-archive-7731"],
            "regions": ["us-west-2"],
        },
    }


def test_the_same_file_on_both_sides_introduces_nothing() -> None:
    for name, path in [
        ("alerts_head.tf", "infra/a.tf"),
        ("notifier_head.yaml", "k8s/n.yaml"),
        ("deploy_head.yml", ".github/workflows/d.yml"),
        ("alertmanager_head.yml", "monitoring/am.yml"),
    ]:
        assert found(name, name, path) == {}, name


def change(kind: str, path: str, before: Any, after: Any, **facts: Any) -> Change:
    return Change(
        file="x",
        kind=kind,  # type: ignore[arg-type]
        address="x",
        op="update",
        fields=(FieldChange(path=path, before=before, after=after),),
        facts=facts,
    )


@pytest.mark.parametrize(
    ("kind", "path", "value", "facts", "expected"),
    [
        # Terraform: regions and locations, Google projects, Azure subscriptions
        ("terraform", "region", "ap-south-1", {"resource_type": "aws_s3_bucket"},
         {"regions": ["ap-south-1"]}),
        ("terraform", "location", "West Europe", {"resource_type": "azurerm_resource_group"},
         {"regions": ["westeurope"]}),
        ("terraform", "location", "EqDC2", {"resource_type": "aws_dx_connection"}, {}),
        ("terraform", "project", "acme-analytics", {"resource_type": "google_bigquery_dataset"},
         {"accounts": ["acme-analytics"]}),
        ("terraform", "project", "acme-analytics", {"resource_type": "tfe_workspace"}, {}),
        ("terraform", "subscription_id", "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
         {"provider": "azurerm"}, {"accounts": ["0b1f6471-1bf0-4dda-aec3-cb9272f09590"]}),
        ("terraform", "availability_zone", "sa-east-1b", {"resource_type": "aws_subnet"},
         {"regions": ["sa-east-1"]}),
        ("terraform", "region", "${var.region}", {"provider": "aws"}, {}),
        ("terraform", "homepage_url", "https://docs.acme.io", {"resource_type": "github_repository"},
         {}),
        ("terraform", "statement.principals.identifiers", ["lambda.amazonaws.com"],
         {"resource_type": "aws_iam_policy_document"}, {}),
        ("terraform", "principal", "210987654321", {"resource_type": "aws_lambda_permission"},
         {"principals": ["210987654321"]}),
        ("terraform", "destination", "storage.googleapis.com/acme-logs-eu",
         {"resource_type": "google_logging_project_sink"}, {"export_buckets": ["acme-logs-eu"]}),
        ("terraform", "access_logs.bucket", "elb-logs-archive", {"resource_type": "aws_lb"},
         {"export_buckets": ["elb-logs-archive"]}),
        ("terraform", "bucket", "app-assets", {"resource_type": "aws_s3_bucket"}, {}),
        ("terraform", "source", "git::https://github.com/acme/modules.git//vpc?ref=v3.1.0",
         {"block_type": "module"}, {}),
        ("terraform", "image_uri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:7",
         {"resource_type": "aws_lambda_function"},
         {"registries": ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl"]}),
        # Kubernetes and data: keys, service-account e-mails, helm image values
        ("kubernetes", "metadata.annotations.iam.gke.io/gcp-service-account",
         "exporter@acme-data-prod.iam.gserviceaccount.com", {},
         {"accounts": ["acme-data-prod"]}),
        ("data", "image.repository", "bitnami/redis", {}, {"registries": ["docker.io/bitnami/redis"]}),
        ("data", "images[redis].newName", "registry.acme.io/mirror/redis", {"format": "kustomize"},
         {"registries": ["registry.acme.io/mirror/redis"]}),
        ("data", "services.web.image", "postgres:16", {},
         {"registries": ["docker.io/library/postgres"]}),
        ("data", "deploy.region", "emea", {}, {}),
        ("data", "deploy.gcp_project_id", "acme-staging-1", {}, {"accounts": ["acme-staging-1"]}),
        ("data", "$schema", "https://json.schemastore.org/chart.json", {}, {}),
        ("data", "database.url", "postgres://orders:<redacted>@db.example.com/orders", {}, {}),
        ("data", "sink.url", "https://user:<redacted>@logs.example.com/in", {},
         {"destinations": ["logs.example.com"]}),
        ("data", "runs.steps", [{"uses": "acme/setup-tools@v3"}], {},
         {"action_owners": ["acme"]}),
        ("workflow", "jobs.release.uses", "Octo-Org/shared/.github/workflows/release.yml@main",
         {}, {"action_owners": ["octo-org"]}),
        ("workflow", "steps[build].uses", "./.github/actions/build", {}, {}),
        # kinds that name no destinations
        ("pricing", "plans[pro].url", "https://evil.example.com", {}, {}),
        ("text", "body", "https://evil.example.com", {}, {}),
    ],
)  # fmt: skip
def test_what_one_value_names(
    kind: str, path: str, value: Any, facts: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    assert introduced(change(kind, path, None, value, **facts)) == expected


def test_terraform_variables_locals_and_tfvars_are_named_by_their_name() -> None:
    variables = FileDiff(
        path="infra/variables.tf",
        status="added",
        head=(
            b'variable "region" {\n  default = "us-west-2"\n}\n'
            b'locals {\n  home_region = "ca-central-1"\n  zones = ["eu-west-3a"]\n}\n'
        ),
    )
    tfvars = FileDiff(
        path="env/prod.tfvars",
        status="added",
        head=b'aws_region = "ap-south-1"\nalert_webhook = "https://hooks.example.com/x"\n',
    )
    changes = with_destinations(analyze_files([variables, tfvars], RepoConfig()))
    assert {c.address: c.facts.get("destinations") for c in changes} == {
        "var.region": {"regions": ["us-west-2"]},
        "local.home_region": {"regions": ["ca-central-1"]},
        "local.zones": {"regions": ["eu-west-3"]},
        "tfvars.aws_region": {"regions": ["ap-south-1"]},
        "tfvars.alert_webhook": {"destinations": ["hooks.example.com"]},
    }


def test_a_value_already_present_before_is_not_introduced() -> None:
    moved = change("data", "hooks", ["https://a.example.com/x"], ["https://a.example.com/y"])
    assert introduced(moved) == {}
    widened = change(
        "terraform",
        "statement.principals.identifiers",
        ["123456789012"],
        ["123456789012", "arn:aws:iam::999999999999:role/x"],
    )
    assert introduced(widened) == {
        "accounts": ["999999999999"],
        "principals": ["arn:aws:iam::999999999999:role/x"],
    }


def test_redacted_values_are_never_read() -> None:
    secret = change("kubernetes", "data.webhook", None, "<redacted>", object_kind="Secret")
    assert introduced(secret) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:1.27-alpine", "docker.io/library/nginx"),
        ("grafana/grafana:11.1.0", "docker.io/grafana/grafana"),
        ("ghcr.io/acme/web:1.2@sha256:abcd", "ghcr.io/acme/web"),
        ("registry.acme.com:5000/team/app:3", "registry.acme.com:5000/team/app"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("docker://alpine:3.20", "docker.io/library/alpine"),
        ("{{ .Values.image }}", None),
        ("$(IMAGE)", None),
        ("", None),
    ],
)
def test_image_repository(text: str, expected: str | None) -> None:
    assert dv.image_repository(text) == expected


def test_policy_principals_from_json_and_jsonencode_text() -> None:
    json_text = (
        '{"Statement":[{"Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]}},'
        '{"Principal":"*"},{"Principal":{"Service":"logs.amazonaws.com"}},'
        '{"NotPrincipal":{"AWS":"444455556666"}}]}'
    )
    assert sorted(dv.policy_principals(json_text)) == [
        "*",
        "*",
        "444455556666",
        "arn:aws:iam::111122223333:root",
    ]
    hcl = '${jsonencode({Statement = [{Principal = {AWS = "arn:aws:iam::${var.acct}:root"}}]})}'
    assert list(dv.policy_principals(hcl)) == []
    # escaped quotes and brackets inside strings do not end a block early
    escaped = '{"Principal":{"Note":"a\\"} ]","AWS":["210987654321"]}}'
    assert list(dv.policy_principals(escaped)) == ["210987654321"]


def test_url_hosts_skip_internal_and_templated_hosts() -> None:
    text = (
        "curl http://localhost:8080/x https://api.example.com:8443/v1 "
        "http://redis:6379 https://${HOST}/x https://svc.ns.svc.cluster.local/ "
        "https://metadata.google.internal/ HTTPS://Hooks.Example.ORG."
    )
    assert list(dv.url_hosts(text)) == ["api.example.com", "hooks.example.org"]


PIECES = st.sampled_from(
    [
        "https://", "http://", "@", ".", "-", ":", "/", "arn:aws:iam::", "123456789012", ":root",
        '"Principal"', "Principal = {", "AWS", "[", "]", "{", "}", '"', "\\", "image", "=",
        "docker://", "eu-west-1", "a", "Z", " ", "\n", "${", "{{", "<redacted>", "s3://",
        "storage.googleapis.com/", "/subscriptions/", "gserviceaccount.com",
    ]
)  # fmt: skip
TEXTS = st.lists(PIECES | st.text(max_size=8), max_size=30).map("".join)
KEYS = st.sampled_from(
    ["region", "image", "uses", "endpoint", "Principal", "identifiers", "AWS", "bucket",
     "destination", "target_bucket", "project", "account_id", "subscription_id", "value", "name",
     "location", "zone", "$schema", "x"]
) | st.text(max_size=6)  # fmt: skip
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXTS,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(KEYS, c, max_size=4),
    max_leaves=20,
)


@settings(max_examples=examples(200), deadline=None)
@given(
    kind=st.sampled_from(["terraform", "kubernetes", "workflow", "data"]),
    path=st.lists(KEYS, min_size=1, max_size=4).map(".".join),
    before=VALUES,
    after=VALUES,
    resource=st.sampled_from(["aws_s3_bucket", "google_storage_bucket", "azurerm_x", ""]),
)
def test_no_value_makes_extraction_crash_and_results_are_well_formed(
    kind: str, path: str, before: Any, after: Any, resource: str
) -> None:
    result = introduced(change(kind, path, before, after, resource_type=resource))
    for category, values in result.items():
        assert category in CATEGORIES
        assert values == sorted(set(values)) and all(isinstance(v, str) and v for v in values)
        assert all("<redacted>" not in v for v in values)
    # A value against itself introduces nothing.
    assert introduced(change(kind, path, after, after, resource_type=resource)) == {}
