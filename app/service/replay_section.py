"""The check run's "Replay over the last N days" section, for a PR that edits the gate itself.

When a PR edits `risk_rules/`, `policies/` (the agent registry `policies/agents.yaml` included)
or the tier-relevant keys of `.github/countersign.yml`, the deployed rules and policies with the
head's versions of those files judge this repository's stored evaluations again
(`app.gate.replay`), so the reviewers of a rule change see its effect before they approve it.
The section informs; it never changes this PR's tier or conclusion (the governance rules still
apply). Bounded in count and time, and it says when it was cut; recorded in the evaluation event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.config.repo import CONFIG_PATH, RepoConfig, parse_repo_config
from app.core.errors import CountersignError
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Evaluation
from app.gate.render.escape import esc
from app.gate.replay import Proposal
from app.gate.replay_report import run_replay, summarize, to_json, to_markdown
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.sources.proposed_gate import POLICIES_PREFIX, RULES_PREFIX, load_proposed
from app.store.audit.replay_source import Window, load

MAX_EVALUATIONS = 2_000
"""At most this many evaluations (the newest) are replayed on a PR."""
MAX_SECONDS = 5.0
"""And for at most this long: the rest is counted as cut."""
RECORDED_PRS = 50
"""PRs listed in the audit event (the counts cover all)."""
MARKDOWN_LIMIT = 12_000
TIER_KEYS = ("paths", "approvers", "enforce_for", "unknown_authors", "allowlists")
"""Repo config keys whose change can move a tier or the approvals it needs."""
CONFIG_PATHS = (CONFIG_PATH, ".github/countersign.yaml")


@dataclass(frozen=True)
class PrReplay:
    """What the check shows and what the evaluation event records."""

    markdown: str
    record: dict[str, Any]


def _gate_file(path: str | None) -> bool:
    """A file the rule and policy loaders read (top level of `risk_rules/` or `policies/`)."""
    if not path:
        return False
    return any(
        path.startswith(p) and "/" not in path[len(p) :] for p in (RULES_PREFIX, POLICIES_PREFIX)
    )


def _config_texts(snapshot: PullRequestSnapshot) -> bytes | None:
    for f in snapshot.files:
        if f.path in CONFIG_PATHS and f.status != "removed":
            return f.head
    return None


def _tier_keys_changed(base: RepoConfig, head: RepoConfig) -> list[str]:
    before, after = base.model_dump(mode="json"), head.model_dump(mode="json")
    return [k for k in TIER_KEYS if before.get(k) != after.get(k)]


def gate_edits(
    snapshot: PullRequestSnapshot, base: RepoConfig
) -> tuple[dict[str, bytes | None], RepoConfig | None, list[str]]:
    """The proposed gate files (None: removed), the head's repo config when its tier keys
    change, and what was edited (for the record). A config that does not parse is no proposal
    (the check already says it is invalid)."""
    files: dict[str, bytes | None] = {}
    for f in snapshot.files:
        if f.old_path and f.old_path != f.path and _gate_file(f.old_path):
            files[f.old_path] = None
        if _gate_file(f.path):
            files[f.path] = None if f.status == "removed" else f.head
    edited = sorted(files)
    config: RepoConfig | None = None
    head_text = _config_texts(snapshot)
    if head_text is not None:
        try:
            head = parse_repo_config(head_text)
        except CountersignError:
            head = base
        changed = _tier_keys_changed(base, head)
        if changed:
            config = head
            edited += [f"{CONFIG_PATH}: {k}" for k in changed]
    return files, config, edited


def pr_replay(
    rt: Runtime, snapshot: PullRequestSnapshot, evaluation: Evaluation
) -> PrReplay | None:
    """The section for a PR that edits the gate; None for any other PR. An error is shown and
    recorded, never raised: the section informs, the gate decides."""
    base = evaluation.config
    files, config, edited = gate_edits(snapshot, base)
    if not edited:
        return None
    days = base.replay.days
    title = f"Replay over the last {days} days"
    record: dict[str, Any] = {"days": days, "edited": edited}
    try:
        unread = [
            f.path
            for f in snapshot.files
            if _gate_file(f.path) and f.status != "removed" and (f.head is None or not f.complete)
        ]
        if unread:
            raise CountersignError("the head's content could not be read", file=unread[0])
        return _replayed(rt, snapshot, files, config or base, title, record)
    except CountersignError as error:
        record["error"] = str(error)
        why = esc(str(error), 1_000)
        text = f"### {title}\n\nNot replayed: {why}. Fix it and push; the replay runs again.\n"
        return PrReplay(markdown=text, record=record)
    except Exception as error:  # the section must never fail the evaluation
        log.exception("replay.failed")
        record["error"] = type(error).__name__
        return PrReplay(markdown=f"### {title}\n\nNot replayed: internal error.\n", record=record)


def _replayed(
    rt: Runtime,
    snapshot: PullRequestSnapshot,
    files: dict[str, bytes | None],
    config: RepoConfig,
    title: str,
    record: dict[str, Any],
) -> PrReplay:
    settings = rt.settings
    gate = load_proposed(settings.rules_dir, settings.policies_dir, files)
    since = datetime.now(UTC) - timedelta(days=int(record["days"]))
    window = Window(since=since, repo=snapshot.repo, limit=MAX_EVALUATIONS + 1)
    loaded = load(rt.engine, window, settings.web_url())
    every = [s for s in loaded.stored if s.pr != snapshot.number]
    others = every[:MAX_EVALUATIONS]
    deadline = time.monotonic() + MAX_SECONDS
    results, timed_out = run_replay(
        others, Proposal(gate=gate, config=config), stop=lambda: time.monotonic() > deadline
    )
    cut: list[str] = []
    if loaded.cut or len(every) > MAX_EVALUATIONS:
        cut.append(f"only the newest {MAX_EVALUATIONS:,} evaluations")
    if timed_out:
        cut.append(f"stopped after {MAX_SECONDS:g} s: {len(results)} of {len(others)} judged")
    summary = summarize(results, cut=cut)
    data = to_json(summary)
    record.update(data, prs=data["prs"][:RECORDED_PRS])
    intro = (
        "What this head's rules, policies, agents and repository config would have done to the "
        f"latest evaluation of each other PR of {snapshot.repo} in that time "
        "(this PR's own tier still follows the governance rules)."
    )
    markdown = to_markdown(summary, title=title).replace("\n\n", f"\n\n{intro}\n\n", 1)
    if len(markdown) > MARKDOWN_LIMIT:
        markdown = markdown[: MARKDOWN_LIMIT - 80] + "\n\n… cut to fit the check run.\n"
    return PrReplay(markdown=markdown, record=record)
