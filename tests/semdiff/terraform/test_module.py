"""Terraform identity over a module directory: moves between files, moved/removed, instances.

Run through the dispatcher (`analyze_files` with the unchanged siblings as context files), as the
App and `analyze --repo` run it, and through the shipped risk rules where the tier is the point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.core.snapshot import ContextFile
from app.risk import RulePack, evaluate_rules, load_rule_pack, tier_for
from app.semdiff.dispatch import analyze_files
from tests.examples import examples

ROOT = Path(__file__).resolve().parents[3]
MODULE = ROOT / "tests" / "fixtures" / "terraform" / "vpc_module"
DIR = "modules/network"


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def read(name: str) -> bytes:
    return (MODULE / name).read_bytes()


def context(*extra: tuple[str, str]) -> list[ContextFile]:
    """The module's unchanged siblings (variables, outputs, versions), plus any given."""
    files = [
        ContextFile(path=f"{DIR}/{p.name}", content=p.read_bytes())
        for p in sorted((MODULE / "context").iterdir())
    ]
    return files + [
        ContextFile(path=f"{DIR}/{name}", content=text.encode()) for name, text in extra
    ]


def modified(name: str, base: str | bytes, head: str | bytes) -> FileDiff:
    return FileDiff(path=f"{DIR}/{name}", base=_bytes(base), head=_bytes(head))


def added(name: str, head: str | bytes) -> FileDiff:
    return FileDiff(path=f"{DIR}/{name}", status="added", head=_bytes(head))


def removed(name: str, base: str | bytes) -> FileDiff:
    return FileDiff(path=f"{DIR}/{name}", status="removed", base=_bytes(base))


def _bytes(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


def run(*files: FileDiff, extra: tuple[tuple[str, str], ...] = ()) -> list[Change]:
    return analyze_files(files, RepoConfig(), context(*extra))


def ops(changes: list[Change]) -> list[tuple[str, str]]:
    return sorted((c.op, c.address) for c in changes)


def rules_hit(pack: RulePack, changes: list[Change]) -> dict[str, Any]:
    findings = evaluate_rules(pack, changes, is_agent=True, author="infra-bot[bot]")
    assert not [f for f in findings if f.rule == "risk.rule-error"], findings
    return {"rules": sorted({f.rule for f in findings}), "tier": tier_for(findings)}


def block(text: str, start: str) -> str:
    """The top-level block of `text` that starts with `start` (up to its closing brace line)."""
    begin = text.index(start)
    return text[begin : text.index("\n}\n", begin) + 3]


# -- moving blocks between files of one module ----------------------------------------------


def test_splitting_endpoints_into_their_own_file_deletes_nothing(pack: RulePack) -> None:
    """The real refactor that gave 62 fake deletes: endpoints (and the DB) move to new files."""
    changes = run(
        modified("main.tf", read("base/main.tf"), read("head/main.tf")),
        added("vpc-endpoints.tf", read("head/vpc-endpoints.tf")),
        added("rds.tf", read("head/rds.tf")),
    )
    # Only the subnet group was edited on its way to rds.tf: one update on the head file.
    (change,) = changes
    assert (change.op, change.address) == ("update", "aws_db_subnet_group.orders")
    assert (change.file, change.old_file) == (f"{DIR}/rds.tf", f"{DIR}/main.tf")
    assert [f.path for f in change.fields] == ["tags"]
    assert change.facts["module_dir"] == DIR
    assert change.line == 1  # where it sits in rds.tf
    assert rules_hit(pack, changes) == {"rules": ["terraform.change"], "tier": 1}


def test_moving_the_database_to_another_file_is_no_change(pack: RulePack) -> None:
    base = read("base/main.tf").decode()
    db = block(base, 'resource "aws_db_instance" "orders"')
    changes = run(modified("main.tf", base, base.replace(db, "")), added("database.tf", db))
    assert changes == []
    assert rules_hit(pack, changes)["tier"] == 0


def test_moved_and_edited_database_is_one_update_not_a_destroy(pack: RulePack) -> None:
    base = read("base/main.tf").decode()
    db = block(base, 'resource "aws_db_instance" "orders"')
    resized = db.replace('"db.r6g.large"', '"db.r6g.xlarge"')
    (change,) = run(modified("main.tf", base, base.replace(db, "")), added("database.tf", resized))
    assert (change.op, change.file, change.old_file) == (
        "update",
        f"{DIR}/database.tf",
        f"{DIR}/main.tf",
    )
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("instance_class", "db.r6g.large", "db.r6g.xlarge")
    ]
    assert rules_hit(pack, [change]) == {"rules": ["terraform.scaling"], "tier": 1}


