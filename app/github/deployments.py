"""The GitHub side of a custom deployment protection rule: the event's fields, and the answer.

The answer goes to the run named by the event's `deployment_callback_url`. We do not post to that
URL as given: the run ID is read from it and the call is made to our own API base for the event's
repository, so a payload can never send our installation token to another host or repository.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ValidationError

from app.github.client import InstallationClient
from app.github.webhooks import Lenient

_CALLBACK = re.compile(
    r"/repos/(?P<repo>[^/]+/[^/]+)/actions/runs/(?P<run>[0-9]{1,20})/deployment_protection_rule$"
)


class DeploymentRef(Lenient):
    id: int
    sha: str
    ref: str = ""


class ProtectionRuleRequest(Lenient):
    """`deployment_protection_rule` (`requested`): what is deployed where, and where to answer."""

    environment: str
    event: str = ""
    deployment_callback_url: str
    deployment: DeploymentRef

    @classmethod
    def of(cls, data: Any) -> ProtectionRuleRequest | None:
        """The request, or None when the payload lacks a field we need."""
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None

    def run_id(self, repo: str) -> int | None:
        """The workflow run the callback URL names, when it names a run of `repo`."""
        match = _CALLBACK.search(self.deployment_callback_url.split("?", 1)[0])
        if match is None or match["repo"].casefold() != repo.casefold():
            return None
        return int(match["run"])


def answer_protection_rule(
    client: InstallationClient,
    repo: str,
    run_id: int,
    environment: str,
    state: Literal["approved", "rejected"],
    comment: str,
) -> None:
    """`POST .../actions/runs/{run_id}/deployment_protection_rule` (204 when accepted)."""
    client.call(
        "POST",
        f"/repos/{repo}/actions/runs/{run_id}/deployment_protection_rule",
        json={"environment_name": environment, "state": state, "comment": comment},
    )


def merged_pulls_with(client: InstallationClient, repo: str, sha: str) -> list[tuple[int, str]]:
    """(number, merge commit SHA) of each merged PR GitHub associates `sha` with: the PR it is
    the merge commit of, a PR whose "Rebase and merge" wrote it, PRs that contain it. Every page
    is read: the list can hold other PRs that contain the commit, so ours may not be first."""
    return [
        (int(pr["number"]), str(pr["merge_commit_sha"]))
        for pr in client.paginate(f"/repos/{repo}/commits/{sha}/pulls")
        if pr.get("merged_at") and pr.get("merge_commit_sha")
    ]


def merged_pull_of(client: InstallationClient, repo: str, sha: str) -> int | None:
    """The number of the merged PR whose merge commit `sha` is, or None (not a PR's merge)."""
    return next((n for n, merge in merged_pulls_with(client, repo, sha) if merge == sha), None)
