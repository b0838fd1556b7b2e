"""One unit's progress in one campaign: the figures, and the message that shows them.

Everything here reads the counters kept by :mod:`handlers.progress_counts`, so a
view costs a handful of primary-key lookups whatever the size of the subtree: the
unit's own row and one per direct sub-unit (docs/PROGRESS.md).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.numbers import format_decimal

from handlers.buttons import ProgressPress
from handlers.events import Button
from handlers.i18n import Translator
from handlers.safe_html import Html, html_join
from handlers.textnorm import truncate
from storage.models import Campaign, Unit
from storage.uow import UnitOfWork

PAGE = 10  # sub-units per page of the message
WEEK_DAYS = 7
NAME_CHARS = 60
BUTTON_NAME_CHARS = 40
# Long words every unit name repeats, shortened the way unions write them, for buttons.
SHORT_NAMES = (
    ("Công đoàn cơ sở", "CĐCS"),
    ("Liên đoàn Lao động", "LĐLĐ"),
    ("Công ty Cổ phần", "Cty CP"),
    ("Công ty TNHH", "Cty TNHH"),
    ("Công ty", "Cty"),
    ("Thành phố", "TP."),
)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class Figures:
    """A unit's counts in its whole subtree."""

    unit: Unit
    submitted: int = 0
    approved: int = 0
    week_submitted: int = 0
    week_approved: int = 0
    target: int | None = None
    summed: bool = False  # the target is the sum of the sub-units' targets

    @property
    def attainment(self) -> float | None:
        """Approved ideas as a percentage of the target (None: no target, or 0)."""
        if not self.target:
            return None
        return 100.0 * self.approved / self.target


def rank_key(figures: Figures) -> tuple[int, float, int, int, str]:
    """Laggards first: lowest attainment, then units without a target, fewest approved."""
    attainment = figures.attainment
    return (
        0 if attainment is not None else 1,
        attainment if attainment is not None else 0.0,
        figures.approved,
        figures.submitted,
        figures.unit.code,
    )


@dataclass(slots=True)
class ProgressView:
    unit: Unit
    campaign: Campaign
    today: date
    own: Figures
    children: list[Figures] = field(default_factory=list)  # ranked, laggards first
    previous: Campaign | None = None
    following: Campaign | None = None

    @property
    def direct(self) -> tuple[int, int]:
        """Ideas of the unit itself (not of a sub-unit): (submitted, approved)."""
        return (
            self.own.submitted - sum(c.submitted for c in self.children),
            self.own.approved - sum(c.approved for c in self.children),
        )

    @property
    def running(self) -> bool:
        return self.campaign.starts_on <= self.today <= self.campaign.ends_on


async def default_campaign(uow: UnitOfWork, today: date) -> Campaign | None:
    """The campaign running today; else the last one that started; else the first."""
    campaigns = await uow.progress.campaigns()
    started = [c for c in campaigns if c.starts_on <= today]
    if started:
        running = [c for c in started if today <= c.ends_on]
        return running[-1] if running else started[-1]
    return campaigns[0] if campaigns else None


async def load_view(uow: UnitOfWork, unit: Unit, campaign: Campaign, today: date) -> ProgressView:
    """The unit's figures and its direct sub-units', ranked laggards first."""
    children = await uow.progress.children(unit.id)
    ids = [unit.id, *(c.id for c in children)]
    totals = await uow.progress.totals(campaign.id, ids)
    week = await uow.progress.since(campaign.id, ids, today - timedelta(days=WEEK_DAYS - 1))
    targets = await uow.progress.targets(campaign.id, ids)

    def figures(u: Unit) -> Figures:
        submitted, approved = totals.get(u.id, (0, 0))
        week_submitted, week_approved = week.get(u.id, (0, 0))
        target, summed = targets.get(u.id, (None, False))
        return Figures(u, submitted, approved, week_submitted, week_approved, target, summed)

    campaigns = await uow.progress.campaigns()
    index = next(i for i, c in enumerate(campaigns) if c.id == campaign.id)
    return ProgressView(
        unit=unit,
        campaign=campaign,
        today=today,
        own=figures(unit),
        children=sorted((figures(c) for c in children), key=rank_key),
        previous=campaigns[index - 1] if index > 0 else None,
        following=campaigns[index + 1] if index + 1 < len(campaigns) else None,
    )


# ---------------------------------------------------------------- numbers in words


def number(value: int, lang: str) -> str:
    return str(format_decimal(value, format="#,##0", locale=lang))


