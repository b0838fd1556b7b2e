"""The start-up heap, kept out of the cyclic garbage collector's way.

By the time the bot takes its first update it holds some 100,000-200,000 long-lived
objects: modules, classes, the frameworks' models, SQLAlchemy's mappers and
compiled-statement caches. Every full collection walked all of them again: 65-70 ms
with the event loop stopped, which set back every update in flight (it was the p99 of
the latency benchmark, docs/BENCHMARKS.md). :func:`settle` collects once and then
moves what is left into the permanent generation (:func:`gc.freeze`), so a full
collection scans only what was made since: 10-12 ms.

Frozen objects are still freed by reference counting; only a reference cycle among
them that becomes garbage later is never collected, and start-up objects live as long
as the process anyway.

It also raises the youngest generation's threshold from Python's 700 allocations to
:data:`YOUNG_THRESHOLD`. An update makes thousands of short-lived objects (ORM states,
the frameworks' models, rows), nearly all freed by reference counting soon after; at 700
each young collection caught many of them still alive, walked them, and promoted them
to the older generations, whose collections then walked them again. In a 30-worker
throughput run (250 updates) the collector took 43-57 ms with the loop stopped; with
10,000, 14-20 ms, in collections of 3-4 ms each (docs/BENCHMARKS.md, "The fourth round").
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

#: Allocations (less deallocations) between two collections of the youngest generation.
YOUNG_THRESHOLD = 10_000


def settle() -> int:
    """Collect, then freeze everything alive, and set the youngest generation's threshold;
    returns how many objects are frozen now."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
    frozen = gc.get_freeze_count()
    log.debug("%d start-up objects frozen", frozen)
    return frozen
