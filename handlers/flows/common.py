"""Small pieces every flow uses: a step of its table, global buttons, the stale-button answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from handlers.buttons import FlowPress, GlobalPress
from handlers.buttons import parse_id as parse_id
from handlers.context import Context
from handlers.events import Button, FileRef
from handlers.i18n import Translator
from storage.models import Attachment, Unit


def global_button(label: str, name: str, value: str | int = "") -> Button:
    """A button that works whatever flow the chat is in."""
    return Button(label, GlobalPress(name, str(value)).pack())


def page_buttons(t: Translator, name: str, offset: int, size: int, total: int) -> list[Button]:
    """Previous / next page of a list paged by the global button ``name`` (empty: one page)."""
    nav = []
    if offset > 0:
        nav.append(global_button(t("my.prev"), name, max(offset - size, 0)))
    if offset + size < total:
        nav.append(global_button(t("my.next"), name, offset + size))
    return nav


def stale(ctx: Context) -> None:
    ctx.answer(ctx.t("common.stale_button"))


async def press_in(ctx: Context, steps: Mapping[str, Step], press: FlowPress) -> None:
    """The pressed step's action, else the stale answer."""
    step = steps.get(press.step)
    handler = step.on_button.get(press.action) if step is not None else None
    if handler is None:
        stale(ctx)
        return
    await handler(ctx, press.value)


async def message_in(
    ctx: Context, steps: Mapping[str, Step], otherwise: Callable[[Context], Awaitable[None]]
) -> None:
    """The current step's handler of a typed message, else ``otherwise`` (a reprompt)."""
    step = steps.get(ctx.state.step or "")
    if step is None or step.on_message is None:
        await otherwise(ctx)
        return
    await step.on_message(ctx)


async def unit_label(ctx: Context, unit: Unit) -> str:
    """A unit's name with its parent's, so two "CĐCS Công ty May" can be told apart."""
    if unit.parent_id is None:
        return unit.name
    parent = await ctx.uow.units.get(unit.parent_id)
    return f"{unit.name} — {parent.name}" if parent else unit.name


def store_attachments(
    ctx: Context, files: Sequence[FileRef], *, idea_id: int, event_id: int
) -> None:
    """Keep the files a worker sent with an idea (or an answer) by their messenger ids."""
    for file in files:
        ctx.uow.ideas.add_attachment(
            Attachment(
                idea_id=idea_id,
                event_id=event_id,
                channel=ctx.incoming.channel,
                kind=file.kind.value,
                file_id=file.file_id,
                file_unique_id=file.file_unique_id,
                file_name=file.file_name,
                mime_type=file.mime_type,
                size=file.size,
                added_at=ctx.now,
            )
        )


Question = Callable[[Context], tuple[str, list[list[Button]]]]
OnMessage = Callable[[Context], Awaitable[None]]


async def replay_parts(
    ctx: Context, parts: Sequence[Mapping[str, Any]], on_message: OnMessage
) -> None:
    """Hand messages kept aside (``{"text", "files"}`` each) to ``on_message`` one by one,
    as if each had just been sent; the update in hand is restored afterwards."""
    pressed = ctx.incoming
    try:
        for part in parts:
            files = tuple(FileRef.from_json(f) for f in part["files"])
            ctx.incoming = replace(pressed, text=part["text"], files=files, button=None)
            await on_message(ctx)
    finally:
        ctx.incoming = pressed


OnButton = Callable[[Context, str], Awaitable[None]]  # gets the press's value


@dataclass(frozen=True, slots=True)
class Step:
    """One row of a flow's table: what the step shows, the message it takes (None: only
    its buttons), and its button actions, each given the press's value."""

    on_message: OnMessage | None = None
    on_button: Mapping[str, OnButton] = field(default_factory=dict)
    question: Question | None = None
