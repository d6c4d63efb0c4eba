"""YAML speed: a 300-file Helm chart PR and the 1,000-file mixed PR, against rapidyaml's bare parse.

(a) 300 real YAML files of prometheus-community/helm-charts (values, Chart.yaml, CRDs, CI
values; templates excluded), read from the corpus mirror, one key added per file. Measured:
rapidyaml's bare parse of both sides of every file (the baseline), and the whole gate
(`evaluate`, what `countersign analyze` runs after reading git: semantic diff, rules, Cedar,
report). (b) bench/semdiff.py's 1,000-file mixed PR: its bare parse (tree-sitter-hcl, rapidyaml,
json, csv) and `evaluate`. Median of `--runs` runs, caches cleared before each.

Usage: `python bench/yaml_parse.py [--runs 5] [--profile helm|mixed] [--mirror /work/.mirror]`;
`--reference` reads every YAML file with ruamel instead (the path before ADR 0009).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ryml

from app.core import yaml_fast
from app.core.models import FileDiff
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate
from app.semdiff.common import documents
from app.semdiff.terraform import hcl as terraform_hcl

REPO = "prometheus-community+helm-charts"
ADDED = "countersignAddedKey: enabled\n"


def helm_files(mirror: Path, count: int = 300) -> list[FileDiff]:
    """`count` non-template YAML files of the chart repository, each with one key added."""
    git = mirror / REPO / "repo"
    git = git if git.is_dir() else mirror / REPO
    if not git.is_dir():
        return []  # no corpus mirror here: (a) is skipped
    rows = subprocess.run(
        ["git", "--git-dir", str(git), "ls-tree", "-r", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    files: list[FileDiff] = []
    for row in sorted(rows, key=lambda r: r.split("\t", 1)[1]):
        meta, path = row.split("\t", 1)
        if not path.endswith((".yaml", ".yml")) or "/templates/" in path:
            continue
        base = subprocess.run(
            ["git", "--git-dir", str(git), "cat-file", "blob", meta.split()[2]],
            capture_output=True,
            check=True,
        ).stdout
        head = base + (b"" if base.endswith(b"\n") else b"\n") + ADDED.encode()
        files.append(FileDiff(path=path, base=base, head=head))
        if len(files) == count:
            break
    return files


def bare_parse(files: list[FileDiff]) -> None:
    """The baseline: every side through its parser and nothing else (rapidyaml for YAML)."""
    for f in files:
        for side in (f.base, f.head):
            assert side is not None
            if f.path.endswith((".yaml", ".yml")):
                ryml.parse_in_arena(side)
            elif f.path.endswith(".tf"):
                terraform_hcl._parser().parse(side)
            elif f.path.endswith(".json"):
                json.loads(side)
            elif f.path.endswith(".csv"):
                list(csv.reader(io.StringIO(side.decode())))


def clear_caches() -> None:
    from semdiff import clear_caches as clear_semdiff  # type: ignore[import-not-found]

    clear_semdiff()
    documents.read_documents.cache_clear()
    yaml_fast._plain.cache_clear()
    yaml_fast._reused.clear()


def median(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and median CPU seconds (CPU is the steadier figure on a shared machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        clear_caches()
        t0, c0 = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def parsers(files: list[FileDiff], runs: int) -> None:
    """The candidates on the same bytes (both sides of the Helm PR): the C parsers bare, our
    loader (rapidyaml + the walk into values + the ruamel fallback), PyYAML's libyaml."""
    import yaml as pyyaml

    from app.core.yamlsafe import load_yaml_documents

    sides = [(f.path, side) for f in files for side in (f.base, f.head) if side is not None]

    def libyaml() -> None:
        for _, side in sides:
            list(pyyaml.compose_all(side, Loader=pyyaml.CSafeLoader))

    candidates: dict[str, Callable[[], object]] = {
        "rapidyaml bare parse": lambda: [ryml.parse_in_arena(s) for _, s in sides],
        "our loader (values + nodes)": lambda: [load_yaml_documents(s, p) for p, s in sides],
        "PyYAML libyaml compose (YAML 1.1)": libyaml,
    }
    for name, action in candidates.items():
        wall, cpu = median(action, runs)
        print(f"    {name}: {wall:.3f} s wall / {cpu:.3f} s CPU")


def gate_run(gate: Gatekeeper, files: list[FileDiff]) -> Callable[[], object]:
    snapshot = PullRequestSnapshot(repo="acme/charts", author="bot[bot]", files=tuple(files))
    return lambda: evaluate(snapshot, gate)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--profile", choices=("helm", "mixed"))
    parser.add_argument(
        "--reference", action="store_true", help="read all YAML with ruamel (the old path)"
    )
    args = parser.parse_args()
    if args.reference:
        yaml_fast.load = lambda *_a, **_k: None  # type: ignore[assignment]
    from semdiff import make_pr

    root = Path(__file__).resolve().parents[1]
    gate = Gatekeeper.load(root / "risk_rules", root / "policies")
    helm = helm_files(args.mirror)
    mixed = make_pr()
    if args.profile:
        run = gate_run(gate, helm if args.profile == "helm" else mixed)
        clear_caches()
        profile = cProfile.Profile(time.process_time)
        profile.runcall(run)
        pstats.Stats(profile).sort_stats("tottime").print_stats(40)
        return
    cases = [("(b) mixed PR", mixed)]
    if helm:
        parsers(helm, args.runs)
        size = sum(len(f.base or b"") for f in helm)
        print(f"(a) Helm PR: {len(helm)} files, {size / 2**20:.1f} MiB a side, one key added each")
        cases.insert(0, ("(a) Helm PR", helm))
    else:
        print(f"(a) skipped: no {REPO} under {args.mirror}")
    for name, files in cases:
        report = evaluate(PullRequestSnapshot(repo="acme/charts", files=tuple(files)), gate)
        base = median(lambda files=files: bare_parse(files), args.runs)  # type: ignore[misc]
        ours = median(gate_run(gate, files), args.runs)
        print(
            f"{name} ({len(report.changes)} changes): bare parse {base[0]:.3f} s wall / "
            f"{base[1]:.3f} s CPU; evaluate {ours[0]:.3f} s wall / {ours[1]:.3f} s CPU; "
            f"ratio {ours[0] / base[0]:.2f}x wall, {ours[1] / base[1]:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
