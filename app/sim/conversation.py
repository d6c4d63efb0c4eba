"""The PR's conversation in the simulator: labels (with the issue events that say who added them)
and issue comments, each emitting the webhook GitHub sends. Break-glass reads both."""

from __future__ import annotations

from typing import Literal

from app.sim import shapes, webhooks
from app.sim.base import PrRef, SimulatorBase
from app.sim.state import IssueComment, IssueEvent, Label, PullRequest, SimError


class Conversation(SimulatorBase):
    """Labels, issue events and comments of pull requests."""

    def add_labels(
        self, pr: PrRef, names: list[str], *, by: str | None = None, via_api: bool = True
    ) -> PullRequest:
        """POST /issues/{n}/labels: creates unknown labels; one `labeled` webhook per new label."""
        with self._op(via_api=via_api):
            p = self.pr(pr)
            r = self._repo(p.repo)
            sender = by or self.app_bot()
            for name in names:
                if name not in r.labels:
                    r.labels[name] = Label(self.world.new_id(), name)
                if name in p.labels:
                    continue
                p.labels.append(name)
                self._issue_event(p, "labeled", sender, name)
                label = shapes.label(self.world, r, r.labels[name])
                self._emit(
                    webhooks.pull_request_event(self.world, p, "labeled", sender, label=label)
                )
            return p

    def remove_label(
        self, pr: PrRef, name: str, *, by: str | None = None, via_api: bool = True
    ) -> PullRequest:
        """DELETE /issues/{n}/labels/{name}: 404 when absent, else `unlabeled`."""
        with self._op(via_api=via_api):
            p = self.pr(pr)
            r = self._repo(p.repo)
            if name not in p.labels:
                raise SimError(404, "Label does not exist")
            p.labels.remove(name)
            sender = by or self.app_bot()
            self._issue_event(p, "unlabeled", sender, name)
            label = shapes.label(self.world, r, r.labels[name])
            self._emit(webhooks.pull_request_event(self.world, p, "unlabeled", sender, label=label))
            return p

    def _issue_event(
        self, p: PullRequest, event: Literal["labeled", "unlabeled"], actor: str, name: str
    ) -> None:
        login = self._ensure_user(actor).login
        self.world.issue_events.append(
            IssueEvent(self.world.new_id(), p.repo, p.number, event, login, self.now(), name)
        )

    # --- the PR's conversation (issue comments) ------------------------------------------
    def comment(self, pr: PrRef, user: str, body: str, *, via_api: bool = False) -> IssueComment:
        """A comment on the PR's conversation (→ issue_comment.created)."""
        with self._op(via_api=via_api):
            p = self.pr(pr)
            if not body.strip():
                raise SimError(422, "Body cannot be blank")
            login = self._ensure_user(user).login
            now = self.now()
            c = IssueComment(self.world.new_id(), p.repo, p.number, login, body, now, now)
            self.world.comments[c.id] = c
            self.log.append(f"comment {p.repo}#{p.number} by {login}")
            self._emit(webhooks.issue_comment_event(self.world, c, "created", login))
            return c

    def edit_comment(self, comment_id: int, body: str, *, by: str) -> IssueComment:
        """Change a comment's body (→ issue_comment.edited with `changes.body.from`)."""
        with self._op():
            c = self.world.comments.get(comment_id)
            if c is None:
                raise SimError(404, "Not Found")
            before, c.body, c.updated_at = c.body, body, self.now()
            self._emit(
                webhooks.issue_comment_event(
                    self.world, c, "edited", by, changes={"body": {"from": before}}
                )
            )
            return c

    def delete_comment(self, comment_id: int, *, by: str) -> None:
        """Delete a comment (→ issue_comment.deleted)."""
        with self._op():
            c = self.world.comments.pop(comment_id, None)
            if c is None:
                raise SimError(404, "Not Found")
            self._emit(webhooks.issue_comment_event(self.world, c, "deleted", by))

    def comments_of(self, pr: PrRef) -> list[IssueComment]:
        p = self.pr(pr)
        return sorted(
            (c for c in self.world.comments.values() if (c.repo, c.number) == (p.repo, p.number)),
            key=lambda c: c.id,
        )
