"""PullRequestSnapshot: every PR fact the pure pipeline needs, captured once.

Built by `app/github` from the API, by `analyze` from git, and by tests directly; the policy engine
never sees a client (the policy-bot pattern).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from app.core.models import FileDiff

ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]


class SnapshotModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Review(SnapshotModel):
    login: str
    state: ReviewState
    commit_id: str | None = None
    submitted_at: datetime | None = None
    is_bot: bool = False
    id: int | None = None


class GitIdentity(SnapshotModel):
    """A raw git identity (`Name <e-mail>`), as written in the commit, linked to an account or not."""

    name: str = ""
    email: str = ""

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Commit(SnapshotModel):
    """One commit of the PR.

    `author_login`/`committer_login` are GitHub's linked accounts: `None` when the e-mail is not
    linked to any account (GitHub then answers `author: null`). The raw identities and the
    `Co-authored-by:` trailers stay here so an agent is recognised without a linked account.
    """

    sha: str
    message: str = ""
    author_login: str | None = None
    committer_login: str | None = None
    author: GitIdentity | None = None
    committer: GitIdentity | None = None
    co_authors: tuple[GitIdentity, ...] = ()


class ContextFile(SnapshotModel):
    """An unchanged file the semantic diff must see to judge a whole scope.

    Terraform's unit is the module (every `.tf`/`.tf.json` file of one directory): identity is
    decided over the whole directory, so the unchanged siblings of a changed `.tf` file are read
    too (the same bytes on both sides). Built by `app/github` from the head tree in the same
    GraphQL batch as the changed blobs, and by `analyze --repo` from git.
    """

    path: str
    content: bytes


class PlanProvenance(SnapshotModel):
    """Who posted a plan: an operator's upload token, or a GitHub Actions job (its OIDC claims).

    The gate counts an OIDC plan only when its workflow is one the base branch's
    `terraform.plan_workflows` names, at the base branch or the PR's merge ref
    (`app.gate.plan_trust`); the claims are kept so that rule is judged at evaluation time,
    against the config and PR the check is for.
    """

    via: Literal["oidc", "upload-token"]
    event_name: str = ""
    ref: str = ""
    sha: str = ""
    """The token's commit: the head, or (a `pull_request` run) the PR's test merge of the head,
    which the upload route confirmed with GitHub."""
    workflow_ref: str = ""
    job_workflow_ref: str = ""
    run_id: str = ""
    stage: Literal["pr", "apply"] = "pr"
    """`apply`: the plan an apply job posted for a merge commit (`POST /api/plans/…?stage=apply`),
    read only by the deployment protection rule, never by a PR's evaluation."""
    base_sha: str = ""
    """The base commit the plan was made against (`?base=SHA`); empty until the first evaluation
    records the base branch's tip then (`base_assumed`). A moved base can make it stale."""
    base_assumed: bool = False
    """The poster named no base: `base_sha` is the base's tip when the plan was first read."""
    module_dirs: tuple[str, ...] = ()
    """Module directories the plan's configuration sources locally (`../modules/x`): a base move
    that changes one of them makes the plan stale too."""

    @property
    def label(self) -> str:
        """What the audit record and the check name as the plan's source."""
        if self.via == "upload-token":
            return "upload-token"
        return f"oidc:{self.job_workflow_ref or self.workflow_ref or 'unknown'}"


class TerraformPlan(SnapshotModel):
    """A `terraform show -json` plan for one module directory, bound to the PR head.

    `sha256` is the digest of the plan's canonical JSON (`app.semdiff.terraform.plan.merge.plan_digest`), the
    same for the same plan however it was laid out: approvals and audit records bind to it.
    `provenance` is None for a plan read from a file (`countersign analyze --plan`).
    """

    dir: str
    sha256: str
    plan: dict[str, Any]
    provenance: PlanProvenance | None = None
    received_at: datetime | None = None
    """When the store received it (approvals given before a replacing plan arrived)."""


class BaseMove(SnapshotModel):
    """What changed on the base branch since a plan's base (`GET /compare/{plan_base}...{base}`):
    the fetch for `app.gate.plan_freshness`. `error` says why the files are unknown (fail closed)."""

    from_sha: str
    to_sha: str = ""
    files: tuple[str, ...] = ()
    error: str = ""


class LabelEvent(SnapshotModel):
    """A label added to or removed from the PR (`GET /issues/{n}/events`): by whom and when."""

    event: Literal["labeled", "unlabeled"]
    label: str
    actor: str
    """Empty when GitHub names no actor (`actor: null`)."""
    actor_is_bot: bool = False
    at: datetime


class PrComment(SnapshotModel):
    """A comment on the PR's conversation (`GET /issues/{n}/comments`)."""

    id: int
    author: str
    author_is_bot: bool = False
    at: datetime
    body: str
    url: str = ""


class Conversation(SnapshotModel):
    """What break-glass is judged on, read only when its label is on the PR.

    `head_first_seen` is when Countersign first saw the current head (its own record): a label
    or comment older than that was given for an earlier head. `error` says why the facts could
    not be read (then nobody has broken glass: fail closed)."""

    label_events: tuple[LabelEvent, ...] = ()
    comments: tuple[PrComment, ...] = ()
    head_first_seen: datetime | None = None
    error: str | None = None


class PullRequestSnapshot(SnapshotModel):
    repo: str
    number: int = 0
    title: str = ""
    body: str = ""
    author: str | None = None
    author_is_bot: bool = False
    head_sha: str = ""
    base_sha: str = ""
    base_ref: str = "main"
    head_ref: str = ""
    """The PR's head branch name (agents are also recognised by branch prefix, e.g. `copilot/`)."""
    commits: tuple[Commit, ...] = ()
    linked_accounts: bool = True
    """Whether commit logins come from GitHub's account linking (the API). From plain git they do
    not, so a commit without a login is not evidence of an unknown author there."""
    files: tuple[FileDiff, ...] = ()
    context_files: tuple[ContextFile, ...] = ()
    """Unchanged files of every scope a changed file belongs to (see `app.semdiff.common.scope`)."""
    plans: tuple[TerraformPlan, ...] = ()
    """Every Terraform plan posted for the head, in arrival order, several per module directory
    possible (see `app.gate.plan_trust` and `app.semdiff.terraform.plan.merge`)."""
    base_moves: tuple[BaseMove, ...] = ()
    """Per distinct plan base: the base branch's tip now and the files changed since (stale plans)."""
    reviews: tuple[Review, ...] = ()
    codeowners: str | None = None
    config_text: bytes | None = None
    labels: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """Reasons the snapshot is incomplete in a way that must fail the check (e.g. > 3,000 files)."""
    team_members: dict[str, tuple[str, ...]] = {}
    """`org/team` (lower case, no @) → member logins, for teams named in owners/approvers and the
    break-glass team."""
    conversation: Conversation | None = None
    """Label events and comments, fetched only when the break-glass label is on the PR."""
