"""Play the demo scenario end to end and show what each audience sees.

Agents: each PR's check-run conclusion and title. Reviewers: who counted and who did not.
Compliance: the merge audit export and a verified hash chain, kept in ./countersign-demo.db.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.demo.console import DEMO_USER, add_demo_sign_in, console_settings
from app.demo.stack import LocalStack
from app.sim.scenario import load_file
from app.sim.scenario import run as play
from app.store.audit.export import export_merges
from app.store.audit.verify import verify_chain

SCENARIO = Path(__file__).with_name("scenario.yaml")


def run_demo(
    db_path: Path = Path("countersign-demo.db"),
    console: Console | None = None,
    *,
    keep_serving: bool = False,
    wait: Callable[[], None] | None = None,
) -> bool:
    """Returns True when every step behaved as scripted and the audit chain verifies.

    With `keep_serving` the App, the simulator and the console stay up after the report until
    `wait` returns (default: until Ctrl-C), so the console can be browsed on the demo's data.
    """
    out = console or Console()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path.resolve()}"
    scenario = load_file(SCENARIO)
    started = time.perf_counter()
    out.print(f"[bold]Countersign demo[/bold]: {scenario.description.strip()}\n")
    public_key = db_path.with_name(db_path.stem + "-signing-key.pub.pem")
    console_config = console_settings(public_key if keep_serving else None)
    with LocalStack(url, extensions=(add_demo_sign_in,), **console_config) as stack:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=out
        ) as progress:
            task = progress.add_task("starting", total=len(scenario.steps))

            def on_step(line: str) -> None:
                progress.console.print(f"  [green]✓[/green] {line}")
                progress.advance(task)

            progress.update(task, description="playing agent pull requests")
            play(stack.sim, scenario, on_step=on_step)
            stack.sim.wait_idle(timeout=20)
            progress.update(task, description="waiting for the merge records")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                lines = list(export_merges(stack.runtime.engine))  # type: ignore[union-attr]
                if len(lines) >= 4:  # header, two merges, footer
                    break
                time.sleep(0.2)
            progress.update(task, description="done")
            table = Table(title="Check runs (what agents and reviewers see)")
            for column in ("PR", "author", "conclusion", "title"):
                table.add_column(column)
            for number in sorted(pr.number for pr in stack.sim.world.pulls.values()):
                pr = stack.sim.pr(f"acme/platform#{number}")
                run = stack.sim.latest_check(pr)
                table.add_row(
                    f"#{number} {pr.title}",
                    pr.author,
                    run.conclusion or run.status if run else "none",
                    run.title if run else "",
                )
            engine = stack.runtime.engine  # type: ignore[union-attr]
            export = "".join(export_merges(engine))
            result = verify_chain(engine)
        out.print(table)
        out.print("\n[bold]Merge audit export (JSONL)[/bold]")
        for line in export.splitlines():
            record = json.loads(line)
            if "_countersign_export" in record or "_countersign_export_end" in record:
                continue
            out.print(
                f"  seq {record['seq']}: {record['repo']}#{record['pr']} merged by {record['merged_by']}"
                f" · agent {record['agent_id']} · run {record['run_id']} · tier {record['tier']}"
                f" · check {record['check_conclusion']} · bypass={record['bypass']}"
                f" · approvals {[a['login'] for a in record['approvals']]}"
            )
        verdict = (
            "[green]verified[/green]"
            if result.ok
            else f"[red]BROKEN at seq {result.first_bad_seq}[/red]"
        )
        out.print(f"\nAudit chain: {result.count} events, {verdict}")
        out.print(f"Finished in {time.perf_counter() - started:.1f} s. Explore the trail:\n")
        buf = io.StringIO()
        buf.write(f"  export COUNTERSIGN_DATABASE_URL={url}\n")
        buf.write("  .venv/bin/countersign audit export --format jsonl -o merges.jsonl\n")
        buf.write("  .venv/bin/countersign audit verify --file merges.jsonl\n")
        buf.write("  .venv/bin/countersign audit verify\n")
        if not keep_serving:
            buf.write(
                "Browse it in the compliance console: .venv/bin/countersign demo --keep-serving\n"
            )
        out.print(buf.getvalue(), highlight=False, markup=False)
        if keep_serving:
            _serve_console(out, stack, public_key, wait)
    return result.ok


def _serve_console(
    out: Console, stack: LocalStack, public_key: Path, wait: Callable[[], None] | None
) -> None:
    out.print("\n[bold]Compliance console[/bold] (on the demo's data, until Ctrl-C)")
    out.print(f"  open      {stack.url}/console/demo-sign-in", highlight=False, markup=False)
    out.print(
        f"  signs in  {DEMO_USER} (acme/compliance) through the simulated GitHub; "
        f"another user: …/console/demo-sign-in?as=carol",
        highlight=False,
        markup=False,
    )
    out.print(f"  verify downloaded bundles with {public_key}", highlight=False, markup=False)
    try:
        (wait or threading.Event().wait)()
    except KeyboardInterrupt:
        out.print("stopping")
