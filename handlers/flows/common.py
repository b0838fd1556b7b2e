"""Small pieces every flow uses: global buttons, the stale-button answer, unit names."""

from __future__ import annotations

from handlers.context import Context
from handlers.events import Button
from storage.models import Unit

MAX_ID_DIGITS = 18  # any id or offset fits a signed 64-bit database integer


def parse_id(raw: str) -> int | None:
    """A number from callback data or a typed option: plain ASCII digits only, else None.

    ``str.isdigit`` also accepts "²" (which ``int`` refuses) and "٣" (which it reads),
    and a number longer than a database integer makes the query itself fail.
    """
    if not raw or len(raw) > MAX_ID_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)


def global_button(label: str, name: str, *args: str | int) -> Button:
    """A button that works whatever flow the chat is in ("g:<name>:<args>")."""
    return Button(label, ":".join(["g", name, *map(str, args)]))


def stale(ctx: Context) -> None:
    ctx.answer(ctx.t("common.stale_button"))


async def unit_label(ctx: Context, unit: Unit) -> str:
    """A unit's name with its parent's, so two "CĐCS Công ty May" can be told apart."""
    if unit.parent_id is None:
        return unit.name
    parent = await ctx.uow.units.get(unit.parent_id)
    return f"{unit.name} — {parent.name}" if parent else unit.name
