"""/myideas: the worker's own ideas and what became of them, newest first, and each one's life.

The list has a button per idea (``lc:<idea id>:ad:<offset>``) that opens its life:
the status, each step with its day (approved, recognised with the decision's number
and date, applied with the day, place and benefit, the reward), and the buttons the
author may press (add evidence, record the reward received). Only the author opens
it; the council's individual scores and who gave them are never shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from handlers import visibility
from handlers.amounts import format_amount
from handlers.buttons import LifecyclePress
from handlers.cards import VIETNAM
from handlers.context import Context
from handlers.events import Button
from handlers.flows.common import global_button, page_buttons, parse_id
from handlers.i18n import Translator
from handlers.limits import MY_IDEAS_PAGE
from handlers.safe_html import Html, html_join
from handlers.textnorm import truncate
from storage.lifecycle_models import IdeaResult
from storage.models import Idea, IdeaEvent, IdeaStatus

TITLE_CHARS = 60
BUTTON_TITLE_CHARS = 24
NOTE_CHARS = 200
STEPS_SHOWN = 20  # the newest steps; an idea rarely has more
AFTER_RECOGNITION = frozenset({IdeaStatus.RECOGNISED.value, IdeaStatus.APPLIED.value})


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
    rows: list[list[Button]] = []
    for idea in ideas:  # two to a row: a page of eight stays short on a phone
        label = t("mine.open", ref=idea.ref_code, title=truncate(idea.title, BUTTON_TITLE_CHARS))
        button = Button(html.unescape(label), LifecyclePress(idea.id, "ad", str(offset)).pack())
        if rows and len(rows[-1]) < 2:
            rows[-1].append(button)
        else:
            rows.append([button])
    rows.append(page_buttons(t, "my", offset, MY_IDEAS_PAGE, total))
    # html_join: the lines are markup already (a plain str.join would be escaped again).
    return header + "\n\n" + html_join(lines, "\n\n"), rows


# ---------------------------------------------------------------- one idea's life


async def detail_press(ctx: Context, press: LifecyclePress) -> None:
    """``lc:<id>:ad[:<offset>]``: from the list (the list turns into the idea, with a way
    back) or from a message about the idea (a new message)."""
    idea = await ctx.uow.council.idea(press.idea_id)
    place = await visibility.place_of(ctx.uow, idea) if idea is not None else None
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    # Never in a group: the idea's whole text would be read there (a confidential one too).
    private = ctx.chat.kind == "private"
    if idea is None or place is None or not private or not visibility.is_author(viewer, place):
        ctx.answer(html.unescape(ctx.t("mine.not_yours")), alert=True)
        return
    ctx.answer()
    text = await detail_text(ctx, idea)
    rows = [list(row) for row in detail_buttons(ctx.t, idea, details=False)]
    offset = parse_id(press.value)
    if offset is None:
        ctx.reply(text, rows)
        return
    rows.append([global_button(ctx.t("mine.back"), "my", offset)])
    ctx.show(text, rows)


def detail_buttons(
    t: Translator, idea: Idea, *, details: bool = True
) -> tuple[tuple[Button, ...], ...]:
    """The author's buttons on an idea: its life (``details``), and once recognised,
    evidence and the reward received."""
    rows: list[tuple[Button, ...]] = []
    if idea.status in AFTER_RECOGNITION:
        rows.append((Button(t("mine.add_evidence"), LifecyclePress(idea.id, "ev").pack()),))
        rows.append((Button(t("mine.record_reward"), LifecyclePress(idea.id, "rw").pack()),))
    if details:
        rows.append((Button(t("mine.details"), LifecyclePress(idea.id, "ad").pack()),))
    return tuple(rows)


async def detail_text(ctx: Context, idea: Idea) -> str:
    t = ctx.t
    result = await ctx.uow.council.result(idea.id)
    events = await ctx.uow.ideas.events(idea.id)
    lines = [line for e in events if (line := _step(t, e, result)) is not None]
    if not any(e.kind == "submitted" for e in events):  # ideas from before the audit
        lines.insert(0, t("mine.step.submitted", when=_day(idea.created_at)))
    if len(lines) > STEPS_SHOWN:
        lines = [Html("…"), *lines[-STEPS_SHOWN:]]
    return t(
        "mine.detail",
        ref=idea.ref_code,
        title=idea.title,
        status=t(f"status.{idea.status}"),
        steps=html_join(lines, "\n"),
    )


def _day(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def _money(t: Translator, value: object) -> str:
    return format_amount(int(value), t.lang) if isinstance(value, int) else "—"


# Each step the worker may read, from the event (the council's scores are no step).
_STEPS: dict[str, Callable[[Translator, IdeaEvent, IdeaResult | None], dict[str, object]]] = {
    "submitted": lambda t, e, r: {},
    "info_requested": lambda t, e, r: {},
    "info_added": lambda t, e, r: {},
    "forwarded": lambda t, e, r: {"to": str((e.data or {}).get("to_name", ""))},
    "approved": lambda t, e, r: {},
    "declined": lambda t, e, r: {"reason": _reason(t, e)},
    "recognised": lambda t, e, r: {
        "decision": (r.decision_no if r and r.decision_no else "—"),
        "date": (r.decision_date.strftime("%d/%m/%Y") if r and r.decision_date else "—"),
    },
    "not_recognised": lambda t, e, r: {},
    "applied": lambda t, e, r: {
        "on": _iso_day(str((e.data or {}).get("on", ""))),
        "where": str((e.data or {}).get("where", "")),
        "benefit": _money(t, (e.data or {}).get("benefit")),
    },
    "benefit_revised": lambda t, e, r: {
        "old": _money(t, (e.data or {}).get("old")),
        "new": _money(t, (e.data or {}).get("new")),
    },
    "evidence_added": lambda t, e, r: {"count": int((e.data or {}).get("files", 0))},
    "rewarded": lambda t, e, r: {"reward": _money(t, (e.data or {}).get("reward"))},
}


def _step(t: Translator, event: IdeaEvent, result: IdeaResult | None) -> Html | None:
    params = _STEPS.get(event.kind)
    if params is None:
        return None
    return t(f"mine.step.{event.kind}", when=_day(event.at), **params(t, event, result))


def _reason(t: Translator, event: IdeaEvent) -> str:
    """The team's typed reason, or the listed reason's text (markup already)."""
    reason = (event.data or {}).get("reason")
    if event.note:
        return truncate(event.note, NOTE_CHARS)
    return t(f"decline.{reason}") if reason else "—"


def _iso_day(raw: str) -> str:
    parts = raw.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else raw
