"""`/countersign` comment commands are read exactly, or answered with their usage."""

from __future__ import annotations

import pytest

from app.gate.commands import FreezeException, Unreadable, Unwaive, Waive, parse_command


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "/countersign waive pricing.large-change plan_code:pro reason: promo INC-1 expires: 3d",
            Waive("pricing.large-change", "plan_code:pro", "promo INC-1", "3d"),
        ),
        (
            "/countersign waive pricing.large-change reason: known   promo",
            Waive("pricing.large-change", None, "known promo", None),
        ),
        ("/countersign unwaive pricing.large-change", Unwaive("pricing.large-change", None)),
        ("  /countersign unwaive a.b x:y", Unwaive("a.b", "x:y")),
        ("/countersign freeze-exception reason: hotfix", FreezeException("hotfix")),
        ("please /countersign waive a.b reason: x", None),
        ("LGTM", None),
    ],
)
def test_commands_are_read(body: str, expected: object) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("/countersign waive pricing.large-change", "a waiver needs a reason"),
        ("/countersign waive", "cannot read the command"),
        ("/countersign freeze-exception", "cannot read the command"),
        ("/countersign unwaive a.b c d", "cannot read the command"),
        ("/countersign approve", "unknown command `approve`"),
    ],
)
def test_unreadable_commands_get_their_usage(body: str, says: str) -> None:
    command = parse_command(body)
    assert isinstance(command, Unreadable) and says in command.message
