"""The Terraform analyzer: objects by address, field paths, lines, renames, secrets, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change, FileDiff
from app.semdiff.terraform.analyzer import analyze, diff_files
from app.semdiff.terraform.parse import TfFile, parse_side
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"
SECRETS = ("hunter2", "Sup3rS3cretDefault!", "correct-horse-battery-staple", "hunter3")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def run(
    base: str | bytes | None, head: str | bytes | None, path: str = "infra/main.tf"
) -> list[Change]:
    def raw(side: str | bytes | None) -> bytes | None:
        return side.encode() if isinstance(side, str) else side

    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(path=path, status=status, base=raw(base), head=raw(head))
    return analyze(file, PathRule())


def by_address(changes: list[Change]) -> dict[str, Change]:
    out = {c.address: c for c in changes}
    assert len(out) == len(changes), "one change per address"
    return out


def fields(change: Change) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.before, f.after) for f in change.fields}


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def assert_no_secrets(changes: list[Change]) -> None:
    dumped = json.dumps([c.model_dump(mode="json") for c in changes])
    for secret in SECRETS:
        assert secret not in dumped


# -- formatting ------------------------------------------------------------------------------


def test_identical_sides_give_nothing() -> None:
    assert run(fixture("main.tf"), fixture("main.tf")) == []


def test_reindent_comments_and_reordering_give_nothing() -> None:
    assert run(fixture("main.tf"), fixture("main_reformatted.tf")) == []


def test_crlf_line_endings_give_nothing() -> None:
    text = fixture("storage.tf")
    assert run(text, text.replace("\n", "\r\n")) == []


# -- create / delete -------------------------------------------------------------------------


def test_added_file_creates_every_object_with_its_line() -> None:
    text = fixture("main.tf")
    changes = by_address(run(None, text))
    assert set(changes) == {
        "terraform",
        "provider.aws",
        "provider.aws.replica",
        "var.region",
        "var.environment",
        "var.db_admin_password",
        "var.allowed_cidrs",
        "local.name_prefix",
        "local.common_tags",
        "module.vpc",
        "aws_db_subnet_group.main",
        "aws_security_group.db",
        "aws_db_instance.main",
        "aws_s3_bucket.logs",
        "aws_s3_bucket_versioning.logs",
        "aws_s3_bucket_public_access_block.logs",
        "data.aws_iam_policy_document.app_assume",
        "aws_iam_role.app",
        "aws_iam_role_policy.app_logs",
        "output.db_endpoint",
        "output.db_connection_string",
    }
    assert {c.op for c in changes.values()} == {"create"}
    assert all(f.before is None for c in changes.values() for f in c.fields)
    db = changes["aws_db_instance.main"]
    assert db.line == line_of(text, 'resource "aws_db_instance" "main"')
    assert changes["local.common_tags"].line == line_of(text, "common_tags = {")
    assert changes["provider.aws.replica"].line == line_of(text, 'alias  = "replica"') - 1
    assert db.facts["block_type"] == "resource"
    assert db.facts["resource_type"] == "aws_db_instance"
    assert db.facts["prevent_destroy_after"] is True
    assert fields(db)["instance_class"] == (None, "db.r6g.large")
    assert fields(db)["lifecycle.prevent_destroy"] == (None, True)
    assert fields(db)["password"] == (None, REDACTED)
    assert changes["data.aws_iam_policy_document.app_assume"].facts == {
        "block_type": "data",
        "resource_type": "aws_iam_policy_document",
        "module_dir": "infra",
    }
    assert fields(changes["aws_s3_bucket_versioning.logs"]) == {
        "bucket": (None, "${aws_s3_bucket.logs.id}"),
        "versioning_configuration.status": (None, "Enabled"),
    }
    assert changes["module.vpc"].facts["module_source"] == "terraform-aws-modules/vpc/aws"
    assert changes["module.vpc"].facts["module_version_after"] == "5.5.1"
    assert changes["terraform"].facts["backend_after"] == "s3"
    assert_no_secrets(list(changes.values()))


def test_removed_file_deletes_with_before_values_for_risk_rules() -> None:
    text = fixture("main.tf")
    changes = by_address(run(text, None))
    assert {c.op for c in changes.values()} == {"delete"}
    db = changes["aws_db_instance.main"]
    assert db.line == line_of(text, 'resource "aws_db_instance" "main"')
    assert fields(db)["deletion_protection"] == (True, None)
    assert fields(db)["skip_final_snapshot"] == (False, None)
    assert fields(db)["password"] == (REDACTED, None)
    assert db.facts["prevent_destroy_before"] is True
    assert db.facts["prevent_destroy_after"] is None
    secret_var = changes["var.db_admin_password"]
    assert fields(secret_var)["default"] == (REDACTED, None)
    assert secret_var.facts["sensitive"] is True
    assert fields(changes["output.db_connection_string"])["value"] == (REDACTED, None)
    assert_no_secrets(list(changes.values()))


def test_deleting_one_block_deletes_only_that_object_at_its_base_line() -> None:
    text = fixture("main.tf")
    start = text.index('resource "aws_s3_bucket" "logs"')
    end = text.index("}\n", start) + 2
    changes = run(text, text[:start] + text[end:])
    assert [(c.address, c.op, c.line) for c in changes] == [
        ("aws_s3_bucket.logs", "delete", line_of(text, 'resource "aws_s3_bucket" "logs"'))
    ]


# -- updates ---------------------------------------------------------------------------------


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_updates_report_dotted_field_paths_per_block_type() -> None:
    base = fixture("main.tf")
    head = base
    head = edit(head, '"db.r6g.large"', '"db.r6g.xlarge"')
    head = edit(head, "prevent_destroy = true", "prevent_destroy = false")
    head = edit(head, 'version = "5.5.1"', 'version = "5.8.0"')
    head = edit(head, 'status = "Enabled"', 'status = "Suspended"')
    head = edit(head, 'region = "us-west-2"', 'region = "eu-west-1"')
    head = edit(head, 'default     = "prod"', 'default     = "production"')
    head = edit(head, 'ManagedBy   = "terraform"', 'ManagedBy   = "terragrunt"')
    head = edit(head, 'key            = "prod/database', 'key            = "prod/db')
    head = edit(head, 'version = "~> 5.40"', 'version = "~> 5.60"')
    head = edit(
        head, "value = aws_db_instance.main.endpoint", "value = aws_db_instance.main.address"
    )
    changes = by_address(run(base, head))
    assert {c.op for c in changes.values()} == {"update"}
    assert fields(changes["aws_db_instance.main"]) == {
        "instance_class": ("db.r6g.large", "db.r6g.xlarge"),
        "lifecycle.prevent_destroy": (True, False),
    }
    assert changes["aws_db_instance.main"].facts["prevent_destroy_before"] is True
    assert changes["aws_db_instance.main"].facts["prevent_destroy_after"] is False
    assert changes["aws_db_instance.main"].line == line_of(head, '"aws_db_instance" "main"')
    vpc = changes["module.vpc"]
    assert fields(vpc) == {"version": ("5.5.1", "5.8.0")}
    assert vpc.facts["module_version_before"] == "5.5.1"
    assert vpc.facts["module_version_after"] == "5.8.0"
    assert fields(changes["aws_s3_bucket_versioning.logs"]) == {
        "versioning_configuration.status": ("Enabled", "Suspended")
    }
    assert fields(changes["provider.aws.replica"]) == {"region": ("us-west-2", "eu-west-1")}
    assert fields(changes["var.environment"]) == {"default": ("prod", "production")}
    assert fields(changes["local.common_tags"]) == {"value.ManagedBy": ("terraform", "terragrunt")}
    # The S3 backend's `key` is the state file path, not a secret: it stays visible.
    assert fields(changes["terraform"]) == {
        "backend.s3.key": ("prod/database/terraform.tfstate", "prod/db/terraform.tfstate"),
        "required_providers.aws.version": ("~> 5.40", "~> 5.60"),
    }
    assert fields(changes["output.db_endpoint"]) == {
        "value": ("${aws_db_instance.main.endpoint}", "${aws_db_instance.main.address}")
    }
    assert set(changes) == {
        "aws_db_instance.main",
        "module.vpc",
        "aws_s3_bucket_versioning.logs",
        "provider.aws.replica",
        "var.environment",
        "local.common_tags",
        "terraform",
        "output.db_endpoint",
    }


def test_expressions_compare_in_normalized_form() -> None:
    base = fixture("main.tf")
    head = edit(base, 'name       = "${local.name_prefix}-db"', 'name = "${local.name_prefix}-db2"')
    head = edit(head, "tags       = local.common_tags", 'tags = "${local.common_tags}"')
    changes = run(base, head)
    assert [(c.address, fields(c)) for c in changes] == [
        (
            "aws_db_subnet_group.main",
            {"name": ("${local.name_prefix}-db", "${local.name_prefix}-db2")},
        )
    ]


def test_repeated_nested_blocks_compare_as_whole_lists() -> None:
    base = fixture("storage.tf")
    head = edit(
        base, "from_port   = 80\n    to_port     = 80", "from_port   = 8080\n    to_port     = 8080"
    )
    (change,) = run(base, head)
    assert change.address == "aws_security_group.web"
    before, after = fields(change)["ingress"]
    assert [rule["from_port"] for rule in before] == [443, 80]
    assert [rule["from_port"] for rule in after] == [443, 8080]


def test_repeated_nested_blocks_match_by_name_when_they_have_one() -> None:
    env = """resource "aws_elastic_beanstalk_environment" "api" {
  name        = "api-prod"
  application = "api"

  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "InstanceType"
    value     = "t3.small"
  }

  setting {
    namespace = "aws:autoscaling:asg"
    name      = "MaxSize"
    value     = "4"
  }
}
"""
    head = edit(env, '"t3.small"', '"t3.large"')
    (change,) = run(env, head, "infra/beanstalk.tf")
    assert fields(change) == {"setting[InstanceType].value": ("t3.small", "t3.large")}


def test_secret_attribute_is_redacted_in_update() -> None:
    base = fixture("main.tf")
    head = edit(base, 'password                  = "hunter2"', 'password = "hunter3"')
    head = edit(head, 'default   = "Sup3rS3cretDefault!"', 'default   = "hunter3"')
    changes = by_address(run(base, head))
    assert fields(changes["aws_db_instance.main"]) == {"password": (REDACTED, REDACTED)}
    assert fields(changes["var.db_admin_password"]) == {"default": (REDACTED, REDACTED)}
    assert_no_secrets(list(changes.values()))


def test_making_a_variable_non_sensitive_still_redacts_its_default() -> None:
    base = 'variable "api_signing_salt" {\n  sensitive = true\n  default   = "hunter2"\n}\n'
    head = 'variable "api_signing_salt" {\n  default = "hunter3"\n}\n'
    (change,) = run(base, head, "infra/variables.tf")
    assert fields(change)["default"] == (REDACTED, REDACTED)
    assert change.facts["sensitive_before"] is True
    assert change.facts["sensitive_after"] is False
    assert_no_secrets([change])


# -- moved / removed / count / for_each -------------------------------------------------------


def test_moved_blocks_turn_delete_and_create_into_rename() -> None:
    head = fixture("moved_head.tf")
    changes = by_address(run(fixture("moved_base.tf"), head))
    assert set(changes) == {
        "aws_instance.frontend",
        "aws_instance.batch",
        "module.vpc",
        "aws_eip.legacy",
    }
    frontend = changes["aws_instance.frontend"]
    assert frontend.op == "rename"
    assert frontend.facts["from"] == "aws_instance.web"
    assert frontend.facts["to"] == "aws_instance.frontend"
    assert frontend.facts["resource_type"] == "aws_instance"
    assert frontend.fields == ()
    assert frontend.line == line_of(head, '"aws_instance" "frontend"')
    batch = changes["aws_instance.batch"]
    assert batch.op == "rename"
    assert fields(batch) == {"instance_type": ("t3.large", "t3.xlarge")}
    assert changes["module.vpc"].op == "rename"
    assert changes["module.vpc"].facts["from"] == "module.network"
    legacy = changes["aws_eip.legacy"]
    assert legacy.op == "delete"
    assert legacy.facts["removed_block"] is True
    assert legacy.facts["destroy"] is False


def test_moved_chain_is_followed() -> None:
    base = 'resource "aws_sqs_queue" "a" {\n  name = "jobs"\n}\n'
    head = """resource "aws_sqs_queue" "c" {
  name = "jobs"
}

