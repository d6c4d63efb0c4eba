"""What a signed-in compliance user gets from each console page, on the demo scenario's data."""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.agentops.scorecard import Window
from app.console.pages import ALL_TIME
from app.console.queries import MergeFilter, merges_page
from app.core.errors import AuditIntegrityError
from app.store.audit.agent_events import agent_scorecards
from app.store.audit.signing import ENVELOPE_NAME, EXPORT_NAME, load_public_key, verify_bundle
from app.store.audit.verify import verify_chain
from app.store.audit.vsa import VSA_NAME, VSA_PREDICATE_TYPE
from tests.console.harness import BYPASS_PR, MERGES, XSS_PR, ConsoleStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def erin(console: ConsoleStack) -> Iterator[httpx.Client]:
    with closing(console.sign_in("erin")) as client:
        yield client


def _count(html: str) -> int:
    match = re.search(r'data-testid="merge-count">(\d+)<', html)
    assert match is not None
    return int(match.group(1))


def test_merges_filter_by_each_field(erin: httpx.Client) -> None:
    assert _count(erin.get("/console/merges").text) == MERGES
    cases = {
        "bypass=yes": 1,
        "bypass=no": 2,
        "agent=pricing-bot": 1,
        "run_id=run_infra_7f3a": 1,
        "tier=3": 1,
        "tier=0": 1,
        "repo=acme/platform": MERGES,
        "repo=acme/other": 0,
        "since=2000-01-01&until=2999-01-01": MERGES,
        "until=2000-01-01": 0,
    }
    for query, expected in cases.items():
        assert _count(erin.get(f"/console/merges?{query}").text) == expected, query
    bad = erin.get("/console/merges?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.text


def test_merges_are_newest_first_and_paginated(console: ConsoleStack) -> None:
    assert console.stack.runtime is not None
    engine = console.stack.runtime.engine
    rows, total = merges_page(engine, MergeFilter(), page=1, per_page=2)
    older, _ = merges_page(engine, MergeFilter(), page=2, per_page=2)
    assert total == MERGES and len(rows) == 2 and len(older) == 1
    seqs = [r.seq for r in rows + older]
    assert seqs == sorted(seqs, reverse=True)
    assert rows[0].pr == XSS_PR


def test_evidence_page_shows_the_packet(erin: httpx.Client) -> None:
    html = erin.get("/console/merges/acme/platform/3").text
    for expected in (
        "Cut the Pro plan from $49 to $29.40",
        "run_pricing_q4_042",
        "dave",  # the operator
        "pricing.",  # a finding's rule id
        "Segregation of duties",
        "PASS",
        "Policy version",
        "Merge SHA",
    ):
        assert expected in html, expected
    assert erin.get("/console/merges/acme/platform/99").status_code == 404
    packet = erin.get("/console/evidence/acme/platform/3.json").json()
    assert packet["run_id"] == "run_pricing_q4_042" and packet["bypass"] is False
    printable = erin.get("/console/evidence/acme/platform/3.html")
    assert "script-src" not in printable.headers["content-security-policy"]
    assert "default-src 'none'" in printable.headers["content-security-policy"]


def test_evidence_page_links_the_signed_vsa(erin: httpx.Client, console: ConsoleStack) -> None:
    from app.store.audit.signing import verify_envelope

    html = erin.get("/console/merges/acme/platform/3").text
    assert 'href="/console/evidence/acme/platform/3.vsa"' in html
    answer = erin.get("/console/evidence/acme/platform/3.vsa")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    value = verify_envelope(answer.json(), load_public_key(console.public_key_path))
    assert value["predicateType"] == VSA_PREDICATE_TYPE
    assert value["subject"][0]["digest"]["gitCommit"]
    assert erin.get("/console/evidence/acme/platform/99.vsa").status_code == 404


def test_bypass_review_by_someone_other_than_the_merger(console: ConsoleStack) -> None:
    path = f"/console/merges/acme/platform/{BYPASS_PR}"
    with closing(console.sign_in("carol")) as carol:  # carol merged it past the gate
        page = carol.get(path).text
        assert "needs review" in page and "the review must come from someone else" in page
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        assert token is not None
        refused = carol.post(f"{path}/review", data={"csrf_token": token[1], "note": "fine"})
        assert refused.status_code == 409 and "someone else" in refused.text
    with closing(console.sign_in("erin")) as erin:
        page = erin.get(path).text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        assert token is not None
        empty = erin.post(f"{path}/review", data={"csrf_token": token[1], "note": "  "})
        assert empty.status_code == 409
        done = erin.post(
            f"{path}/review",
            data={"csrf_token": token[1], "note": "Decommission ticket OPS-12 approved by CAB"},
        )
        assert done.status_code == 303
        page = erin.get(path).text
        assert "reviewed</span> by erin" in page and "OPS-12" in page
        assert "Mark reviewed" not in page
        listed = erin.get("/console/merges?bypass=yes").text
        assert "reviewed</span> by erin" in listed
        again = erin.post(f"{path}/review", data={"csrf_token": token[1], "note": "twice"})
        assert again.status_code == 409 and "already reviewed" in again.text
        packet = erin.get(f"/console/evidence/acme/platform/{BYPASS_PR}.json").json()
        assert packet["bypass_review"]["reviewer"] == "erin"
    assert console.stack.runtime is not None
    assert verify_chain(console.stack.runtime.engine).ok


def test_verify_now_records_the_result(erin: httpx.Client, console: ConsoleStack) -> None:
    page = erin.get("/console/chain").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token is not None
    assert erin.post("/console/chain/verify", data={"csrf_token": token[1]}).status_code == 303
    shown = erin.get("/console/chain").text
    assert re.search(r"by erin: \d+ events,\s*<span class=\"ok\">verified</span>", shown), shown
    assert console.stack.runtime is not None
    result = verify_chain(console.stack.runtime.engine)
    assert result.ok  # the recorded verification is itself a chained event


def _rows(html: str, testid: str) -> list[list[str]]:
    rows = re.findall(rf'<tr data-testid="{testid}">(.*?)</tr>', html, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in rows]  # fmt: skip


def test_agents_page_renders_the_scorecards(erin: httpx.Client, console: ConsoleStack) -> None:
    """The page shows Scorecard fields as they are: blocked by policy and failed, two ideas."""
    assert console.stack.runtime is not None
    engine = console.stack.runtime.engine
    html = erin.get("/console/agents").text
    now = datetime.now(UTC)
    totals = agent_scorecards(engine, Window(since=ALL_TIME, until=now), by_class=False)
    infra = next(c for c in totals if c.agent_id == "infra-bot")
    assert (infra.evaluated, infra.merged, infra.bypassed) == (3, 1, 1)
    assert infra.failed == 2  # the CODEOWNERS edit and the change without a run ID
    assert infra.blocked == 1  # only the CODEOWNERS edit was Cedar's refusal
    assert (infra.evaluated_with_run_id, infra.run_id_coverage_pct) == (2, 100.0)
    shown = [row[:6] for row in _rows(html, "agent-row")]
    expected = [
        [c.agent_id, *(str(v) for v in (c.evaluated, c.merged, c.blocked, c.failed, c.bypassed))]
        for c in totals
    ]
    assert shown == expected
    assert "<th>Blocked by policy</th><th>Failed</th>" in html
    assert "<th>Blocked</th>" not in html
    # The Agent Ops scorecards over the window, an agent row and one per rule class.
    cards = agent_scorecards(engine, Window(since=now - timedelta(days=30), until=now))
    rows = _rows(html, "scorecard-row")
    assert [(r[0], r[4], r[5]) for r in rows] == [
        (c.agent_id, str(c.blocked), str(c.failed)) for c in cards
    ]
    assert erin.get("/console/agents?days=7").status_code == 200
    assert erin.get("/console/agents?days=5").status_code == 400


def test_exports_follow_the_filter(erin: httpx.Client) -> None:
    csv_text = erin.get("/console/export/merges.csv?bypass=yes").text
    assert csv_text.count("acme/platform") >= 1
    records = [
        json.loads(line)
        for line in erin.get("/console/export/merges.jsonl?agent=pricing-bot").text.splitlines()
    ]
    merges = [r for r in records if "seq" in r]
    assert [r["run_id"] for r in merges] == ["run_pricing_q4_042"]
    assert records[0]["_countersign_export"]["filters"]["agent"] == "pricing-bot"


def test_signed_bundle_verifies_offline_and_fails_on_one_byte(
    erin: httpx.Client, console: ConsoleStack, tmp_path: Path
) -> None:
    answer = erin.get("/console/export/bundle.zip?tier=3")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(answer.content)).extractall(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [EXPORT_NAME, VSA_NAME, ENVELOPE_NAME]
    )
    served_key = erin.get("/console/export/public-key.pem").text
    assert served_key == console.public_key_path.read_text()
    key = load_public_key(console.public_key_path)
    assert verify_bundle(tmp_path, key) == 1
    export = tmp_path / EXPORT_NAME
    data = bytearray(export.read_bytes())
    data[data.index(b"run_infra_7f3a")] ^= 0x01
    export.write_bytes(bytes(data))
    with pytest.raises(AuditIntegrityError, match="DIGEST MISMATCH"):
        verify_bundle(tmp_path, key)


