"""Properties of the allowlist stage over realistic Terraform, Kubernetes and workflow files:
listed values never raise a finding, a file against itself never does, and when nothing is
allowed every introduced value is named."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config.allowlists import CATEGORIES, Allowlists, effective_layers
from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.core.report import Finding
from app.risk.allowlist import allowlist_findings
from app.semdiff.destinations.introduced import with_destinations
from app.semdiff.dispatch import analyze_files
from tests.examples import examples

LABEL = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
HOSTS = st.builds(
    lambda a, b, tld: f"{a}.{b}.{tld}", LABEL, LABEL, st.sampled_from(["com", "io", "net"])
)
REGIONS = st.builds(
    lambda a, b, n: f"{a}-{b}-{n}",
    st.sampled_from(["eu", "us", "ap", "sa", "ca", "me"]),
    st.sampled_from(["west", "east", "central", "north", "south", "southeast"]),
    st.integers(1, 9),
)
ACCOUNTS = st.from_regex(r"[1-9][0-9]{11}", fullmatch=True)
TAGS = st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True)


@st.composite
def destinations(draw: st.DrawFn) -> dict[str, str]:
    return {
        "host": draw(HOSTS),
        "mail": draw(HOSTS),
        "region": draw(REGIONS),
        "account": draw(ACCOUNTS),
        "registry": f"{draw(HOSTS)}/{draw(LABEL)}",
        "image": draw(LABEL),
        "tag": draw(TAGS),
        "owner": draw(LABEL),
        "bucket": f"{draw(LABEL)}-{draw(LABEL)}",
    }


OTHER = {
    "host": "old.example.com",
    "mail": "old.example.com",
    "region": "us-east-1",
    "account": "999999999999",
    "registry": "docker.io/old",
    "image": "app",
    "tag": "1.0.0",
    "owner": "oldowner",
    "bucket": "old-bucket",
}

TERRAFORM = """\
provider "aws" {{
  region              = "{region}"
  allowed_account_ids = ["{account}"]
}}

resource "aws_sns_topic_subscription" "hook" {{
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "https"
  endpoint  = "https://{host}/hooks/alerts"
}}

resource "aws_sns_topic_subscription" "mail" {{
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = "oncall@{mail}"
}}

resource "aws_kms_key" "alerts" {{
  policy = jsonencode({{
    Statement = [{{ Effect = "Allow", Principal = {{ AWS = "arn:aws:iam::{account}:root" }},
                   Action = "kms:*", Resource = "*" }}]
  }})
}}

resource "aws_s3_bucket_replication_configuration" "logs" {{
  bucket = aws_s3_bucket.logs.id
  role   = aws_iam_role.replication.arn
  rule {{
    id     = "all"
    status = "Enabled"
    destination {{
      bucket  = "arn:aws:s3:::{bucket}"
      account = "{account}"
    }}
  }}
}}

resource "aws_lambda_function" "relay" {{
  function_name = "relay"
  image_uri     = "{registry}/{image}:{tag}"
}}
"""
KUBERNETES = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: relay
  namespace: ops
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::{account}:role/relay
spec:
  template:
    spec:
      containers:
        - name: relay
          image: {registry}/{image}:{tag}
          env:
            - name: WEBHOOK_URL
              value: https://{host}/in
            - name: AWS_REGION
              value: {region}
            - name: REPORT_TO
              value: reports@{mail}
"""
WORKFLOW = """\
name: relay
on: [push]
jobs:
  ship:
    runs-on: ubuntu-24.04
    steps:
      - uses: {owner}/deploy-action@v1
        with:
          aws-region: {region}
          role-to-assume: arn:aws:iam::{account}:role/ship
      - uses: docker://{registry}/{image}:{tag}
      - run: curl -fsS https://{host}/ping
"""
FILES = {
    "infra/relay/main.tf": TERRAFORM,
    "k8s/relay.yaml": KUBERNETES,
    ".github/workflows/relay.yml": WORKFLOW,
}


def lists_for(values: dict[str, str]) -> Allowlists:
    return Allowlists(
        regions=(values["region"],),
        accounts=(values["account"],),
        registries=(values["registry"],),
        action_owners=(values["owner"],),
        destinations=(values["host"], values["mail"]),
        principals=(values["account"],),
        export_buckets=(values["bucket"],),
    )


def findings_for(path: str, base: str | None, head: str, lists: Allowlists) -> list[Finding]:
    file = FileDiff(
        path=path,
        status="modified" if base is not None else "added",
        base=base.encode() if base is not None else None,
        head=head.encode(),
    )
    changes = with_destinations(analyze_files([file], RepoConfig()))
    return allowlist_findings(changes, effective_layers(lists))


NOTHING_ALLOWED = Allowlists(**dict.fromkeys(CATEGORIES, ()))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=destinations(), path=st.sampled_from(sorted(FILES)), replace=st.booleans())
def test_adding_allowlisted_values_never_yields_a_finding(
    values: dict[str, str], path: str, replace: bool
) -> None:
    """Whether the file is new or replaces other (unlisted) values, listed values pass."""
    template = FILES[path]
    base = template.format(**OTHER) if replace else None
    assert findings_for(path, base, template.format(**values), lists_for(values)) == []


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=destinations(), path=st.sampled_from(sorted(FILES)))
def test_a_file_against_itself_yields_nothing_even_when_nothing_is_allowed(
    values: dict[str, str], path: str
) -> None:
    text = FILES[path].format(**values)
    assert findings_for(path, text, text, NOTHING_ALLOWED) == []


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=destinations(), path=st.sampled_from(sorted(FILES)))
def test_when_nothing_is_allowed_every_new_host_and_region_is_named(
    values: dict[str, str], path: str
) -> None:
    """Fail closed: empty lists flag what the file introduces, naming each value."""
    text = FILES[path].format(**values)
    messages = [f.message for f in findings_for(path, None, text, NOTHING_ALLOWED)]
    assert any(
        f"destination {values['host']} not in allowlists.destinations" in m for m in messages
    )
    assert any(f"region {values['region']} not in allowlists.regions" in m for m in messages)
    assert any(f"account {values['account']} not in allowlists.accounts" in m for m in messages)
    repository = f"{values['registry']}/{values['image']}"
    assert any(f"registry {repository} not in allowlists.registries" in m for m in messages)


@pytest.mark.parametrize("path", sorted(FILES))
def test_templates_name_what_the_properties_expect(path: str) -> None:
    """The property templates really carry a value of every category they are meant to."""
    file = FileDiff(path=path, status="added", head=FILES[path].format(**OTHER).encode())
    changes = with_destinations(analyze_files([file], RepoConfig()))
    seen = {category for c in changes for category in c.facts.get("destinations", {})}
    expected = {"regions", "accounts", "registries", "destinations"}
    if path.endswith(".tf"):
        expected |= {"principals", "export_buckets"}
    if "workflows" in path:
        expected |= {"action_owners"}
    assert expected <= seen, seen