moved {
  from = aws_sqs_queue.a
  to   = aws_sqs_queue.b
}

moved {
  from = aws_sqs_queue.b
  to   = aws_sqs_queue.c
}
"""
    changes = run(base, head, "infra/queues.tf")
    assert [(c.address, c.op, c.facts["from"]) for c in changes] == [
        ("aws_sqs_queue.c", "rename", "aws_sqs_queue.a")
    ]


def test_moved_block_without_its_pair_is_its_own_change() -> None:
    base = 'resource "aws_sqs_queue" "b" {\n  name = "jobs"\n}\n'
    head = base + "\nmoved {\n  from = aws_sqs_queue.a\n  to   = aws_sqs_queue.b\n}\n"
    (change,) = run(base, head, "infra/queues.tf")
    assert (change.address, change.op) == ("moved.aws_sqs_queue.a", "create")
    assert change.facts == {
        "block_type": "moved",
        "from": "aws_sqs_queue.a",
        "to": "aws_sqs_queue.b",
        "module_dir": "infra",
    }


def test_without_moved_a_rename_is_delete_plus_create() -> None:
    base = fixture("moved_base.tf")
    head = edit(base, '"aws_instance" "web"', '"aws_instance" "frontend"')
    changes = by_address(run(base, head))
    assert changes["aws_instance.web"].op == "delete"
    assert changes["aws_instance.frontend"].op == "create"


def test_count_and_for_each_changes_are_noted_in_facts() -> None:
    base = fixture("fleet.tf")
    head = edit(base, "count         = 3", "count         = 5")
    head = edit(head, 'toset(["ci", "release"])', 'toset(["ci", "release", "hotfix"])')
    head = edit(head, 'name                      = "jobs"', 'count = 2\n  name = "jobs"')
    changes = by_address(run(base, head))
    api = changes["aws_instance.api"]
    assert (api.facts["count_before"], api.facts["count_after"]) == (3, 5)
    assert fields(api) == {"count": (3, 5)}
    users = changes["aws_iam_user.deployers"]
    assert users.facts["for_each_changed"] is True
    jobs = changes["aws_sqs_queue.jobs"]
    assert (jobs.facts["count_before"], jobs.facts["count_after"]) == (None, 2)
    # A key added to a literal for_each set creates that instance.
    hotfix = changes['aws_iam_user.deployers["hotfix"]']
    assert (hotfix.op, hotfix.facts["instance_key"]) == ("create", "hotfix")
    assert set(changes) == {
        "aws_instance.api",
        "aws_iam_user.deployers",
        'aws_iam_user.deployers["hotfix"]',
        "aws_sqs_queue.jobs",
    }


def test_deleted_counted_database_keeps_count_and_snapshot_fields() -> None:
    base = fixture("fleet.tf")
    start = base.index('resource "aws_db_instance" "replica"')
    end = base.index("}\n", start) + 2
    (change,) = run(base, base[:start] + base[end:])
    assert change.op == "delete"
    assert change.facts["count_before"] == "${var.replica_count}"
    assert fields(change)["skip_final_snapshot"] == (True, None)


# -- tfvars and JSON -------------------------------------------------------------------------


def test_tfvars_assignments_are_objects_and_secret_names_are_redacted() -> None:
    base = fixture("prod.tfvars")
    head = edit(base, "replica_count   = 2", "replica_count   = 3")
    head = edit(head, '"correct-horse-battery-staple"', '"hunter3"')
    head = edit(head, "new_checkout = false", "new_checkout = true")
    changes = by_address(run(base, head, "env/prod.tfvars"))
    assert fields(changes["tfvars.replica_count"]) == {"value": (2, 3)}
    assert fields(changes["tfvars.db_password"]) == {"value": (REDACTED, REDACTED)}
    assert fields(changes["tfvars.feature_flags"]) == {"value.new_checkout": (False, True)}
    assert changes["tfvars.replica_count"].line == line_of(head, "replica_count")
    assert set(changes) == {"tfvars.replica_count", "tfvars.db_password", "tfvars.feature_flags"}
    assert_no_secrets(list(changes.values()))


def test_tf_json_parses_to_the_same_objects_as_hcl() -> None:
    hcl = parse_side(fixture("storage.tf").encode(), "hcl", "storage.tf")
    js = parse_side(fixture("storage.tf.json").encode(), "json", "storage.tf.json")
    assert list(hcl.objects) == list(js.objects)
    assert diff_files("storage.tf", hcl, js) == []
    assert diff_files("storage.tf", js, hcl) == []


def test_tf_json_changes_match_the_same_edit_in_hcl() -> None:
    def summary(changes: list[Change]) -> list[tuple[str, str, tuple[Any, ...]]]:
        return [(c.address, c.op, c.fields) for c in changes]

    tf, js = fixture("storage.tf"), fixture("storage.tf.json")
    tf_head = edit(tf, "force_destroy = false", "force_destroy = true")
    tf_head = edit(tf_head, 'version = "0.92.0"', 'version = "0.95.0"')
    js_head = edit(js, '"force_destroy": false', '"force_destroy": true')
    js_head = edit(js_head, '"version": "0.92.0"', '"version": "0.95.0"')
    from_tf = run(tf, tf_head, "infra/storage.tf")
    from_js = run(js, js_head, "infra/storage.tf.json")
    assert summary(from_tf) == summary(from_js)
    assert {c.address for c in from_js} == {"aws_s3_bucket.artifacts", "module.cdn"}
    assert by_address(from_js)["aws_s3_bucket.artifacts"].line == line_of(js_head, '"artifacts": {')


# -- unparseable -----------------------------------------------------------------------------


def test_broken_brace_is_unparseable_with_a_line() -> None:
    broken = fixture("storage.tf").replace("  lifecycle {\n", "  lifecycle \n", 1)
    with pytest.raises(UnparseableError) as err:
        run(fixture("storage.tf"), broken)
    assert err.value.file == "infra/main.tf"
    assert err.value.line is not None
    assert "invalid HCL" in err.value.message


def test_unclosed_block_at_end_of_file_is_unparseable() -> None:
    with pytest.raises(UnparseableError, match="end of file"):
        run(None, fixture("storage.tf").rstrip().rstrip("}"))


def test_invalid_utf8_is_unparseable() -> None:
    bad = fixture("storage.tf").encode().replace(b"platform", b"plat\xffform")
    with pytest.raises(UnparseableError, match="UTF-8"):
        run(fixture("storage.tf"), bad)


def test_binary_content_is_unparseable() -> None:
    with pytest.raises(UnparseableError, match="binary"):
        run(None, b"\x7fELF\x02\x01\x01\x00\x00\x00terraform-provider-aws")


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        ("a.tf", 'resource "aws_sqs_queue" "q" {}\nresource "aws_sqs_queue" "q" {}\n', "twice"),
        ("a.tf", 'resource "aws_sqs_queue" {\n  name = "q"\n}\n', "2 label"),
        ("a.tf", 'resource "aws_sqs_queue" "q" {\n  name = "a"\n  name = "b"\n}\n', "set twice"),
        ("a.tf", 'region = "us-east-1"\n', "outside any block"),
        ("a.tfvars", "locals {\n  a = 1\n}\n", "assignments only"),
        ("a.tf.json", '{"resource": {"aws_sqs_queue": {"q": {"name": "q",}}}}', "invalid JSON"),
        ("a.tf.json", '["resource"]', "JSON object"),
    ],
)
def test_invalid_terraform_is_unparseable(path: str, text: str, message: str) -> None:
    with pytest.raises(UnparseableError, match=message):
        run(None, text, path)


# -- properties ------------------------------------------------------------------------------

_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_SCALARS = st.one_of(
    st.integers(-1000, 10**6),
    st.booleans(),
    st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=12),
    st.sampled_from(["var.region", "aws_vpc.main.id", 'lower("ABC")', "local.tags"]).map(
        lambda e: ("expr", e)
    ),
)
_BODIES = st.dictionaries(_NAMES, _SCALARS, max_size=5)
_RESOURCES = st.dictionaries(
    st.tuples(st.sampled_from(["aws_s3_bucket", "aws_instance", "aws_iam_role"]), _NAMES),
    _BODIES,
    max_size=6,
)


def _render_value(value: Any) -> str:
    if isinstance(value, tuple):
        return str(value[1])
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)


def _render(
    resources: dict[tuple[str, str], dict[str, Any]],
    order: list[int],
    indent: str,
    flip: bool = False,
) -> str:
    """HCL for `resources`, blocks in `order`, attributes reversed when `flip`."""
    items = list(resources.items())
    blocks = []
    for index in order:
        (rtype, rname), body = items[index]
        attrs = list(body.items())
        attrs = attrs[::-1] if flip else attrs
        lines = [f"{indent}{k} = {_render_value(v)}" for k, v in attrs]
        blocks.append(f'# {rname}\nresource "{rtype}" "{rname}" {{\n' + "\n".join(lines) + "\n}\n")
    return "\n".join(blocks)


def _parse(text: str) -> TfFile:
    return parse_side(text.encode(), "hcl", "gen.tf")


@settings(max_examples=examples(40), deadline=None)
@given(_RESOURCES, st.randoms(use_true_random=False), st.sampled_from(["  ", "    ", "\t"]))
def test_property_reordering_and_reformatting_give_nothing(
    resources: dict[tuple[str, str], dict[str, Any]], rnd: Any, indent: str
) -> None:
    order = list(range(len(resources)))
    text = _render(resources, order, "  ")
    assert diff_files("gen.tf", _parse(text), _parse(text)) == []
    rnd.shuffle(order)
    shuffled = _render(resources, order, indent, flip=True)
    assert diff_files("gen.tf", _parse(text), _parse(shuffled)) == []


@settings(max_examples=examples(40), deadline=None)
@given(_RESOURCES, _RESOURCES)
def test_property_swapping_sides_swaps_create_and_delete(
    first: dict[tuple[str, str], dict[str, Any]], second: dict[tuple[str, str], dict[str, Any]]
) -> None:
    a = _parse(_render(first, list(range(len(first))), "  "))
    b = _parse(_render(second, list(range(len(second))), "  "))
    forward = {(c.address, c.op) for c in diff_files("gen.tf", a, b)}
    backward = {(c.address, c.op) for c in diff_files("gen.tf", b, a)}
    flip = {"create": "delete", "delete": "create", "update": "update"}
    assert {(address, flip[op]) for address, op in forward} == backward
    assert {address for address, op in forward if op == "create"} == {
        f"{t}.{n}" for t, n in second.keys() - first.keys()
    }


def test_import_and_check_blocks_are_objects() -> None:
    base = 'resource "aws_s3_bucket" "legacy" {\n  bucket = "acme-legacy-assets"\n}\n'
    head = (
        base
        + '\nimport {\n  to = aws_s3_bucket.legacy\n  id = "acme-legacy-assets"\n}\n'
        + '\ncheck "site_up" {\n  data "http" "site" {\n    url = "https://acme.example"\n  }\n\n'
        + "  assert {\n    condition     = data.http.site.status_code == 200\n"
        + '    error_message = "site down"\n  }\n}\n'
    )
    changes = by_address(run(base, head, "infra/legacy.tf"))
    assert set(changes) == {"import.aws_s3_bucket.legacy", "check.site_up"}
    imported = changes["import.aws_s3_bucket.legacy"]
    assert imported.op == "create"
    assert imported.facts == {
        "block_type": "import",
        "to": "aws_s3_bucket.legacy",
        "module_dir": "infra",
    }
    assert fields(changes["check.site_up"])["data.http.site.url"] == (None, "https://acme.example")
