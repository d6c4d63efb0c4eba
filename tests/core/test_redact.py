"""Redaction hides secrets, not settings: names, literal values and references, in every
analyzer and in the audit store and the service logs."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import PathRule
from app.core.models import REDACTED, Change, FileDiff
from app.core.redact import is_secret_literal, is_secret_name, mask_secret, redact_tree, scrub_text
from app.runtime.logging import configure_logging
from app.semdiff.common import data
from app.semdiff.kubernetes import objects as kubernetes
from app.semdiff.terraform import analyzer as terraform
from app.semdiff.workflow import analyzer as workflow
from app.store.audit.chain import sanitize_payload
from tests.examples import examples

Analyzer = Callable[[FileDiff, PathRule], list[Change]]


def run(analyzer: Analyzer, path: str, base: str, head: str) -> list[Change]:
    file = FileDiff(path=path, status="modified", base=base.encode(), head=head.encode())
    return analyzer(file, PathRule())


def fields(changes: list[Change]) -> dict[str, tuple[Any, Any]]:
    return {f"{c.address}:{f.path}": (f.before, f.after) for c in changes for f in c.fields}


def dumped(changes: list[Change]) -> str:
    return json.dumps([c.model_dump(mode="json") for c in changes])


# -- names and values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "password", "DB_PASSWORD", "PGPASSWORD", "passwd", "master_password", "client_secret",
        "clientSecret", "private_key", "private_key_pem", "api_key", "apiKey", "x-api-key",
        "aws_secret_access_key", "access_key", "token", "auth_token", "GITHUB_TOKEN", "NPM_TOKEN",
        "credentials", "webhook_secret", "ssh_key", "passphrase", "secrets",
    ],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "http_tokens", "persist-credentials", "manage_master_user_password", "secretKeyRef",
        "token_url", "token_endpoint", "tokenEndpoint", "token_uri", "token_lifetime",
        "max_tokens", "tokenizer", "secret_name", "password_length", "aws_access_key_id",
        "kms_key_id", "key", "secrets_inherit", "master_user_secret_kms_key_id",
        "password_policy", "token_ttl",
    ],
)  # fmt: skip
def test_setting_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "value",
    ["hunter2", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "123456", "https://bob:pw@db.local"],
)
def test_literals_are_secret_values(value: str) -> None:
    assert is_secret_literal(value)
    assert mask_secret(value) == REDACTED


@pytest.mark.parametrize(
    "value",
    [
        "${var.db_password}", "var.db_password", "local.admin_token", "data.vault_generic.x.y",
        "${aws_secretsmanager_secret_version.db.secret_string}",
        "aws_secretsmanager_secret_version.db.secret_string", 'jsondecode(data.x.y)["password"]',
        "${{ secrets.NPM_TOKEN }}", "$(DB_PASSWORD)", "$DB_PASSWORD", "{{ .Values.db.password }}",
        "{{ vault_db_password }}", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC",
        "vault://secret/data/db#password", "https://login.example.com/oauth2/v2.0/token",
        "", "false", "optional", "write", True, False, 0, 4096, 3600, None,
    ],
)  # fmt: skip
def test_references_and_settings_stay_visible(value: Any) -> None:
    assert not is_secret_literal(value)
    assert mask_secret(value) == value


def test_mask_keeps_reference_mappings_and_hides_nested_literals() -> None:
    value = {
        "valueFrom": {"secretKeyRef": {"name": "orders-db", "key": "password"}},
        "value": "hunter2",
        "rotate": True,
    }
    assert mask_secret(value) == {
        "valueFrom": {"secretKeyRef": {"name": "orders-db", "key": "password"}},
        "value": REDACTED,
        "rotate": True,
    }
    tree = {"db": {"password": "hunter2", "user": "orders", "api_keys": ["k1", "${var.k2}"]}}
    assert redact_tree(tree) == {
        "db": {"password": REDACTED, "user": "orders", "api_keys": [REDACTED, "${var.k2}"]}
    }


# -- Terraform ---------------------------------------------------------------------------------

EC2 = """\
resource "aws_instance" "bastion" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_db_instance" "orders" {
  identifier                    = "orders-prod"
  engine                        = "postgres"
  username                      = "orders"
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.rds.key_id
}

