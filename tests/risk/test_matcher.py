"""Static `match` keys: simple globs on type/address/field, gitignore globs on files, AND/OR."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.globs import glob_regex
from app.core.models import Change, FieldChange
from app.risk.matcher import Matcher


def tf(address: str, rtype: str, file: str = "infra/db.tf", **facts: Any) -> Change:
    return Change(
        file=file,
        kind="terraform",
        address=address,
        op="delete",
        facts={"block_type": "resource", "resource_type": rtype, **facts},
    )


@pytest.mark.parametrize(
    ("globs", "text", "expected"),
    [
        (["aws_db_*"], "aws_db_instance", True),
        (["aws_db_*"], "aws_dynamodb_table", False),
        (["azurerm_*sql*"], "azurerm_mssql_database", True),
        (["azurerm_*sql*"], "azurerm_storage_account", False),
        (["aws_s3_bucket"], "aws_s3_bucket_policy", False),
        (["ingress*.cidr_blocks"], "ingress.cidr_blocks", True),
        (["containers[web].image"], "containers[web].image", True),
        (["containers[web].image"], "containersw.image", False),
        (["spec.template.*.image"], "spec.template.spec.containers[api].image", True),
        (["node_coun?"], "node_count", True),
        (["a.b"], "aXb", False),
    ],
)
def test_simple_globs(globs: list[str], text: str, expected: bool) -> None:
    assert bool(glob_regex(globs).match(text)) is expected


def test_type_glob_reads_resource_type_or_object_kind() -> None:
    matcher = Matcher.build(type=["StatefulSet", "aws_db_*"])
    assert matcher.match(tf("aws_db_instance.main", "aws_db_instance"))[0]
    k8s = Change(
        file="k8s/pg.yaml",
        kind="kubernetes",
        address="StatefulSet/data/pg",
        op="delete",
        facts={"object_kind": "StatefulSet"},
    )
    assert matcher.match(k8s)[0]
    assert not matcher.match(tf("aws_sns_topic.x", "aws_sns_topic"))[0]
    no_facts = Change(file="x.tf", kind="terraform", address="terraform", op="update")
    assert not matcher.match(no_facts)[0]


@pytest.mark.parametrize(
    ("globs", "path", "expected"),
    [
        (["infra/**"], "infra/prod/eu/db.tf", True),
        (["infra/**"], "modules/infra/db.tf", False),
        (["*.tf"], "modules/vpc/main.tf", True),
        (["/main.tf"], "modules/vpc/main.tf", False),
        (["catalog/**.json"], "catalog/eu/plans.json", True),
        (["catalog/**.json"], "catalog/plans.json", True),
        (["catalog/**.json"], "catalog/plans.csv", False),
    ],
)
def test_file_globs_are_gitignore_style(globs: list[str], path: str, expected: bool) -> None:
    matcher = Matcher.build(file=globs)
    change = Change(file=path, kind="data", address="a", op="update")
    assert matcher.match(change)[0] is expected
    assert matcher.match(change)[0] is expected, "cached answer is the same"


def test_keys_are_and_values_are_or() -> None:
    matcher = Matcher.build(
        kind=["terraform"],
        op=["delete", "update"],
        address=["aws_db_*", "module.db"],
        environment=["production"],
    )
    assert matcher.match(tf("aws_db_instance.main", "aws_db_instance", environment="production"))[0]
    assert not matcher.match(tf("aws_db_instance.main", "aws_db_instance", environment="staging"))[
        0
    ]
    assert not matcher.match(tf("aws_db_instance.main", "aws_db_instance"))[0]
    assert not matcher.match(tf("aws_s3_bucket.x", "aws_s3_bucket", environment="production"))[0]
    create = tf("aws_db_instance.main", "aws_db_instance", environment="production")
    assert not matcher.match(create.model_copy(update={"op": "create"}))[0]


def test_field_glob_reports_the_first_matching_field() -> None:
    change = Change(
        file="infra/sg.tf",
        kind="terraform",
        address="aws_security_group.web",
        op="update",
        fields=(
            FieldChange(path="description", before="a", after="b"),
            FieldChange(path="ingress.cidr_blocks", before=["10.0.0.0/8"], after=["0.0.0.0/0"]),
        ),
    )
    assert Matcher.build(field=["ingress*"]).match(change) == (True, "ingress.cidr_blocks")
    assert Matcher.build().match(change) == (True, "description")
    assert Matcher.build(field=["egress*"]).match(change) == (False, None)
