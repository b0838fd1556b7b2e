"""The start-up heap is frozen out of later full collections (bot.runtime.heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.runtime import heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_collects_garbage_and_freezes_what_lives(unfrozen: None) -> None:
    class Node:
        partner: object

    alive = Node()
    assert any(o is alive for o in gc.get_objects())
    cycle_a, cycle_b = Node(), Node()
    cycle_a.partner, cycle_b.partner = cycle_b, cycle_a
    garbage_ids = {id(cycle_a), id(cycle_b)}
    del cycle_a, cycle_b

    frozen = heap.settle()

    assert frozen == gc.get_freeze_count() > 0
    tracked = gc.get_objects()
    # what lives is no longer scanned by collections; the cycle was freed, not frozen
    assert not any(o is alive for o in tracked)
    assert not any(id(o) in garbage_ids and isinstance(o, Node) for o in tracked)
    made_later = Node()
    assert any(o is made_later for o in gc.get_objects())


def test_settle_lets_the_young_generation_grow_and_still_frees_cycles(unfrozen: None) -> None:
    _, middle, oldest = gc.get_threshold()
    heap.settle()
    assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, middle, oldest)

    class Node:
        partner: object

    collected: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected.append(info["collected"])

    gc.callbacks.append(count)
    try:
        for _ in range(3 * heap.YOUNG_THRESHOLD):  # cycles only the collector can free
            a, b = Node(), Node()
            a.partner, b.partner = b, a
    finally:
        gc.callbacks.remove(count)
    del a, b
    # the collector ran by itself, a few times rather than once every 700 allocations
    assert 1 <= len(collected) <= 12
    assert sum(collected) > heap.YOUNG_THRESHOLD
