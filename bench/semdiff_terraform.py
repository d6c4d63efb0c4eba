"""Benchmark: the Terraform analyzer on a ~5,000-line file pair with 50 changed resources.

In one run: our `analyze()` (tree-sitter parse of both sides, values, lines, diff, redaction),
a full tree-sitter parse of both sides alone, and python-hcl2's parse of the same two texts (the
pure-Python parser we replaced; a dev dependency). Each figure is the median of REPEAT runs with
every cache cleared (the content cache and the remembered trees), wall time and CPU time.
Run it with `python bench/semdiff_terraform.py`; `run()` returns the figures for bench/semdiff.py.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hcl2

from app.config.repo import PathRule
from app.core.models import FileDiff
from app.semdiff.terraform import hcl as terraform_hcl
from app.semdiff.terraform.analyzer import analyze
from app.semdiff.terraform.parse import parse_side

RESOURCES = 360  # 14 lines each: ~5,000 lines per side
CHANGED = 50  # 30 updates, 10 creates, 10 deletes
REPEAT = 5


def _resource(i: int, size: str = "m6i.large", volume: int = 50) -> str:
    return f'''resource "aws_instance" "app_{i:04d}" {{
  ami                    = "ami-0c55b159cbfafe1f0"
  instance_type          = "{size}"
  subnet_id              = aws_subnet.private[{i % 3}].id
  vpc_security_group_ids = [aws_security_group.app.id]

  root_block_device {{
    volume_size = {volume}
    encrypted   = true
  }}

  tags = merge(local.common_tags, {{ Name = "app-{i:04d}" }})
}}
'''


def make_pair() -> tuple[bytes, bytes]:
    """Base and head texts: 30 updated, 10 deleted and 10 created resources."""
    base = [_resource(i) for i in range(RESOURCES)]
    head = list(base)
    for i in range(30):
        head[i * 10] = _resource(i * 10, size="m6i.xlarge", volume=100)
    for i in range(10):
        head[i * 10 + 5] = ""
    head.extend(_resource(RESOURCES + i) for i in range(10))
    return "\n".join(base).encode(), "\n".join(head).encode()


def clear_caches() -> None:
    parse_side.cache_clear()
    terraform_hcl._RECENT.sides.clear()


def _median(fn: Callable[[], object]) -> tuple[float, float]:
    """Median wall and CPU seconds of REPEAT runs, caches cleared before each."""
    walls, cpus = [], []
    for _ in range(REPEAT):
        clear_caches()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, {model}, load average {load:.2f}"


def run() -> dict[str, float]:
    """Timings in seconds (medians), the ratios, and peak memory of one analysis in MiB."""
    base, head = make_pair()
    file = FileDiff(path="infra/prod/app.tf", base=base, head=head)
    base_text, head_text = base.decode(), head.decode()
    hcl2.parses_to_tree("warm = 1")  # build the lark parser once, as a long-lived worker has

    clear_caches()
    changes = analyze(file, PathRule())
    assert len(changes) == CHANGED, len(changes)

    parser = terraform_hcl._parser()
    hcl2_wall, hcl2_cpu = _median(
        lambda: (hcl2.parses_to_tree(base_text), hcl2.parses_to_tree(head_text))
    )
    ts_wall, ts_cpu = _median(lambda: (parser.parse(base), parser.parse(head)))
    ours_wall, ours_cpu = _median(lambda: analyze(file, PathRule()))

    clear_caches()
    tracemalloc.start()
    analyze(file, PathRule())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "lines_per_side": float(max(base_text.count("\n"), head_text.count("\n"))),
        "changes": float(len(changes)),
        "parse_hcl2_s": hcl2_wall,
        "parse_hcl2_cpu_s": hcl2_cpu,
        "parse_tree_sitter_s": ts_wall,
        "parse_tree_sitter_cpu_s": ts_cpu,
        "analyze_s": ours_wall,
        "analyze_cpu_s": ours_cpu,
        "speedup_vs_hcl2_parse": hcl2_wall / ours_wall,
        "speedup_vs_hcl2_parse_cpu": hcl2_cpu / ours_cpu,
        "peak_mib": peak / 2**20,
    }


def main() -> None:
    figures = run()
    print(f"machine: {machine()}")
    print(
        f"terraform: {figures['lines_per_side']:.0f} lines per side, {figures['changes']:.0f} changes"
        f" (median of {REPEAT} runs, wall / CPU)"
    )
    print(
        f"  python-hcl2 parse of both sides:      {figures['parse_hcl2_s']:.3f} s"
        f" / {figures['parse_hcl2_cpu_s']:.3f} s"
    )
    print(
        f"  tree-sitter full parse of both sides: {figures['parse_tree_sitter_s']:.3f} s"
        f" / {figures['parse_tree_sitter_cpu_s']:.3f} s"
    )
    print(
        f"  our analyze():                        {figures['analyze_s']:.3f} s"
        f" / {figures['analyze_cpu_s']:.3f} s"
    )
    print(
        f"  python-hcl2 parse / our analyze: {figures['speedup_vs_hcl2_parse']:.1f}x wall,"
        f" {figures['speedup_vs_hcl2_parse_cpu']:.1f}x CPU"
    )
    print(f"  peak memory of analyze() (tracemalloc): {figures['peak_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
