"""An idea's life after the support team's approval: routes the ``lc:`` buttons.

The council's steps (scores, outcome) live in :mod:`handlers.flows.council`, the
application, evidence and reward in :mod:`handlers.flows.applied`. Each press names
the idea and an action; the idea is loaded and the press authorised again by the
visibility policy in the step's own handler, whatever the button said.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.buttons import LifecyclePress
from handlers.context import Context
from handlers.flows import applied, council

Handler = Callable[[Context, LifecyclePress], Awaitable[None]]

PRESSES: dict[str, Handler] = {**council.PRESSES, **applied.PRESSES}
assert len(PRESSES) == len(council.PRESSES) + len(applied.PRESSES), "an action named twice"


async def on_press(ctx: Context, press: LifecyclePress) -> None:
    handler = PRESSES.get(press.action)
    if handler is None:
        ctx.answer(ctx.t("common.stale_button"))
        return
    await handler(ctx, press)
