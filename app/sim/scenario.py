"""Scenarios as data: a YAML file of set-up plus steps, validated, then played on a Simulator.

    name: pricing-change-approved
    setup:
      org: acme
      users: [alice, {login: pricing-bot[bot], type: Bot}]
      teams: {finance: [alice]}
      repos: {acme/shop: {files: {catalog/plans.json: "..."}}}
      install: true
    steps:
      - {op: open_pr, as: pricing-bot[bot], branch: agent/x, title: "...", files: {...},
         body: "...\\nAgent-Run-Id: run_123"}
      - {op: wait_check, conclusion: action_required}
      - {op: review, as: alice, state: APPROVED}
      - {op: merge, as: bob, expect: refused}
      - {op: label, as: sam, name: countersign/break-glass}
      - {op: comment, as: sam, body: "/break-glass INC-4711 checkout is down"}

Steps act on the last PR opened unless they name `pr: <number>` (in `repo:`, default: the only
repo). The same operations back the control API (`POST /_sim/ops/{op}`), so an out-of-process
test drives the simulator exactly like a scenario does. Bad files raise ScenarioError naming
the file, the line and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import CountersignError, UnparseableError
from app.core.yamlsafe import line_of, load_yaml_documents
from app.sim.simulator import Simulator
from app.sim.state import PullRequest, SimError

SCENARIOS_DIR = Path(__file__).parent / "scenarios"

# op → (required keys, optional keys)
STEP_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "open_pr": ({"as", "branch", "title", "files"}, {"repo", "body", "message", "base", "draft"}),
    "push": ({"files", "message"}, {"as", "pr", "repo"}),
    "edit_pr": (set(), {"as", "pr", "repo", "title", "body"}),
    "review": ({"as", "state"}, {"pr", "repo", "body", "commit"}),
    "dismiss_review": ({"as", "of"}, {"pr", "repo", "message"}),
    "label": ({"as", "name"}, {"pr", "repo"}),
    "unlabel": ({"as", "name"}, {"pr", "repo"}),
    "comment": ({"as", "body"}, {"pr", "repo"}),
    "merge": ({"as"}, {"pr", "repo", "admin", "method", "expect"}),
    "rerequest_check": ({"as"}, {"pr", "repo", "name"}),
    "requested_action": ({"as", "identifier"}, {"pr", "repo", "name"}),
    "wait_check": (set(), {"pr", "repo", "name", "conclusion", "timeout"}),
    "drop_deliveries": ({"count"}, set()),
}


class ScenarioError(CountersignError):
    """A scenario file is malformed, or a step did not go as the scenario expected."""


@dataclass(frozen=True)
class Step:
    op: str
    args: dict[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    setup: dict[str, Any]
    steps: tuple[Step, ...]
    source: str = "<scenario>"


@dataclass
class Played:
    """What a run did: one line per step, and the PRs it opened."""

    lines: list[str] = field(default_factory=list)
    pulls: list[PullRequest] = field(default_factory=list)


def load_scenario(data: bytes | str, source: str = "<scenario>") -> Scenario:
    """Parse and validate one scenario (ScenarioError with file and line on bad input)."""
    try:
        docs = load_yaml_documents(data, source)
    except UnparseableError as exc:
        raise ScenarioError(exc.message, file=source, line=exc.line) from exc
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise ScenarioError("a scenario is one YAML mapping with name, setup, steps", file=source)
    doc, node = docs[0].value, docs[0].node
    unknown = set(doc) - {"name", "description", "setup", "steps"}
    if unknown:
        key = sorted(unknown)[0]
        raise ScenarioError(
            f"unknown top-level key {key!r}",
            file=source,
            line=line_of(node, (key,)),
            hint="use name, description, setup, steps",
        )
    steps_raw = doc.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise ScenarioError("'steps' must be a non-empty list", file=source, line=docs[0].line)
    steps = []
    for index, raw in enumerate(steps_raw):
        line = line_of(node, ("steps", index))
        if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
            raise ScenarioError("each step is a mapping with an 'op'", file=source, line=line)
        op = raw["op"]
        if op not in STEP_KEYS:
            raise ScenarioError(
                f"unknown op {op!r}", file=source, line=line, hint=f"one of {sorted(STEP_KEYS)}"
            )
        required, optional = STEP_KEYS[op]
        args = {k: v for k, v in raw.items() if k != "op"}
        if missing := sorted(required - set(args)):
            raise ScenarioError(f"step {op} needs {missing}", file=source, line=line)
        if extra := sorted(set(args) - required - optional):
            raise ScenarioError(
                f"step {op} does not take {extra}",
                file=source,
                line=line,
                hint=f"allowed: {sorted(required | optional)}",
            )
        steps.append(Step(op, args, line))
    setup = doc.get("setup") or {}
    if not isinstance(setup, dict):
        raise ScenarioError(
            "'setup' must be a mapping", file=source, line=line_of(node, ("setup",))
        )
    return Scenario(
        str(doc.get("name") or Path(source).stem),
        str(doc.get("description") or ""),
        setup,
        tuple(steps),
        source,
    )


def load_file(path: Path) -> Scenario:
    return load_scenario(path.read_bytes(), str(path))


def shipped() -> list[Path]:
    """The example scenarios that ship with the package."""
    return sorted(SCENARIOS_DIR.glob("*.yaml"))


def apply_setup(sim: Simulator, setup: dict[str, Any]) -> None:
    """Create the org, users, teams and repos; install the App if asked."""
    org = setup.get("org")
    if org:
        sim.add_org(str(org))
    for entry in setup.get("users") or []:
        if isinstance(entry, str):
            sim.add_user(entry)
        else:
            sim.add_user(str(entry["login"]), type=entry.get("type"), name=entry.get("name"))
    for slug, members in (setup.get("teams") or {}).items():
        sim.add_team(str(org), str(slug), list(members))
    for full_name, spec in (setup.get("repos") or {}).items():
        spec = spec or {}
        sim.create_repo(
            str(full_name),
            {str(p): str(c) for p, c in (spec.get("files") or {}).items()},
            required_checks=tuple(spec.get("required_checks", ["countersign"])),
            admins=tuple(spec.get("admins", [])),
        )
    if setup.get("install") and org:
        sim.install(str(org))


def run(
    sim: Simulator,
    scenario: Scenario,
    *,
    setup: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> Played:
    """Play every step; a step that fails raises ScenarioError naming the step's line."""
    if setup:
        apply_setup(sim, scenario.setup)
    played = Played()
    for step in scenario.steps:
        try:
            line = _play(sim, step, played)
        except (SimError, TimeoutError, KeyError, ValueError) as exc:
            message = exc.message if isinstance(exc, SimError) else str(exc)
            raise ScenarioError(
                f"step {step.op} failed: {message}", file=scenario.source, line=step.line
            ) from exc
        played.lines.append(line)
        if on_step is not None:
            on_step(line)
    return played


