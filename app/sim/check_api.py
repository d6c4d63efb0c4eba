"""Check runs as the App drives them through the API, and the buttons users click on them.

Webhooks are always queued (never delivered inline), as GitHub does; `Simulator` mixes this in.
"""

from __future__ import annotations

from typing import Any

from app.sim import checks, webhooks
from app.sim.base import PrRef, SimulatorBase
from app.sim.state import CheckRun, SimError


class CheckRunApi(SimulatorBase):
    """POST/PATCH /check-runs, the newest run on a PR, and re-run / action requests."""

    def create_check_run(self, repo: str, body: Any, *, via_api: bool = True) -> CheckRun:
        """POST /check-runs: validate like GitHub (422), create (→ check_run.created)."""
        with self._op(via_api=via_api):
            r = self._repo(repo)
            data = checks.valid_body(body, creating=True)
            if data["head_sha"] not in r.commits:
                raise SimError(422, f"No commit found for SHA: {data['head_sha']}")
            app = self.world.app
            if app is None:
                raise SimError(403, "no App configured (Simulator.set_app)")
            run = CheckRun(
                self.world.new_id(),
                r.full_name,
                data["head_sha"],
                data["name"],
                app.id,
                check_suite_id=_suite_id(data["head_sha"]),
                started_at=self.now(),
            )
            checks.apply(run, {"status": "queued", **data}, self.now())
            self.world.check_runs[run.id] = run
            bot = f"{app.slug}[bot]"
            if self.emit_check_run_events:
                self._emit(webhooks.check_run_event(self.world, run, "created", bot))
                if run.status == "completed":
                    self._emit(webhooks.check_run_event(self.world, run, "completed", bot))
            return run

    def update_check_run(
        self, repo: str, check_run_id: int, body: Any, *, via_api: bool = True
    ) -> CheckRun:
        """PATCH /check-runs/{id}: annotations accumulate; completing emits check_run.completed."""
        with self._op(via_api=via_api):
            run = self.check_run(repo, check_run_id)
            data = checks.valid_body(body, creating=False)
            if checks.apply(run, data, self.now()) and self.emit_check_run_events:
                bot = f"{self.world.app.slug}[bot]" if self.world.app else "github"
                self._emit(webhooks.check_run_event(self.world, run, "completed", bot))
            return run

    def check_run(self, repo: str, check_run_id: int) -> CheckRun:
        run = self.world.check_runs.get(check_run_id)
        if run is None or run.repo != self._repo(repo).full_name:
            raise SimError(404, f"no check run {check_run_id} in {repo}")
        return run

    def latest_check(self, pr: PrRef, name: str = "countersign") -> CheckRun | None:
        """The newest check run called `name` that the App made on the PR's current head."""
        p = self.pr(pr)
        app_id = self.world.app.id if self.world.app else None
        runs = [
            c
            for c in self.check_runs_for(p.repo, p.head_sha)
            if c.name == name and c.app_id == app_id
        ]
        return max(runs, key=lambda c: c.id) if runs else None

    def rerequest_check(self, check_run_id: int, *, by: str) -> None:
        """A user clicked "Re-run" (→ check_run.rerequested)."""
        with self._op():
            run = self.world.check_runs.get(check_run_id)
            if run is None:
                raise SimError(404, f"no check run {check_run_id}")
            self._emit(webhooks.check_run_event(self.world, run, "rerequested", by))

    def rerequest_check_suite(self, check_run_id: int, *, by: str) -> None:
        """A user clicked "Re-run all checks" on the suite of a run (→ check_suite.rerequested)."""
        with self._op():
            run = self.world.check_runs.get(check_run_id)
            if run is None:
                raise SimError(404, f"no check run {check_run_id}")
            self._emit(webhooks.check_suite_event(self.world, run, "rerequested", by))

    def requested_action(self, check_run_id: int, identifier: str, *, by: str) -> None:
        """A user clicked one of the run's action buttons (→ check_run.requested_action)."""
        with self._op():
            run = self.world.check_runs.get(check_run_id)
            if run is None:
                raise SimError(404, f"no check run {check_run_id}")
            known = [a["identifier"] for a in run.actions]
            if identifier not in known:
                raise SimError(
                    422, f"check run {check_run_id} has no action {identifier!r}; it offers {known}"
                )
            self._emit(
                webhooks.check_run_event(self.world, run, "requested_action", by, identifier)
            )


def _suite_id(head_sha: str) -> int:
    """One check suite per head SHA (GitHub groups an App's runs per commit)."""
    return int(head_sha[:8], 16) if all(c in "0123456789abcdef" for c in head_sha[:8]) else 1
