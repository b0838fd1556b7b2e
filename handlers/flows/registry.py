"""The flows by name, for a flow that hands the chat over to one it does not import.

The answer flow resumes whichever form a question interrupted; joining a unit goes on
to the form that asked for it. :mod:`handlers.router` imports every flow and fills
these tables, so no flow imports the router, nor a flow that imports it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from handlers.buttons import FlowPress
from handlers.context import Context


class Flow(Protocol):
    async def on_message(self, ctx: Context) -> None: ...

    async def on_button(self, ctx: Context, press: FlowPress) -> None: ...

    async def reprompt(self, ctx: Context) -> None: ...


Command = Callable[[Context], Awaitable[None]]

# Each flow by the name its conversation stores.
FLOWS: dict[str, Flow] = {}
# How to start a flow afresh, by the same name (a join's ``after``).
BEGINS: dict[str, Command] = {}
