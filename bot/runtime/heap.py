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
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def settle() -> int:
    """Collect, then freeze everything alive; returns how many objects are frozen now."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("%d start-up objects frozen", frozen)
    return frozen
