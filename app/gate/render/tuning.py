"""What the check says about waivers and change freezes (app/gate/waivers.py, app/gate/freeze.py).

Every string that came from a comment (a reason, an address) is escaped: the commenter controls it.
"""

from __future__ import annotations

from app.core.report import Report
from app.gate.render.escape import esc


def frozen(report: Report) -> bool:
    """A freeze in force covers the PR and no exception lifts it: the check waits."""
    return report.freeze is not None and report.freeze.exception is None


def freeze_title(report: Report) -> str:
    assert report.freeze is not None
    return f"Frozen until {report.freeze.until} ({report.freeze.name})"


def freeze_lines(report: Report) -> list[str]:
    """The freeze in force: until when, who may grant an exception, or whose exception counts."""
    freeze = report.freeze
    if freeze is None:
        return []
    head = f"**Change freeze** `{esc(freeze.name, 200)}` in force until {esc(freeze.until)}"
    if freeze.exception is not None:
        return [f"{head}: exception granted by {esc(freeze.exception, 600)}.", ""]
    who = ", ".join(esc(h) for h in freeze.exception_by) or "nobody (no `exception_by`)"
    lines = [
        f"{head}: this PR waits until then (the check clears by itself when the window ends).",
        "",
        f"An exception: `/countersign freeze-exception reason: …` by a member of {who}.",
        "",
    ]
    return (
        lines + [f"- {esc(why, 400)}" for why in freeze.refused] + ([""] if freeze.refused else [])
    )


def waiver_lines(report: Report) -> list[str]:
    """Each waiver: who, through which team, why, until when; or why it no longer waives."""
    if not report.waivers:
        return []
    lines = ["#### Waivers", ""]
    for w in report.waivers:
        where = f" at `{esc(w.address, 200)}`" if w.address else ""
        who = f"{esc(w.by)}" + (f" ({esc(w.team)})" if w.team else "")
        if w.state == "active":
            count = len(w.findings)
            lines.append(
                f"- `{esc(w.rule)}`{where} waived by {who} until {esc(w.expires_at)} "
                f"({count} finding{'s' if count != 1 else ''} left out of the tier): "
                f"{esc(w.reason, 500)}"
            )
        else:
            lines.append(
                f"- `{esc(w.rule)}`{where} by {who} **{w.state}**: {esc(w.why or '', 400)}"
            )
    return [*lines, ""]