def _target(sim: Simulator, args: dict[str, Any], played: Played) -> PullRequest:
    if "pr" in args:
        repo = args.get("repo") or _only_repo(sim)
        return sim.pr(f"{repo}#{int(args['pr'])}")
    if not played.pulls:
        raise ValueError("no PR opened yet: open_pr first, or name `pr:` and `repo:`")
    return sim.pr(played.pulls[-1])


def _only_repo(sim: Simulator) -> str:
    names = [r.full_name for r in sim.world.repos.values()]
    if len(names) != 1:
        raise ValueError(f"name the repo (`repo:`); the simulator has {names}")
    return names[0]


def _files(raw: Any) -> dict[str, bytes | str | None]:
    if not isinstance(raw, dict):
        raise ValueError("files must map path → content (null deletes)")
    return {str(p): (None if c is None else str(c)) for p, c in raw.items()}


def _play(sim: Simulator, step: Step, played: Played) -> str:
    a = step.args
    if step.op == "open_pr":
        pr = sim.open_pr(
            str(a.get("repo") or _only_repo(sim)),
            str(a["as"]),
            str(a["branch"]),
            _files(a["files"]),
            title=str(a["title"]),
            body=str(a.get("body") or ""),
            message=a.get("message"),
            base=a.get("base"),
            draft=bool(a.get("draft", False)),
        )
        played.pulls.append(pr)
        return f"opened {pr.repo}#{pr.number} as {a['as']}"
    if step.op == "drop_deliveries":
        sim.drop_next_deliveries(int(a["count"]))
        return f"dropping the next {a['count']} deliveries"
    pr = _target(sim, a, played)
    ref = f"{pr.repo}#{pr.number}"
    if step.op == "push":
        sha = sim.push(pr, _files(a["files"]), message=str(a["message"]), author=a.get("as"))
        return f"pushed {sha[:7]} to {ref}"
    if step.op == "edit_pr":
        sim.edit_pr(pr, title=a.get("title"), body=a.get("body"), by=a.get("as"))
        return f"edited {ref}"
    if step.op == "review":
        commit = a.get("commit")
        commit_id = pr.commit_shas[0] if commit == "first" else commit
        sim.review(pr, str(a["as"]), a["state"], body=str(a.get("body") or ""), commit_id=commit_id)
        return f"{a['as']} reviewed {ref}: {a['state']}"
    if step.op == "dismiss_review":
        mine = [r for r in sim.reviews_of(pr) if r.user == a["of"] and r.state != "DISMISSED"]
        if not mine:
            raise ValueError(f"{a['of']} has no review to dismiss on {ref}")
        sim.dismiss_review(mine[-1].id, by=str(a["as"]), message=str(a.get("message") or ""))
        return f"{a['as']} dismissed {a['of']}'s review on {ref}"
    if step.op == "merge":
        return _merge(sim, pr, a)
    if step.op == "label":
        sim.add_labels(pr, [str(a["name"])], by=str(a["as"]), via_api=False)
        return f"{a['as']} labelled {ref} {a['name']}"
    if step.op == "unlabel":
        sim.remove_label(pr, str(a["name"]), by=str(a["as"]), via_api=False)
        return f"{a['as']} removed the label {a['name']} from {ref}"
    if step.op == "comment":
        sim.comment(pr, str(a["as"]), str(a["body"]))
        return f"{a['as']} commented on {ref}"
    name = str(a.get("name") or "countersign")
    if step.op == "wait_check":
        return _wait_check(sim, pr, name, a)
    run = sim.latest_check(pr, name)
    if run is None:
        raise ValueError(f"no {name!r} check run on the head of {ref}")
    if step.op == "rerequest_check":
        sim.rerequest_check(run.id, by=str(a["as"]))
        return f"{a['as']} re-requested {name} on {ref}"
    sim.requested_action(run.id, str(a["identifier"]), by=str(a["as"]))
    return f"{a['as']} clicked {a['identifier']} on {ref}"