def test_block_moved_out_of_a_deleted_file_is_no_change() -> None:
    endpoints = read("head/vpc-endpoints.tf").decode()
    changes = run(
        removed("vpc-endpoints.tf", endpoints),
        modified("main.tf", read("head/main.tf"), read("head/main.tf") + b"\n" + _bytes(endpoints)),
    )
    assert changes == []


def test_a_block_moved_to_another_directory_is_a_delete_and_a_create() -> None:
    db = block(read("base/main.tf").decode(), 'resource "aws_db_instance" "orders"')
    files = [
        FileDiff(path=f"{DIR}/db.tf", status="removed", base=db.encode()),
        FileDiff(path="modules/database/main.tf", status="added", head=db.encode()),
    ]
    changes = analyze_files(files, RepoConfig(), context())
    assert ops(changes) == [
        ("create", "aws_db_instance.orders"),
        ("delete", "aws_db_instance.orders"),
    ]
    assert {c.facts["module_dir"] for c in changes} == {DIR, "modules/database"}


def test_unparseable_sibling_does_not_hide_deletes() -> None:
    """Fail closed: what vanished while the file it may have moved to cannot be read is deleted."""
    broken = read("head/vpc-endpoints.tf").decode().replace('vpc_endpoint_type = "Gateway"', "{{")
    changes = run(
        modified("main.tf", read("base/main.tf"), read("head/main.tf")),
        added("vpc-endpoints.tf", broken),
        added("rds.tf", read("head/rds.tf")),
    )
    unparseable = [c for c in changes if c.unparseable]
    assert [(c.file, c.kind, c.facts["detected_kind"]) for c in unparseable] == [
        (f"{DIR}/vpc-endpoints.tf", "text", "terraform")
    ]
    assert unparseable[0].facts["module_dir"] == DIR
    deleted = {c.address for c in changes if c.op == "delete"}
    assert "aws_vpc_endpoint.s3" in deleted
    assert "aws_security_group.vpc_endpoints" in deleted
    assert len(deleted) == 13  # 11 endpoints, their security group, the region data source
    assert all(c.file == f"{DIR}/main.tf" for c in changes if c.op == "delete")


def test_tfvars_are_inputs_not_module_code() -> None:
    tfvars = FileDiff(
        path=f"{DIR}/prod.tfvars",
        base=b'name = "prod"\ncidr = "10.40.0.0/16"\n',
        head=b'name = "prod"\ncidr = "10.41.0.0/16"\n',
    )
    (change,) = run(tfvars)
    assert (change.address, change.op) == ("tfvars.cidr", "update")
    assert "module_dir" not in change.facts


# -- moved {} and removed {} anywhere in the module -----------------------------------------

RENAMED_DB = 'resource "aws_db_instance" "primary"'


def test_moved_block_in_an_unchanged_sibling_turns_delete_and_create_into_a_rename(
    pack: RulePack,
) -> None:
    base = read("base/main.tf").decode()
    migrations = (
        "# Renames kept for module consumers (do not delete).\n"
        "moved {\n  from = aws_db_instance.orders\n  to   = aws_db_instance.primary\n}\n"
    )
    head = base.replace('resource "aws_db_instance" "orders"', RENAMED_DB)
    (change,) = run(modified("main.tf", base, head), extra=(("migrations.tf", migrations),))
    assert (change.op, change.address) == ("rename", "aws_db_instance.primary")
    assert (change.facts["from"], change.facts["to"]) == (
        "aws_db_instance.orders",
        "aws_db_instance.primary",
    )
    assert change.fields == ()
    assert rules_hit(pack, [change])["tier"] == 1


