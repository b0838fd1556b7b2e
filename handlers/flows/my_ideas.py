"""/myideas: the worker's own ideas and what became of them, newest first."""

from __future__ import annotations

from handlers.context import Context
from handlers.events import Button
from handlers.flows.common import global_button, parse_id
from handlers.limits import MY_IDEAS_PAGE
from handlers.safe_html import html_join
from handlers.textnorm import truncate

TITLE_CHARS = 60


async def show(ctx: Context) -> None:
    text, buttons = await _page(ctx, 0)
    ctx.reply(text, buttons)


async def page(ctx: Context, value: str) -> None:
    offset = parse_id(value) or 0
    ctx.answer()
    text, buttons = await _page(ctx, offset)
    ctx.show(text, buttons)


async def _page(ctx: Context, offset: int) -> tuple[str, list[list[Button]]]:
    t = ctx.t
    total = await ctx.uow.ideas.count_of_author(ctx.person.id)
    if total == 0:
        return t("my.none"), []
    offset = min(offset, max(total - 1, 0)) // MY_IDEAS_PAGE * MY_IDEAS_PAGE
    ideas = await ctx.uow.ideas.of_author(ctx.person.id, limit=MY_IDEAS_PAGE, offset=offset)
    lines = [
        t(
            "my.line",
            ref=idea.ref_code,
            title=truncate(idea.title, TITLE_CHARS),
            status=t(f"status.{idea.status}"),
            date=idea.created_at.strftime("%d/%m/%Y"),
        )
        for idea in ideas
    ]
    header = t("my.header", total=total, first=offset + 1, last=offset + len(ideas))
    row = []
    if offset > 0:
        row.append(global_button(t("my.prev"), "my", max(offset - MY_IDEAS_PAGE, 0)))
    if offset + MY_IDEAS_PAGE < total:
        row.append(global_button(t("my.next"), "my", offset + MY_IDEAS_PAGE))
    # html_join: the lines are markup already (a plain str.join would be escaped again).
    return header + "\n\n" + html_join(lines, "\n\n"), [row] if row else []
