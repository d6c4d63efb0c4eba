"""Console benchmark: the compliance console's pages over a busy store vs bare SQL and bare HTTP.

    python bench/console.py [--events N] [--json]

Builds a temporary SQLite store with bench/scorecard.py's busy-installation shape (~N events:
agent PR openings, evaluations with real-sized reports, merges, pre-flight calls), starts the web
app in-process (FastAPI TestClient, a signed-in console session, no network) and times, median
of 5 requests each:
- Merges page 1, page 50, a tier filter, one merge's evidence page, Agents (30-day scorecards),
  the CSV export of every merge;
- baselines in the same run: the bare SQL of a merges page (`… ORDER BY seq DESC LIMIT 25`) and
  a bare FastAPI endpoint returning a static page of the same size through the same TestClient
  (what HTTP + the test client cost alone).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config.settings import Settings  # noqa: E402
from app.console.session import SESSION_COOKIE, Signer, encode_session, new_session  # noqa: E402
from app.service.app import create_app  # noqa: E402
from app.store.db import make_engine, upgrade  # noqa: E402

SECRET = "bench-console-session-secret-0123456789abcdef"


def _busy_store_loader() -> Callable[[sa.Engine, int], int]:
    spec = importlib.util.spec_from_file_location(
        "bench_scorecard", ROOT / "bench" / "scorecard.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loader: Callable[[sa.Engine, int], int] = module.load
    return loader


def _private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def timed(work: Callable[[], Any], runs: int = 5) -> float:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'console.db'}"
        upgrade(url)
        engine = make_engine(url)
        events = _busy_store_loader()(engine, args.events)
        with engine.connect() as conn:
            merges = conn.execute(
                sa.text("SELECT COUNT(*) FROM audit_event WHERE kind IN ('merge','bypass_merge')")
            ).scalar_one()
            some_pr = conn.execute(
                sa.text("SELECT pr_number FROM audit_event WHERE kind = 'merge' LIMIT 1 OFFSET 100")
            ).scalar_one()
        engine.dispose()
        settings = Settings(
            database_url=url,
            app_id=1,
            private_key=_private_key(),
            webhook_secret="bench-webhook-secret",
            oauth_client_id="Iv1.bench",
            oauth_client_secret="bench-client-secret",
            console_teams="acme/compliance",
            console_session_secret=SECRET,
            public_url="http://127.0.0.1:8000",
        )
        app = create_app(settings, role="web")
        session = new_session("erin", ("acme/compliance",), hours=8, now=time.time())
        cookie = encode_session(Signer(SECRET, "session"), session)
        results: dict[str, Any] = {"events": events, "merges": merges}
        with TestClient(app, base_url="http://127.0.0.1:8000") as client:
            client.cookies.set(SESSION_COOKIE, cookie)
            pages = {
                "merges_page_1": "/console/merges",
                "merges_page_50": "/console/merges?page=50",
                "merges_tier_2": "/console/merges?tier=2",
                "evidence": f"/console/merges/acme/platform/{some_pr}",
                "agents_30d": "/console/agents",
                "export_csv_all": "/console/export/merges.csv",
            }
            sizes = {}
            for name, path in pages.items():
                response = client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
                sizes[name] = len(response.content)
                results[f"{name}_s"] = round(timed(lambda p=path: client.get(p)), 4)
        page_bytes = b"x" * sizes["merges_page_1"]
        bare = FastAPI()

        @bare.get("/page")
        def page() -> HTMLResponse:
            return HTMLResponse(page_bytes)

        with TestClient(bare) as client:
            results["bare_http_page_s"] = round(timed(lambda: client.get("/page")), 4)
        engine = make_engine(url)
        query = sa.text(
            "SELECT seq, payload FROM audit_event WHERE kind IN ('merge','bypass_merge') "
            "ORDER BY seq DESC LIMIT 25"
        )

        def bare_sql() -> None:
            with engine.connect() as conn:
                list(conn.execute(query))

        results["bare_sql_page_s"] = round(timed(bare_sql), 4)
        engine.dispose()
    baseline = results["bare_http_page_s"] + results["bare_sql_page_s"]
    results["merges_page_1_vs_bare"] = round(results["merges_page_1_s"] / baseline, 1)
    if args.json:
        print(json.dumps(results))
        return
    for key, value in results.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