def _merge(sim: Simulator, pr: PullRequest, a: dict[str, Any]) -> str:
    ref = f"{pr.repo}#{pr.number}"
    expect = a.get("expect", "merged")
    try:
        sim.merge(
            pr, by=str(a["as"]), admin=bool(a.get("admin", False)), method=a.get("method", "merge")
        )
    except SimError as exc:
        if expect == "refused":
            return f"merge of {ref} by {a['as']} refused: {exc.message}"
        raise
    if expect == "refused":
        raise ValueError(f"expected the merge of {ref} to be refused, but it merged")
    bypass = " (admin bypass)" if pr.merge_bypassed else ""
    return f"{a['as']} merged {ref}{bypass}"


def _wait_check(sim: Simulator, pr: PullRequest, name: str, a: dict[str, Any]) -> str:
    """Wait until the newest `name` run on the head completed with an allowed conclusion.

    A stale completed run (from before the last review) must not satisfy the wait, so we keep
    polling until the conclusion is one of those asked for, or the timeout names the last one.
    """
    wanted = a.get("conclusion")
    allowed = {wanted} if isinstance(wanted, str) else set(wanted or [])
    timeout = float(a.get("timeout", 30))

    def done() -> bool:
        run = sim.latest_check(pr, name)
        if run is None or run.status != "completed":
            return False
        return not allowed or run.conclusion in allowed

    try:
        sim.wait_for(done, timeout, f"the {name} check on {pr.repo}#{pr.number} to complete")
    except TimeoutError as exc:
        run = sim.latest_check(pr, name)
        last = f"{run.status}/{run.conclusion} ({run.title})" if run else "no run at all"
        raise TimeoutError(f"{exc}; expected {sorted(allowed) or 'any'}, last: {last}") from exc
    run = sim.latest_check(pr, name)
    assert run is not None
    return f"{name} on {pr.repo}#{pr.number}: {run.conclusion} — {run.title}"
