"""Semantic diff speed: (a) a 5,000-line Terraform pair, (b) a 1,000-file mixed PR.

For (b) the baseline is parsing both sides of every file with the same parsers and nothing else
(tree-sitter-hcl, our capped YAML loader, json, csv), in the same run; the ratio is our
whole analysis (detection, parse, diff, redaction, facts) over that. Usage: `python bench/semdiff.py`.
"""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.config.repo import parse_repo_config
from app.core.models import FileDiff
from app.core.yamlsafe import load_yaml_documents
from app.semdiff.common import documents
from app.semdiff.dispatch import analyze_files
from app.semdiff.terraform import hcl as terraform_hcl
from app.semdiff.terraform import parse as terraform_parse

CONFIG = parse_repo_config(
    'paths:\n  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
    '  "infra/prod/**": {environment: production}\n'
)


def tf(i: int, size: str) -> str:
    return f"""resource "aws_instance" "web_{i}" {{
  ami           = "ami-{i:08x}"
  instance_type = "{size}"
  subnet_id     = var.subnet_ids[{i % 3}]
  tags = {{
    Name        = "web-{i}"
    Environment = "production"
  }}
  root_block_device {{
    volume_size = 50
    encrypted   = true
  }}
}}

resource "aws_security_group_rule" "web_{i}_https" {{
  type              = "ingress"
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["10.0.0.0/8"]
  security_group_id = aws_security_group.web.id
}}
"""


def k8s(i: int, image: str, replicas: int) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  namespace: shop
  labels: {{app: svc-{i}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: svc-{i}}}}}
  template:
    metadata: {{labels: {{app: svc-{i}}}}}
    spec:
      containers:
        - name: app
          image: {image}
          ports: [{{containerPort: 8080}}]
          resources:
            limits: {{cpu: 500m, memory: 512Mi}}
          env:
            - {{name: LOG_LEVEL, value: info}}
---
apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: shop}}
spec:
  selector: {{app: svc-{i}}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def pricing_json(i: int, bump: float) -> str:
    plans = [
        {
            "plan_code": f"plan-{i}-{j}",
            "monthly_usd": round(10.0 + j + bump * (j == 0), 2),
            "seats": j + 1,
        }
        for j in range(20)
    ]
    return json.dumps({"currency": "USD", "plans": plans}, indent=2)


def pricing_csv(i: int, bump: float) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["sku", "unit_price", "currency"])
    for j in range(30):
        w.writerow([f"sku-{i}-{j}", f"{1.5 + j + bump * (j == 1):.2f}", "EUR"])
    return out.getvalue()


def text(i: int, extra: str) -> str:
    return f"# Service {i}\n\n" + "Operational notes for the service.\n" * 40 + extra


def make_pr(n_files: int = 1000, seed: int = 7) -> list[FileDiff]:
    """~30 % Terraform, 30 % Kubernetes, 20 % pricing, 20 % text; ~30 % changed semantically."""
    rnd = random.Random(seed)
    files: list[FileDiff] = []
    for i in range(n_files):
        bucket = i % 10
        changed = rnd.random() < 0.3
        formatting_only = not changed and rnd.random() < 0.3
        if bucket < 3:
            base = "\n".join(tf(i * 5 + k, "t3.medium") for k in range(5))
            head = base.replace("t3.medium", "t3.large", 1) if changed else base
            if formatting_only:
                head = "# reformatted\n" + base.replace("  ami ", "  ami  ")
            path = f"infra/prod/svc{i}/main.tf"
        elif bucket < 6:
            base = k8s(i, "registry.acme.io/app:1.4.0", 3)
            head = k8s(i, "registry.acme.io/app:1.5.0", 4) if changed else base
            if formatting_only:
                head = "# comment\n" + base
            path = f"k8s/svc{i}.yaml"
        elif bucket < 8:
            if bucket == 6:
                base, head = pricing_json(i, 0), pricing_json(i, -4.0 if changed else 0)
                path = f"catalog/plans-{i}.json"
            else:
                base, head = pricing_csv(i, 0), pricing_csv(i, 0.5 if changed else 0)
                path = f"tariffs/zone-{i}.csv"
        else:
            base = text(i, "")
            head = text(i, "New paragraph.\n" if changed or formatting_only else "")
            path = f"docs/svc{i}.md"
        files.append(FileDiff(path=path, base=base.encode(), head=head.encode()))
    return files


def parse_only(files: list[FileDiff]) -> None:
    for f in files:
        for side in (f.base, f.head):
            assert side is not None
            if f.path.endswith(".tf"):
                terraform_hcl._parser().parse(side)
            elif f.path.endswith(".yaml"):
                load_yaml_documents(side, f.path)
            elif f.path.endswith(".json"):
                json.loads(side)
            elif f.path.endswith(".csv"):
                list(csv.reader(io.StringIO(side.decode())))


def clear_caches() -> None:
    documents.read_documents.cache_clear()
    terraform_hcl._RECENT.sides.clear()
    for name in dir(terraform_parse):
        fn = getattr(terraform_parse, name)
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()


def median(action: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        clear_caches()
        t0 = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run() -> dict[str, float]:
    from semdiff_terraform import run as run_tf  # type: ignore[import-not-found]

    out = {f"terraform_{k}": v for k, v in run_tf().items()}
    files = make_pr()
    out["pr_files"] = len(files)
    out["pr_lines"] = sum((f.head or b"").count(b"\n") for f in files)
    out["pr_parse_s"] = median(lambda: parse_only(files))
    changes: list[object] = []
    out["pr_analyze_s"] = median(
        lambda: changes.__setitem__(slice(None), analyze_files(files, CONFIG))
    )
    out["pr_changes"] = len(changes)
    out["pr_ratio"] = out["pr_analyze_s"] / out["pr_parse_s"]
    return out


if __name__ == "__main__":
    res = run()
    print(
        "(a) Terraform pair:",
        {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in res.items()
            if k.startswith("terraform_")
        },
    )
    print(
        f"(b) 1,000-file PR: {int(res['pr_files'])} files, {int(res['pr_lines']):,} lines per side"
    )
    print(f"    parse both sides only (baseline): {res['pr_parse_s']:.2f} s")
    print(
        f"    our analyze_files:                {res['pr_analyze_s']:.2f} s  ({int(res['pr_changes'])} changes)"
    )
    print(f"    ratio ours / parsing:             {res['pr_ratio']:.2f}x")
