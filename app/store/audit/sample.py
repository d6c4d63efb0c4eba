"""A reproducible audit sample of merge records, optionally stratified.

Each merge in the period gets the key `sha256(seed + "\\n" + record hash)`; the sample is the
records with the smallest keys (per stratum when stratified, sizes by largest remainder), written
in seq order. The key depends only on the seed and the record's content, never on database row
order, so the same seed over the same records always gives the same sample, and an auditor can
recompute it from an export. The output is an export file (header, records, footer), so
`countersign audit verify --file` checks each sampled record's hash; its header adds `sample`:
seed, size, population and the strata.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from app.core.errors import UsageError
from app.store.audit.chain import GENESIS_HASH, iso_utc
from app.store.audit.export import jsonl_record, merge_conditions
from app.store.audit.stream import stream_events

STRATA_FIELDS: tuple[str, ...] = ("tier", "bypass", "repo", "agent_id", "risk_level")


@dataclass(frozen=True, slots=True)
class Candidate:
    key: str
    seq: int
    stratum: tuple[Any, ...]


def parse_stratify(text: str | None) -> tuple[str, ...]:
    """`tier,bypass` as field names; unknown names are a usage error listing the allowed ones."""
    if not text:
        return ()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in STRATA_FIELDS]
    if unknown:
        raise UsageError(
            f"--stratify {', '.join(unknown)}: not a merge field to stratify by",
            hint=f"use any of {', '.join(STRATA_FIELDS)}",
        )
    return names


def sample_key(seed: str, record_hash: str) -> str:
    """The sort key of a record in the sample drawn with `seed`."""
    return hashlib.sha256(f"{seed}\n{record_hash}".encode()).hexdigest()


def allocate(populations: dict[tuple[Any, ...], int], size: int) -> dict[tuple[Any, ...], int]:
    """Proportional stratum sizes summing to min(size, total), by largest remainder.

    Ties in the remainder go to the larger stratum, then to the smaller stratum key (as text),
    so the allocation is deterministic.
    """
    total = sum(populations.values())
    size = min(size, total)
    if total == 0:
        return dict.fromkeys(populations, 0)
    exact = {k: size * n / total for k, n in populations.items()}
    sizes = {k: int(v) for k, v in exact.items()}
    order = sorted(exact, key=lambda k: (-(exact[k] - sizes[k]), -populations[k], repr(k)))
    for stratum in order[: size - sum(sizes.values())]:
        sizes[stratum] += 1
    return sizes


def choose(
    candidates: list[Candidate], size: int, stratify: tuple[str, ...]
) -> tuple[set[int], list[dict[str, Any]]]:
    """The chosen seqs and the strata table; the result ignores the order of `candidates`."""
    groups: dict[tuple[Any, ...], list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.stratum, []).append(candidate)
    sizes = allocate({k: len(v) for k, v in groups.items()}, size)
    chosen = {
        c.seq
        for stratum, members in groups.items()
        for c in sorted(members, key=lambda c: (c.key, c.seq))[: sizes[stratum]]
    }
    strata = [
        {
            "stratum": dict(zip(stratify, stratum, strict=True)),
            "population": len(groups[stratum]),
            "sample": sizes[stratum],
        }
        for stratum in sorted(groups, key=repr)
    ]
    return chosen, strata


def draw_sample(
    engine: Engine,
    *,
    seed: str,
    size: int,
    since: datetime | None = None,
    until: datetime | None = None,
    stratify: tuple[str, ...] = (),
) -> Iterator[str]:
    """The sample as export lines: header (with `sample`), records in seq order, footer."""
    if size < 1:
        raise UsageError(f"--size {size}: a sample needs at least one record")
    conditions = merge_conditions(since, until, None, None)
    candidates: list[Candidate] = []  # keys only: the chosen records are read again below
    for row in stream_events(engine, conditions):
        payload = json.loads(row.payload)
        stratum = tuple(payload.get(name) for name in stratify)
        candidates.append(Candidate(sample_key(seed, str(row.hash)), int(row.seq), stratum))
    chosen_seqs, strata = choose(candidates, size, stratify)
    sample = {
        "seed": seed,
        "size": size,
        "stratify": list(stratify),
        "population": len(candidates),
        "drawn": len(chosen_seqs),
        "strata": strata,
        "method": "sha256(seed\\nhash), smallest keys per stratum, largest-remainder allocation",
    }
    filters = {
        "since": iso_utc(since) if since else None,
        "until": iso_utc(until) if until else None,
        "repo": None,
        "agent": None,
        "sample": {"seed": seed, "size": size, "stratify": list(stratify)},
    }
    header = {
        "_countersign_export": {
            "format_version": 1,
            "filters": filters,
            "exported_at": iso_utc(datetime.now(UTC)),
            "sample": sample,
        }
    }
    yield json.dumps(header, sort_keys=True) + "\n"
    count, last_seq, last_hash = 0, None, GENESIS_HASH
    if chosen_seqs:
        for row in stream_events(engine, conditions):  # seq order
            if int(row.seq) in chosen_seqs:
                yield jsonl_record(row)
                count, last_seq, last_hash = count + 1, int(row.seq), str(row.hash)
    footer = {
        "_countersign_export_end": {"count": count, "last_seq": last_seq, "last_hash": last_hash}
    }
    yield json.dumps(footer, sort_keys=True) + "\n"
