"""deploy/compose.yaml wires PostgreSQL, the migration step, one web and two workers in order,
with secrets from deploy/.env; and Countersign's own analyzer reads every deploy file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from app.config.settings import shipped_dir
from app.core.models import FileDiff
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text())
    return data


def test_services_start_in_order_postgres_migrate_web_workers() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "web", "worker"}
    assert services["postgres"]["healthcheck"]["test"]
    assert services["migrate"]["command"] == ["countersign", "db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    done = {"condition": "service_completed_successfully"}
    assert services["web"]["depends_on"] == {"migrate": done}
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["depends_on"]["migrate"] == done
    assert services["web"]["command"][:4] == ["countersign", "serve", "--role", "web"]
    assert services["worker"]["command"][:4] == ["countersign", "serve", "--role", "worker"]
    # podman-compose starts the replicas only when the mode is written (tests/image/compose.py).
    assert services["worker"]["deploy"] == {"mode": "replicated", "replicas": 2}


def test_data_lives_in_a_named_volume_and_secrets_come_from_the_env_file() -> None:
    data = compose()
    assert "pgdata" in data["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in data["services"]["postgres"]["volumes"]
    for name in ("migrate", "web", "worker"):
        service = data["services"][name]
        assert service["env_file"] == ".env"
        assert service["read_only"] is True
        assert service["secrets"] == ["github_app_private_key"]
    text = (DEPLOY / "compose.yaml").read_text()
    example = (DEPLOY / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required <= defined
    assert {
        "COUNTERSIGN_APP_ID",
        "COUNTERSIGN_WEBHOOK_SECRET",
        "COUNTERSIGN_DATABASE_URL",
    } <= defined


def test_countersign_reads_every_deploy_file_without_an_unparseable_finding() -> None:
    paths = [ROOT / "Dockerfile", *sorted(p for p in DEPLOY.rglob("*") if p.is_file())]
    files = tuple(
        FileDiff(path=str(p.relative_to(ROOT)), status="added", head=p.read_bytes()) for p in paths
    )
    snapshot = PullRequestSnapshot(repo="acme/countersign", files=files)
    report = evaluate(snapshot, Gatekeeper.load(shipped_dir("risk_rules"), shipped_dir("policies")))
    assert len({c.file for c in report.changes}) >= len(paths) - 1  # all read (helpers: text)
    assert [f for f in report.findings if "unparseable" in f.rule] == []
