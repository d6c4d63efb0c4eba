"""Other Apps on the same repositories: GitHub Actions and CI Apps write check runs too.

A check run belongs to the App that created it (`app.id`); another App may use the same name
(an Actions job called `countersign`). The App under test must find its own run by its App id and
cannot update another App's run (GitHub answers 403), so tests create such runs here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.sim import checks
from app.sim.state import CheckRun, OtherApp, SimError

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

GITHUB_ACTIONS = OtherApp(id=15368, slug="github-actions", name="GitHub Actions")


def foreign_check_run(
    sim: Simulator,
    repo: str,
    head_sha: str,
    name: str,
    *,
    app: OtherApp = GITHUB_ACTIONS,
    conclusion: str | None = "success",
    title: str = "Job finished",
) -> CheckRun:
    """A check run written by `app` (not the App under test) on `head_sha`."""
    with sim.lock:
        r = sim.world.repo(repo)
        if r is None:
            raise SimError(404, f"no repository {repo!r}")
        if head_sha not in r.commits:
            raise SimError(422, f"No commit found for SHA: {head_sha}")
        if sim.world.app is not None and app.id == sim.world.app.id:
            raise SimError(422, "a foreign check run needs another App's id")
        sim.world.other_apps[app.id] = app
        now = sim.now()
        run = CheckRun(sim.world.new_id(), r.full_name, head_sha, name, app.id, sim.world.new_id())
        body = {"status": "completed" if conclusion else "in_progress", "conclusion": conclusion}
        checks.apply(run, {**body, "output": {"title": title, "summary": title}}, now)
        sim.world.check_runs[run.id] = run
        sim.log.append(f"foreign_check_run {r.full_name} {head_sha[:7]} {name} by {app.slug}")
        return run