resource "aws_rds_cluster" "reporting" {
  cluster_identifier = "reporting"
  master_username    = "reporting"
  master_password    = "Pr0d-Reporting!2024"
}
"""


def test_terraform_imdsv2_downgrade_and_password_switch_are_visible() -> None:
    head = EC2.replace('http_tokens                 = "required"', 'http_tokens = "optional"')
    head = head.replace(
        "manage_master_user_password   = true", "manage_master_user_password = false"
    )
    head = head.replace(
        'master_password    = "Pr0d-Reporting!2024"', "master_password = var.reporting_password"
    )
    changes = run(terraform.analyze, "infra/main.tf", EC2, head)
    assert fields(changes) == {
        "aws_instance.bastion:metadata_options.http_tokens": ("required", "optional"),
        "aws_db_instance.orders:manage_master_user_password": (True, False),
        "aws_rds_cluster.reporting:master_password": (REDACTED, "${var.reporting_password}"),
    }
    assert "Pr0d-Reporting" not in dumped(changes)


def test_terraform_literal_secrets_and_sensitive_values_are_hidden() -> None:
    base = """\
variable "stripe_api_key" {
  type    = string
  default = "sk_live_51H8oldoldold"
}

variable "support_email" {
  type      = string
  sensitive = true
  default   = "support@example.com"
}

locals {
  grafana_token = "glsa_oldoldold"
}
"""
    head = (
        base.replace("sk_live_51H8oldoldold", "sk_live_51H8newnewnew")
        .replace("support@example.com", "help@example.com")
        .replace("glsa_oldoldold", "glsa_newnewnew")
    )
    changes = run(terraform.analyze, "infra/variables.tf", base, head)
    text = dumped(changes)
    for literal in ("sk_live", "example.com", "glsa_"):
        assert literal not in text
    assert all(REDACTED in (b, a) for b, a in fields(changes).values())
    assert len(fields(changes)) == 3


# -- Kubernetes -------------------------------------------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/orders:1.4.2
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: orders-db
                  key: password
            - name: STRIPE_API_KEY
              value: sk_live_51H8oldoldold
            - name: OIDC_TOKEN_URL
              value: https://login.example.com/oauth2/token
            - name: REPLICA_PASSWORD
              value: $(DB_PASSWORD)
"""


def test_kubernetes_secret_refs_and_token_urls_are_visible_literals_hidden() -> None:
    head = (
        DEPLOYMENT.replace("name: orders-db", "name: orders-db-v2")
        .replace("key: password", "key: app-password")
        .replace("sk_live_51H8oldoldold", "sk_live_51H8newnewnew")
        .replace("login.example.com/oauth2/token", "sso.example.com/oauth2/token")
    )
    changes = run(kubernetes.analyze, "deploy/orders.yaml", DEPLOYMENT, head)
    env = "spec.template.spec.containers[api].env"
    got = {path.split(":", 1)[1]: values for path, values in fields(changes).items()}
    assert got == {
        f"{env}[DB_PASSWORD].valueFrom.secretKeyRef.name": ("orders-db", "orders-db-v2"),
        f"{env}[DB_PASSWORD].valueFrom.secretKeyRef.key": ("password", "app-password"),
        f"{env}[STRIPE_API_KEY].value": (REDACTED, REDACTED),
        f"{env}[OIDC_TOKEN_URL].value": (
            "https://login.example.com/oauth2/token",
            "https://sso.example.com/oauth2/token",
        ),
    }
    assert "sk_live" not in dumped(changes)


# -- workflows --------------------------------------------------------------------------------

WORKFLOW = """\
on: push
jobs:
  release:
    runs-on: ubuntu-24.04
    steps:
      - name: Checkout
        uses: actions/checkout@v4
        with:
          persist-credentials: false
      - name: Publish
        run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
          SENTRY_AUTH_TOKEN: sntrys_oldoldold
"""


def test_workflow_settings_and_references_visible_literal_tokens_hidden() -> None:
    head = (
        WORKFLOW.replace("persist-credentials: false", "persist-credentials: true")
        .replace("secrets.NPM_TOKEN", "secrets.NPM_PUBLISH_TOKEN")
        .replace("sntrys_oldoldold", "sntrys_newnewnew")
    )
    changes = run(workflow.analyze, ".github/workflows/release.yml", WORKFLOW, head)
    assert fields(changes) == {
        "job.release:steps[Checkout].with.persist-credentials": (False, True),
        "job.release:steps[Publish].env.NODE_AUTH_TOKEN": (
            "${{ secrets.NPM_TOKEN }}",
            "${{ secrets.NPM_PUBLISH_TOKEN }}",
        ),
        "job.release:steps[Publish].env.SENTRY_AUTH_TOKEN": (REDACTED, REDACTED),
    }
    assert "sntrys_" not in dumped(changes)


