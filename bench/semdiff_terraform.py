"""Benchmark: the Terraform analyzer on a ~5,000-line file pair with 50 changed resources.

Compares our `analyze()` with parsing both sides alone (python-hcl2's raw lark parse, which our
analyzer cannot avoid, and `hcl2.loads`, the library's usual entry point). Run it with
`python bench/semdiff_terraform.py`; `run()` returns the figures for bench/semdiff.py.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hcl2
from hcl2 import SerializationOptions

from app.models import FileDiff
from app.repo_config import PathRule
from app.semdiff.terraform import analyze
from app.semdiff.terraform_parse import parse_side

RESOURCES = 360  # 14 lines each: ~5,000 lines per side
CHANGED = 50  # 30 updates, 10 creates, 10 deletes
REPEAT = 3


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


def _best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEAT):
        parse_side.cache_clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run() -> dict[str, float]:
    """Timings in seconds, the ratios, and peak memory of one analysis in MiB."""
    base, head = make_pair()
    file = FileDiff(path="infra/prod/app.tf", base=base, head=head)
    options = SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False, with_comments=False
    )
    base_text, head_text = base.decode(), head.decode()
    hcl2.parses_to_tree("warm = 1")  # build the lark parser once, as a long-lived worker has

    changes = analyze(file, PathRule())
    assert len(changes) == CHANGED, len(changes)

    lark_parse = _best(lambda: (hcl2.parses_to_tree(base_text), hcl2.parses_to_tree(head_text)))
    loads = _best(
        lambda: (
            hcl2.loads(base_text, serialization_options=options),
            hcl2.loads(head_text, serialization_options=options),
        )
    )
    ours = _best(lambda: analyze(file, PathRule()))

    parse_side.cache_clear()
    tracemalloc.start()
    analyze(file, PathRule())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "lines_per_side": float(max(base_text.count("\n"), head_text.count("\n"))),
        "changes": float(len(changes)),
        "parse_lark_s": lark_parse,
        "parse_loads_s": loads,
        "analyze_s": ours,
        "ratio_vs_lark_parse": ours / lark_parse,
        "ratio_vs_loads": ours / loads,
        "peak_mib": peak / 2**20,
    }


def main() -> None:
    figures = run()
    print(
        f"terraform: {figures['lines_per_side']:.0f} lines per side, {figures['changes']:.0f} changes"
    )
    print(
        f"  parse both sides, raw lark tree (hcl2.parses_to_tree): {figures['parse_lark_s']:.3f} s"
    )
    print(
        f"  parse both sides, hcl2.loads:                          {figures['parse_loads_s']:.3f} s"
    )
    print(f"  analyze():                                             {figures['analyze_s']:.3f} s")
    print(f"  ratio analyze / lark parse: {figures['ratio_vs_lark_parse']:.2f}")
    print(f"  ratio analyze / hcl2.loads: {figures['ratio_vs_loads']:.2f}")
    print(f"  peak memory of analyze() (tracemalloc): {figures['peak_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
