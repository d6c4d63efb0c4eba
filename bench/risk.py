"""Risk engine benchmark: the shipped rule pack on 1,000 mixed changes.

    python bench/risk.py [--changes N] [--runs R] [--json]

The change set cycles through realistic templates (Terraform deletes, security groups, IAM
policies, scaling; Kubernetes rollouts, Secrets, Services; price updates; workflows; SQL; docs;
unparseable files), each with its own address, so nothing is cached between changes.
Measured (median of R runs):
- baseline: iterate the changes and build each one's CEL context, touching it once with a
  trivial program (the cel package converts the Python values on first use): the floor;
- rules: `app.risk.evaluate` on the same changes (static matching, CEL, findings, floors).
Target: rules for 1,000 changes well under 200 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.models import Change, FieldChange  # noqa: E402
from app.risk import evaluate, load_rule_pack  # noqa: E402
from app.risk.celenv import build_context, compile_when, pr_view, run_when  # noqa: E402

TARGET_MS = 200.0


def _tf(i: int) -> Change:
    variants: list[tuple[str, str, str, dict[str, Any], list[FieldChange]]] = [
        (
            "aws_db_instance",
            "delete",
            "resource",
            {},
            [FieldChange(path="instance_class", before="db.r6g.large")],
        ),
        ("aws_sns_topic", "delete", "resource", {}, []),
        (
            "aws_instance",
            "update",
            "resource",
            {},
            [FieldChange(path="instance_type", before="t3.small", after="m6i.large")],
        ),
        (
            "aws_security_group",
            "update",
            "resource",
            {},
            [
                FieldChange(
                    path="ingress",
                    before={
                        "from_port": 443,
                        "to_port": 443,
                        "protocol": "tcp",
                        "cidr_blocks": ["10.0.0.0/8"],
                    },
                    after=[
                        {
                            "from_port": 22,
                            "to_port": 22,
                            "protocol": "tcp",
                            "cidr_blocks": ["0.0.0.0/0"],
                        }
                    ],
                )
            ],
        ),
        (
            "aws_iam_policy",
            "create",
            "resource",
            {},
            [
                FieldChange(
                    path="policy",
                    after='{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}',
                )
            ],
        ),
        (
            "aws_s3_bucket",
            "update",
            "resource",
            {"environment": "production"},
            [FieldChange(path="tags.Team", before="a", after="b")],
        ),
        (
            "aws_db_instance",
            "update",
            "resource",
            {},
            [FieldChange(path="deletion_protection", before=True, after=False)],
        ),
    ]
    rtype, op, block, extra, fields = variants[i % len(variants)]
    return Change(
        file=f"infra/stack{i % 17}/main.tf",
        kind="terraform",
        address=f"{rtype}.r{i}",
        op=op,
        line=i % 400 + 1,
        fields=tuple(fields),
        facts={"block_type": block, "resource_type": rtype, **extra},
    )


def _k8s(i: int) -> Change:
    kind = ("Deployment", "Secret", "Service", "StatefulSet")[i % 4]
    facts: dict[str, Any] = {"object_kind": kind, "namespace": "shop", "name": f"app{i}"}
    op = "update"
    if kind == "Deployment":
        facts |= {
            "replicas_before": 3,
            "replicas_after": i % 5,
            "images_before": {"web": "ghcr.io/acme/web:1.41.0"},
            "images_after": {
                "web": "ghcr.io/acme/web:1.42.0" if i % 3 else "ghcr.io/acme/web:latest"
            },
            "privileged": i % 7 == 0,
            "host_network": False,
            "run_as_root": False,
        }
    elif kind == "Service":
        facts |= {"service_type_before": "ClusterIP", "service_type_after": "LoadBalancer"}
    elif kind == "StatefulSet":
        op = "delete"
    return Change(
        file=f"k8s/shop/app{i}.yaml",
        kind="kubernetes",
        address=f"{kind}/shop/app{i}",
        op=op,
        facts=facts,
        fields=(FieldChange(path="spec.replicas", before=3, after=i % 5),),
    )


def _pricing(i: int) -> Change:
    before = 10.0 + i % 90
    after = before * (0.6, 0.95, 1.0, 1.3)[i % 4]
    return Change(
        file="catalog/plans.json",
        kind="pricing",
        address=f"plan_code:plan-{i}",
        op="update",
        fields=(FieldChange(path="monthly_usd", before=before, after=after),),
        facts={
            "key_field": "plan_code",
            "key": f"plan-{i}",
            "price_before": f"{before:.2f}",
            "price_after": f"{after:.2f}",
            "price_before_num": before,
            "price_after_num": after,
            "price_delta_pct": round((after - before) / before * 100, 2),
            "currency_before": "USD",
            "currency_after": "USD",
        },
    )


def _other(i: int) -> Change:
    n = i % 5
    if n == 0:
        return Change(
            file=".github/workflows/ci.yml",
            kind="workflow",
            address=f"jobs.j{i}",
            op="update",
            facts={
                "governance": True,
                "unpinned_actions": ["actions/setup-node@v4"],
                "new_secrets": [],
            },
        )
    if n == 1:
        return Change(
            file=f"migrations/{i:04d}.sql",
            kind="sql",
            address=f"t{i}",
            op="create",
            facts={"statement": ("ADD_COLUMN", "DROP_TABLE", "UPDATE")[i % 3], "has_where": False},
        )
    if n == 2:
        return Change(
            file=f"docs/page{i}.md",
            kind="text",
            address=f"docs/page{i}.md",
            op="update",
            facts={"docs": True},
        )
    if n == 3:
        return Change(
            file=f"config/app{i}.json",
            kind="data",
            address=f"features.f{i}",
            op="update",
            fields=(FieldChange(path=f"features.f{i}", before=False, after=True),),
        )
    return Change(
        file=f"infra/broken{i}.tf",
        kind="text",
        address=f"infra/broken{i}.tf",
        op="update",
        facts={"unparseable": "invalid HCL at line 3", "detected_kind": "terraform"},
    )


MAKERS: tuple[Callable[[int], Change], ...] = (_tf, _tf, _k8s, _pricing, _other)


def changes(count: int) -> list[Change]:
    return [MAKERS[i % len(MAKERS)](i) for i in range(count)]


def _median_ms(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def run(count: int = 1000, runs: int = 7) -> dict[str, float]:
    load_start = time.perf_counter()
    pack = load_rule_pack(ROOT / "risk_rules")
    load_ms = (time.perf_counter() - load_start) * 1000
    batch = changes(count)
    pr = pr_view(True, "infra-bot[bot]")

    touch = compile_when("change.kind != ''")

    def baseline() -> None:
        for change in batch:
            run_when(touch, build_context(change, pr))

    def rules() -> None:
        evaluate(pack, batch, is_agent=True, author="infra-bot[bot]")

    rules()  # warm-up
    baseline_ms = _median_ms(baseline, runs)
    rules_ms = _median_ms(rules, runs)
    findings = evaluate(pack, batch, is_agent=True, author="infra-bot[bot]")
    return {
        "changes": float(count),
        "rules": float(len(pack.rules)),
        "findings": float(len(findings)),
        "load_ms": round(load_ms, 2),
        "baseline_ms": round(baseline_ms, 2),
        "rules_ms": round(rules_ms, 2),
        "ratio": round(rules_ms / baseline_ms, 2) if baseline_ms else 0.0,
        "per_change_us": round(rules_ms * 1000 / count, 1),
        "target_ms": TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.changes, args.runs)
    if args.json:
        print(json.dumps(result))
        return
    print(f"rule pack: {int(result['rules'])} rules, loaded in {result['load_ms']:.1f} ms")
    print(
        f"{int(result['changes'])} changes → {int(result['findings'])} findings "
        f"(median of {args.runs} runs)"
    )
    print(f"baseline (iterate + build CEL contexts): {result['baseline_ms']:.1f} ms")
    print(
        f"rules (evaluate):                       {result['rules_ms']:.1f} ms "
        f"({result['per_change_us']:.0f} µs/change), {result['ratio']:.2f}× baseline"
    )
    verdict = "OK" if result["rules_ms"] < TARGET_MS else "OVER TARGET"
    print(f"target < {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