def test_moved_chain_and_module_call_rename_in_a_new_migrations_file() -> None:
    base = (
        'module "network" {\n  source  = "terraform-aws-modules/vpc/aws"\n'
        '  version = "5.8.1"\n  cidr    = "10.40.0.0/16"\n}\n\n'
        'resource "aws_sqs_queue" "a" {\n  name = "jobs"\n}\n'
    )
    head = base.replace('module "network"', 'module "vpc"').replace('"a"', '"c"')
    migrations = (
        "moved {\n  from = module.network\n  to   = module.vpc\n}\n\n"
        "moved {\n  from = aws_sqs_queue.a\n  to   = aws_sqs_queue.b\n}\n\n"
        "moved {\n  from = aws_sqs_queue.b\n  to   = aws_sqs_queue.c\n}\n"
    )
    changes = run(modified("main.tf", base, head), added("migrations.tf", migrations))
    assert ops(changes) == [("rename", "aws_sqs_queue.c"), ("rename", "module.vpc")]


def test_moving_a_resource_into_a_child_module_is_a_rename() -> None:
    base = read("base/main.tf").decode()
    db = block(base, 'resource "aws_db_instance" "orders"')
    head = base.replace(db, 'module "orders_db" {\n  source = "../database"\n}\n')
    migrations = "moved {\n  from = aws_db_instance.orders\n  to   = module.orders_db.aws_db_instance.this\n}\n"
    changes = run(modified("main.tf", base, head), added("migrations.tf", migrations))
    by_op = {c.op: c for c in changes}
    assert ops(changes) == [
        ("create", "module.orders_db"),
        ("rename", "module.orders_db.aws_db_instance.this"),
    ]
    assert by_op["rename"].facts["into_module"] == "module.orders_db"


@pytest.mark.parametrize(
    ("lifecycle", "destroy", "rule", "tier"),
    [
        ("\n  lifecycle {\n    destroy = false\n  }\n", False, "terraform.remove-from-state", 1),
        ("\n  lifecycle {\n    destroy = true\n  }\n", True, "terraform.delete-stateful", 3),
        ("", True, "terraform.delete-stateful", 3),
    ],
)
def test_removed_block_decides_between_forget_and_destroy(
    pack: RulePack, lifecycle: str, destroy: bool, rule: str, tier: int
) -> None:
    base = read("base/main.tf").decode()
    db = block(base, 'resource "aws_db_instance" "orders"')
    migrations = f"removed {{\n  from = aws_db_instance.orders\n{lifecycle}}}\n"
    changes = run(
        modified("main.tf", base, base.replace(db, "")), added("migrations.tf", migrations)
    )
    (change,) = changes
    assert (change.op, change.address, change.file) == (
        "delete",
        "aws_db_instance.orders",
        f"{DIR}/main.tf",
    )
    assert change.facts["removed_block"] is True
    assert change.facts["destroy"] is destroy
    hit = rules_hit(pack, changes)
    assert rule in hit["rules"]
    assert hit["tier"] == tier


# -- count and for_each instances ------------------------------------------------------------

BASTION = """resource "aws_instance" "bastion" {
  count                  = 1
  ami                    = "ami-0c55b159cbfafe1f0"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.private[0].id
  vpc_security_group_ids = [aws_security_group.bastion.id]
}

resource "aws_iam_user" "deployers" {
  for_each = toset(["ci", "release", "hotfix"])
  name     = "deploy-${each.key}"
}

resource "aws_s3_bucket" "regional" {
  for_each = {
    "eu-west-1"    = "acme-artifacts-euw1"
    "us-east-1"    = "acme-artifacts-use1"
  }
  bucket = each.value
}
"""


