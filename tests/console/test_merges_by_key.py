"""The Merges page's older/newer links page by seq and show what numbered pages show."""

from __future__ import annotations

import html
import re
from contextlib import closing
from datetime import UTC, datetime

import pytest

from app.console.queries import MergeFilter, merges_page
from app.store.audit.records import MergeRecord
from app.store.audit.store import append
from tests.console.harness import MERGES, ConsoleStack

pytestmark = pytest.mark.e2e
EXTRA = 60


def _link(page: str, rel: str) -> str:
    match = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    assert match is not None, rel
    return html.unescape(match.group(1))


def _seqs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-testid="merge-row">\s*<td>(\d+)</td>', page)]


def test_older_and_newer_links_page_by_key(console: ConsoleStack) -> None:
    assert console.stack.runtime is not None
    engine = console.stack.runtime.engine
    for n in range(EXTRA):
        record = MergeRecord(
            repo="acme/bulk", pr=1000 + n, title=f"bulk {n}", url="u", head_sha=f"{n:040x}",
            merged_at=datetime(2026, 1, 1, tzinfo=UTC), tier=0, risk_level="info", risk_score=0,
            policy_version="v",
        )  # fmt: skip
        append(engine, "merge", record)
    by_number = [[r.seq for r in merges_page(engine, MergeFilter(), p)[0]] for p in (1, 2, 3)]
    assert sum(map(len, by_number)) == MERGES + EXTRA
    with closing(console.sign_in("erin")) as client:
        first = client.get("/console/merges").text
        assert _seqs(first) == by_number[0]
        second = client.get(_link(first, "next")).text
        assert "before=" in _link(first, "next") and _seqs(second) == by_number[1]
        third = client.get(_link(second, "next")).text
        assert _seqs(third) == by_number[2] and "page 3 of 3" in third
        back = _link(third, "prev")
        assert "after=" in back and _seqs(client.get(back).text) == by_number[1]
        assert "after=" not in _link(second, "prev")  # back to page 1: the plain newest page