def test_who_can_answers_from_the_loaded_policies(erin: httpx.Client) -> None:
    html = erin.get("/console/who-can?action=propose&kind=pricing").text
    assert "pricing-bot" in html
    approve = erin.get("/console/who-can?action=approve").text
    assert "humans" in approve
    assert erin.get("/console/who-can?action=delete").status_code == 400


EDGE_DATES = [
    ("until", "9999-12-31"),
    ("until", "9999-12-31T23:00:00-05:00"),
    ("since", "0001-01-01T00:00:00+05:00"),
    ("since", "9999-12-31T23:59:59-23:59"),
]


@pytest.mark.parametrize(("name", "value"), EDGE_DATES)
@pytest.mark.parametrize(
    "path", ["/console/merges", "/console/export/merges.csv", "/console/export/merges.jsonl"]
)
def test_dates_at_the_edges_are_400_with_the_range(
    erin: httpx.Client, path: str, name: str, value: str
) -> None:
    response = erin.get(path, params={name: value})
    assert response.status_code == 400, response.text[:200]
    assert name in response.text and "between" in response.text


def test_a_bundle_leaves_no_export_on_disk_once_it_streams(
    erin: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle's folder is gone before the first byte is sent, so a client that goes away
    mid-download leaves nothing behind (the open file is freed when the stream is dropped)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with erin.stream("GET", "/console/export/bundle.zip") as answer:
        assert answer.status_code == 200
        assert list(tmp_path.iterdir()) == []  # nothing read yet: the stream is still open
        first = next(answer.iter_bytes())
        assert first.startswith(b"PK")
    assert list(tmp_path.iterdir()) == []


def test_start_up_removes_bundle_leftovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed mid-download leaves its export behind: the next start removes it."""
    from app.console.exports import BUNDLE_PREFIX, sweep_bundle_leftovers

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{BUNDLE_PREFIX}crashed"
    stale.mkdir()
    (stale / "bundle.zip").write_bytes(b"PK" + b"\0" * 1024)
    other = tmp_path / "someone-elses"
    other.mkdir()
    assert sweep_bundle_leftovers(min_age_seconds=3600) == 0  # maybe still being built
    assert sweep_bundle_leftovers() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["someone-elses"]