def test_count_one_to_zero_deletes_the_indexed_instance(pack: RulePack) -> None:
    head = BASTION.replace("count                  = 1", "count                  = 0")
    changes = run(modified("bastion.tf", BASTION, head))
    assert ops(changes) == [
        ("delete", "aws_instance.bastion[0]"),
        ("update", "aws_instance.bastion"),
    ]
    gone = next(c for c in changes if c.op == "delete")
    assert (gone.facts["count_before"], gone.facts["count_after"]) == (1, 0)
    assert gone.facts["instance_key"] == 0
    assert ("instance_type", "t3.micro", None) in [(f.path, f.before, f.after) for f in gone.fields]
    assert "terraform.delete" in rules_hit(pack, changes)["rules"]


def test_count_decrease_deletes_the_top_instances_and_increase_creates_none() -> None:
    three = BASTION.replace("count                  = 1", "count                  = 3")
    assert ops(run(modified("bastion.tf", three, BASTION))) == [
        ("delete", "aws_instance.bastion[1]"),
        ("delete", "aws_instance.bastion[2]"),
        ("update", "aws_instance.bastion"),
    ]
    assert ops(run(modified("bastion.tf", BASTION, three))) == [("update", "aws_instance.bastion")]


def test_for_each_keys_removed_and_added_delete_and_create_instances(pack: RulePack) -> None:
    head = BASTION.replace('"release", "hotfix"', '"release", "oncall"').replace(
        '    "us-east-1"    = "acme-artifacts-use1"\n', ""
    )
    changes = run(modified("bastion.tf", BASTION, head))
    assert ops(changes) == [
        ("create", 'aws_iam_user.deployers["oncall"]'),
        ("delete", 'aws_iam_user.deployers["hotfix"]'),
        ("delete", 'aws_s3_bucket.regional["us-east-1"]'),
        ("update", "aws_iam_user.deployers"),
        ("update", "aws_s3_bucket.regional"),
    ]
    hit = rules_hit(pack, changes)
    assert "terraform.delete-stateful" in hit["rules"]  # the us-east-1 bucket
    assert hit["tier"] == 3


def test_non_literal_count_and_for_each_keep_the_facts_only() -> None:
    base = BASTION.replace("count                  = 1", "count                  = var.bastions")
    head = base.replace("var.bastions", "var.bastions - 1").replace(
        'toset(["ci", "release", "hotfix"])', "toset(var.deployers)"
    )
    changes = run(modified("bastion.tf", base, head))
    assert ops(changes) == [
        ("update", "aws_iam_user.deployers"),
        ("update", "aws_instance.bastion"),
    ]
    users = next(c for c in changes if c.address == "aws_iam_user.deployers")
    assert users.facts["for_each_changed"] is True


def test_moved_from_count_to_for_each_is_no_delete() -> None:
    base = 'resource "aws_eip" "nat" {\n  count  = 1\n  domain = "vpc"\n}\n'
    head = (
        'resource "aws_eip" "nat" {\n  for_each = toset(["eu-west-1a"])\n  domain   = "vpc"\n}\n\n'
        'moved {\n  from = aws_eip.nat[0]\n  to   = aws_eip.nat["eu-west-1a"]\n}\n'
    )
    changes = run(modified("nat.tf", base, head))
    assert ops(changes) == [("rename", 'aws_eip.nat["eu-west-1a"]'), ("update", "aws_eip.nat")]


# -- file-level changes ----------------------------------------------------------------------


def test_renamed_file_without_edits_is_one_rename() -> None:
    main = read("head/main.tf")
    file = FileDiff(
        path=f"{DIR}/network.tf", old_path=f"{DIR}/main.tf", status="renamed", base=main, head=main
    )
    (change,) = run(file)
    assert (change.op, change.address, change.old_file) == ("rename", file.path, f"{DIR}/main.tf")
    assert change.facts["module_dir"] == DIR


