"""Pairing the definitions of one object across the two sides of a scope (a module, a whole PR).

An object is identified by its scope and key (Terraform address, Kubernetes group/kind/ns/name),
not by the file it sits in, so a definition that moved to another file still meets its other
side. A key may be defined more than once per side (the same Kubernetes object in two overlay
folders, an invalid Terraform module); definitions in the same file pair first, then identical
definitions (a move), then the rest in file order. What is left over is created or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Placed(Generic[T]):
    """One definition, and the file it was read from.

    `slot` names the file on both sides (a changed file keeps its slot across a rename); `path`
    is the file's path on this side; `file` is the path a change of this object is reported on
    (the PR file: the head path of a renamed file, the path of a removed one).
    """

    obj: T
    slot: int
    path: str
    file: str


@dataclass(frozen=True, slots=True)
class Pairing(Generic[T]):
    """Definitions of one key: matched across the sides, and those only on one side."""

    matched: tuple[tuple[Placed[T], Placed[T]], ...]
    only_base: tuple[Placed[T], ...]
    only_head: tuple[Placed[T], ...]


def group(items: Iterable[tuple[K, Placed[T]]]) -> dict[K, list[Placed[T]]]:
    """Definitions by key, in the order given."""
    out: dict[K, list[Placed[T]]] = {}
    for key, placed in items:
        out.setdefault(key, []).append(placed)
    return out


def pair(
    base: Sequence[Placed[T]], head: Sequence[Placed[T]], same: Callable[[T, T], bool]
) -> Pairing[T]:
    """Pair one key's definitions: same file, then identical content, then in order."""
    left, right = list(base), list(head)
    matched: list[tuple[Placed[T], Placed[T]]] = []
    for rule in (
        lambda b, h: b.slot == h.slot,
        lambda b, h: same(b.obj, h.obj),
        lambda b, h: True,
    ):
        for b in list(left):
            partner = next((h for h in right if rule(b, h)), None)
            if partner is not None:
                matched.append((b, partner))
                left.remove(b)
                right.remove(partner)
    return Pairing(tuple(matched), tuple(left), tuple(right))