# -- data files --------------------------------------------------------------------------------


def test_data_file_llm_settings_visible_and_api_key_hidden() -> None:
    base = json.dumps(
        {
            "llm": {"model": "gpt-4o", "max_tokens": 1024, "tokenizer": "o200k_base"},
            "auth": {"token_lifetime": 3600, "token_endpoint": "https://id.example.com/token"},
            "openai": {"api_key": "sk-proj-oldoldold", "api_key_env": "OPENAI_API_KEY"},
        },
        indent=2,
    )
    head = (
        base.replace("1024", "4096")
        .replace("o200k_base", "cl100k_base")
        .replace("3600", "86400")
        .replace("id.example.com/token", "id.example.com/oauth/token")
        .replace("sk-proj-oldoldold", "sk-proj-newnewnew")
    )
    changes = run(data.analyze, "config/assistant.json", base, head)
    assert fields(changes) == {
        "llm:llm.max_tokens": (1024, 4096),
        "llm:llm.tokenizer": ("o200k_base", "cl100k_base"),
        "auth:auth.token_lifetime": (3600, 86400),
        "auth:auth.token_endpoint": (
            "https://id.example.com/token",
            "https://id.example.com/oauth/token",
        ),
        "openai:openai.api_key": (REDACTED, REDACTED),
    }
    assert "sk-proj" not in dumped(changes)


def test_data_file_secret_key_holding_a_reference_is_visible() -> None:
    base = '{"database": {"password": "{{ .Values.db.password }}"}}'
    head = '{"database": {"password": "hunter2"}}'
    [change] = run(data.analyze, "values.json", base, head)
    assert [(f.before, f.after) for f in change.fields] == [("{{ .Values.db.password }}", REDACTED)]


# -- audit and logs -----------------------------------------------------------------------------


def test_audit_payload_keeps_settings_and_hides_literals() -> None:
    payload = {
        "changes": [
            {
                "address": "aws_instance.bastion",
                "fields": [
                    {"path": "metadata_options.http_tokens", "before": "required", "after": None},
                    {"path": "master_password", "before": "hunter2", "after": "${var.pw}"},
                    {"path": "with.persist-credentials", "before": False, "after": True},
                ],
            }
        ],
        "config": {"client_secret": "s3cr3t-value", "token_url": "https://id.example.com/token"},
    }
    cleaned = sanitize_payload(payload)
    assert cleaned["changes"][0]["fields"] == [
        {"path": "metadata_options.http_tokens", "before": "required", "after": None},
        {"path": "master_password", "before": REDACTED, "after": "${var.pw}"},
        {"path": "with.persist-credentials", "before": False, "after": True},
    ]
    assert cleaned["config"] == {
        "client_secret": REDACTED,
        "token_url": "https://id.example.com/token",
    }


def test_log_lines_hide_literal_secrets_only(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("INFO")
    try:
        structlog.get_logger("test").info(
            "token exchanged", access_token="ghs_abcdef123456", max_tokens=512, token_ttl=3600
        )
    finally:
        structlog.reset_defaults()
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["access_token"] == REDACTED
    assert line["max_tokens"] == 512
    assert line["token_ttl"] == 3600


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "postgres://orders:hunter2@db.internal:5432/orders",
            "postgres://orders:<redacted>@db.internal:5432/orders",
        ),
        ("redis://:p@ss@cache:6379/0", "redis://:<redacted>@cache:6379/0"),
        (
            "postgres://orders:${DB_PASSWORD}@db:5432/orders",
            "postgres://orders:${DB_PASSWORD}@db:5432/orders",
        ),
        ("postgresql://ci@localhost/ci", "postgresql://ci@localhost/ci"),
        ("https://login.example.com/oauth2/token", "https://login.example.com/oauth2/token"),
    ],
)
def test_url_passwords_are_hidden_and_the_rest_shown(text: str, shown: str) -> None:
    assert redact_tree({"DATABASE_URL": text}) == {"DATABASE_URL": shown}


def test_connection_string_in_a_kubernetes_env_keeps_the_host_change_visible() -> None:
    base = DEPLOYMENT.replace(
        "            - name: OIDC_TOKEN_URL",
        "            - name: DATABASE_URL\n"
        "              value: postgres://orders:hunter2@db-a.internal:5432/orders\n"
        "            - name: OIDC_TOKEN_URL",
    )
    head = base.replace("db-a.internal", "db-b.internal")
    [change] = run(kubernetes.analyze, "deploy/orders.yaml", base, head)
    [field] = change.fields
    assert field.path.endswith("env[DATABASE_URL].value")
    assert (field.before, field.after) == (
        "postgres://orders:<redacted>@db-a.internal:5432/orders",
        "postgres://orders:<redacted>@db-b.internal:5432/orders",
    )
    assert "hunter2" not in dumped([change])