def percent(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    return f"{format_decimal(value, format='#,##0.0', locale=lang)}%"


def signed(value: int, lang: str) -> str:
    return ("+" if value >= 0 else "−") + number(abs(value), lang)


def mark(figures: Figures) -> str:
    attainment = figures.attainment
    if attainment is None:
        return "⚪"
    if attainment >= 100:
        return "🟢"
    return "🟡" if attainment >= 50 else "🔴"


def plain(text: str) -> str:
    """Catalogue texts are Telegram HTML; a chart or a spreadsheet wants the plain words."""
    return html.unescape(_TAG.sub("", text))


def short_name(name: str) -> str:
    for long, short in SHORT_NAMES:
        name = name.replace(long, short)
    return truncate(name, BUTTON_NAME_CHARS)


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


# ---------------------------------------------------------------- the message


def button_data(action: str, unit_id: int, campaign_id: int, page: int = 0) -> str:
    return ProgressPress(action, unit_id, campaign_id, page).pack()


def timing(t: Translator, view: ProgressView) -> Html:
    campaign, today = view.campaign, view.today
    if today < campaign.starts_on:
        return t("progress.starts_in", days=(campaign.starts_on - today).days)
    if today > campaign.ends_on:
        return t("progress.ended", date=day(campaign.ends_on))
    return t("progress.days_left", days=(campaign.ends_on - today).days + 1)


def target_text(t: Translator, figures: Figures) -> Html:
    if figures.target is None:
        return t("progress.no_target")
    key = "progress.target_summed" if figures.summed else "progress.target_own"
    return t(key, target=number(figures.target, t.lang))


def child_line(t: Translator, rank: int, figures: Figures) -> Html:
    lang = t.lang
    params: dict[str, object] = {
        "rank": rank,
        "mark": mark(figures),
        "name": truncate(figures.unit.name, NAME_CHARS),
        "approved": number(figures.approved, lang),
        "submitted": number(figures.submitted, lang),
        "week": signed(figures.week_submitted, lang),
    }
    if figures.target is None:
        return t("progress.child_no_target", **params)
    return t(
        "progress.child",
        **params,
        target=number(figures.target, lang),
        attainment=percent(figures.attainment, lang),
    )


def render(
    t: Translator, view: ProgressView, *, page: int = 0, up: Unit | None = None
) -> tuple[Html, list[list[Button]]]:
    """The progress message and its buttons; ``up``: the unit above, if the reader may see it."""
    lang = t.lang
    own = view.own
    parts: list[Html] = [
        t(
            "progress.report",
            unit=view.unit.name,
            campaign=view.campaign.name,
            code=view.campaign.code,
            start=day(view.campaign.starts_on),
            end=day(view.campaign.ends_on),
            timing=timing(t, view),
            submitted=number(own.submitted, lang),
            approved=number(own.approved, lang),
            week_submitted=signed(own.week_submitted, lang),
            week_approved=signed(own.week_approved, lang),
            target=target_text(t, own),
            attainment=percent(own.attainment, lang),
        )
    ]
    children = view.children
    pages = max((len(children) + PAGE - 1) // PAGE, 1)
    page = min(max(page, 0), pages - 1)
    shown = children[page * PAGE : (page + 1) * PAGE]
    if children:
        header = t(
            "progress.children_header",
            first=page * PAGE + 1,
            last=page * PAGE + len(shown),
            total=len(children),
        )
        lines = [child_line(t, page * PAGE + i + 1, f) for i, f in enumerate(shown)]
        parts.append(html_join([header, *lines], sep="\n"))
        direct_submitted, direct_approved = view.direct
        if direct_submitted or direct_approved:
            parts.append(
                t(
                    "progress.direct",
                    submitted=number(direct_submitted, lang),
                    approved=number(direct_approved, lang),
                )
            )
    else:
        parts.append(t("progress.no_children"))

    unit_id, campaign_id = view.unit.id, view.campaign.id
    rows: list[list[Button]] = []
    rows.extend(
        [
            Button(
                t("progress.drill", rank=page * PAGE + i + 1, name=short_name(f.unit.name)),
                button_data("v", f.unit.id, campaign_id),
            )
        ]
        for i, f in enumerate(shown)
    )
    nav: list[Button] = []
    if page > 0:
        nav.append(
            Button(t("progress.prev_page"), button_data("v", unit_id, campaign_id, page - 1))
        )
    if page + 1 < pages:
        nav.append(
            Button(t("progress.next_page"), button_data("v", unit_id, campaign_id, page + 1))
        )
    if nav:
        rows.append(nav)
    if up is not None:
        rows.append(
            [
                Button(
                    t("progress.up", name=short_name(up.name)),
                    button_data("v", up.id, campaign_id),
                )
            ]
        )
    phases: list[Button] = []
    if view.previous is not None:
        phases.append(
            Button(
                t("progress.previous_phase", code=view.previous.code),
                button_data("v", unit_id, view.previous.id),
            )
        )
    if view.following is not None:
        phases.append(
            Button(
                t("progress.next_phase", code=view.following.code),
                button_data("v", unit_id, view.following.id),
            )
        )
    if phases:
        rows.append(phases)
    rows.append(
        [
            Button(t("progress.chart"), button_data("c", unit_id, campaign_id)),
            Button(t("progress.export"), button_data("x", unit_id, campaign_id)),
        ]
    )
    return html_join(parts, sep="\n\n"), rows