def test_emptied_file_in_a_module_is_a_file_level_delete(pack: RulePack) -> None:
    (change,) = run(removed("legacy.tf", "# nothing left here\n"))
    assert (change.op, change.address, change.kind) == ("delete", f"{DIR}/legacy.tf", "terraform")
    rules_hit(pack, [change])


# -- properties ------------------------------------------------------------------------------

# A sample of the module's blocks (each a top-level block ending in a `}` line of its own).
BLOCKS = [
    block(read("base/main.tf").decode(), start)
    for start in (
        'resource "aws_vpc" "this"',
        'resource "aws_subnet" "private"',
        'resource "aws_security_group" "vpc_endpoints"',
        'resource "aws_vpc_endpoint" "s3"',
        'resource "aws_vpc_endpoint" "ssm"',
        'resource "aws_db_subnet_group" "orders"',
        'resource "aws_db_instance" "orders"',
    )
]
FILES = ("main.tf", "network.tf", "vpc-endpoints.tf", "rds.tf")


def layout(assignment: list[int]) -> dict[str, str]:
    """The module's blocks spread over files: block i goes to FILES[assignment[i]]."""
    out: dict[str, str] = {}
    for text, where in zip(BLOCKS, assignment, strict=True):
        name = FILES[where]
        out[name] = out.get(name, "") + "\n" + text
    return out


def module_pr(base: dict[str, str], head: dict[str, str]) -> list[Change]:
    files = []
    for name in sorted(set(base) | set(head)):
        b, h = base.get(name), head.get(name)
        if b == h:
            continue
        status = "added" if b is None else "removed" if h is None else "modified"
        files.append(
            FileDiff(
                path=f"{DIR}/{name}",
                status=status,
                base=None if b is None else b.encode(),
                head=None if h is None else h.encode(),
            )
        )
    unchanged = tuple((n, t) for n, t in base.items() if head.get(n) == t)
    return run(*files, extra=unchanged)


assignments = st.lists(st.integers(0, len(FILES) - 1), min_size=len(BLOCKS), max_size=len(BLOCKS))


@settings(max_examples=examples(15), deadline=None)
@given(base=assignments, head=assignments)
def test_property_any_redistribution_of_blocks_over_files_is_no_change(
    base: list[int], head: list[int]
) -> None:
    assert module_pr(layout(base), layout(head)) == []


@settings(max_examples=examples(15), deadline=None)
@given(base=assignments, head=assignments, dropped=st.sets(st.integers(0, len(BLOCKS) - 1)))
def test_property_dropping_blocks_deletes_exactly_those_objects(
    base: list[int], head: list[int], dropped: set[int]
) -> None:
    kept = [i for i in range(len(BLOCKS)) if i not in dropped]
    head_files: dict[str, str] = {}
    for i in kept:
        name = FILES[head[i]]
        head_files[name] = head_files.get(name, "") + "\n" + BLOCKS[i]
    changes = module_pr(layout(base), head_files)
    expected = {_address(BLOCKS[i]) for i in dropped}
    assert {c.address for c in changes if c.op == "delete" and c.address != c.file} == expected
    assert all(c.op == "delete" for c in changes)


def _address(block: str) -> str:
    words = block.split('"')
    return f"{words[1]}.{words[3]}"


def test_a_file_broken_in_head_stays_one_unparseable_change() -> None:
    """Its objects are not deleted (they may be in the text we cannot read); moves out count."""
    base = read("base/main.tf").decode()
    db = block(base, 'resource "aws_db_instance" "orders"')
    broken = base.replace(db, "").replace(
        'resource "aws_vpc" "this" {', 'resource "aws_vpc" "this" {{', 1
    )
    changes = run(modified("main.tf", base, broken), added("rds.tf", db))
    (change,) = changes
    assert (change.file, change.kind, change.facts["detected_kind"]) == (
        f"{DIR}/main.tf",
        "text",
        "terraform",
    )
    assert change.unparseable