def test_file_paths_under_secret_names_are_settings() -> None:
    assert mask_secret("/var/run/secrets/kubernetes.io/serviceaccount/token") == (
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )
    assert sanitize_payload({"fields": [{"path": "env.DB", "before": "mysql://u:pw@h/d"}]}) == {
        "fields": [{"path": "env.DB", "before": "mysql://u:<redacted>@h/d"}]
    }


SECRET_NAMES = st.sampled_from(
    ["password", "DB_PASSWORD", "client_secret", "api_key", "private_key", "GITHUB_TOKEN",
     "auth_token", "credentials", "webhook_secret"]
)  # fmt: skip
LITERALS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-!#%+=",
    min_size=12,
    max_size=40,
).map(lambda t: t + "!9")  # never a substring of a key or URL in the document


@settings(max_examples=examples(80), deadline=None)
@given(SECRET_NAMES, LITERALS, LITERALS, st.sampled_from(["json", "yaml"]))
def test_property_literal_secrets_never_leave_an_analyzer(
    name: str, old: str, new: str, fmt: str
) -> None:
    def doc(value: str) -> str:
        body = {"service": {"endpoint": "https://api.example.com", name: value}}
        return json.dumps(body)  # JSON is YAML too

    changes = run(data.analyze, f"config/service.{fmt}", doc(old), doc(new))
    text = dumped(changes)
    assert old not in text
    assert new not in text
    if old != new:
        assert fields(changes) == {f"service:service.{name}": (REDACTED, REDACTED)}


@settings(max_examples=examples(40), deadline=None)
@given(SECRET_NAMES, st.sampled_from(["${{ secrets.%s }}", "${var.%s}", "{{ .Values.%s }}"]))
def test_property_references_stay_visible(name: str, pattern: str) -> None:
    ref = pattern % name.lower()
    changes = run(
        data.analyze, "config/service.json", json.dumps({name: "x" * 16}), json.dumps({name: ref})
    )
    assert fields(changes) == {f"{name}:{name}": (REDACTED, ref)}


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("connection to postgres://orders:hunter2@db:5432/orders failed", "hunter2"),
        (
            "bad credentials for ghs_16C7e42F292c6912E7710c838347Ae178B4a",
            "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
        ),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz rejected",
            "github_pat_11ABCDEFG0123456789",
        ),
        (
            "headers={'Authorization': 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MjQyIn0.c2ln'}",
            "eyJhbGci",
        ),
        ("Authorization: token 0123456789abcdef0123456789abcdef", "0123456789abcdef"),
        ('{"client_secret": "s3cr3t-value", "name": "x"}', "s3cr3t-value"),
        ("password=hunter2 user=orders", "hunter2"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "MIIEow",
        ),
    ],
)
def test_scrub_text_masks_credentials_in_free_text(text: str, secret: str) -> None:
    scrubbed = scrub_text(text)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "GitHub answered 404 to GET /repos/acme/platform/pulls/7: Not Found",
        "http_tokens=optional max_tokens: 5 persist-credentials: false",
        "secret_ref=${{ secrets.DEPLOY_KEY }}",
        "cannot reach GitHub for GET /repos/acme/x/pulls/1: ConnectError('refused')",
    ],
)
def test_scrub_text_keeps_settings_and_plain_errors(text: str) -> None:
    assert scrub_text(text) == text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.sampled_from(["plain", "postgres://app:hunter2@db:5432/app", "vault:secret/x", ""])
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "password", "api_token", "tags", "url", "key"])
            | st.text(max_size=5),
            inner,
            max_size=3,
        )
    ),
    max_leaves=15,
)


@given(value=json_values)
def test_redacted_view_is_redact_tree_without_the_copy(value: Any) -> None:
    from app.core.redact import redacted_view

    def keys(tree: Any) -> list[str]:
        if isinstance(tree, dict):
            return [str(k) for k in tree] + [k for v in tree.values() for k in keys(v)]
        return [k for v in tree for k in keys(v)] if isinstance(tree, list) else []

    shown = redacted_view(value)
    assert shown == redact_tree(value)
    if "://" not in json.dumps(value) and not any(is_secret_name(k) for k in keys(value)):
        assert shown is value  # nothing to mask: no copy
