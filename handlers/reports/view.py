"""One unit's progress in one campaign: the figures, and the message that shows them.

Everything here reads the counters kept by :mod:`handlers.progress_counts`, so a
view costs a handful of primary-key lookups whatever the size of the subtree: the
unit's own row and one per direct sub-unit (docs/PROGRESS.md). The figures are the
ideas submitted and approved by the support team, the initiatives the council
recognised and those applied, with their summed benefit; a unit may have a quota
on submitted ideas (attained by approvals) and one on recognised initiatives.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from babel.numbers import format_decimal

from handlers.buttons import ProgressPress
from handlers.events import Button
from handlers.i18n import Translator
from handlers.safe_html import Html, html_join
from handlers.textnorm import truncate
from storage.models import Campaign, QuotaMeasure, Unit
from storage.repositories.progress import Counts, Target
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


NO_TARGETS: Mapping[QuotaMeasure, Target] = MappingProxyType({})
ZERO = Counts()
SUBMITTED, RECOGNISED = QuotaMeasure.SUBMITTED, QuotaMeasure.RECOGNISED


@dataclass(frozen=True, slots=True)
class Quota:
    """One quota of a unit and how far it is reached: a quota on submitted ideas is
    reached by the ideas the team approved, one on recognised initiatives by those."""

    measure: QuotaMeasure
    target: int
    summed: bool  # the sum of the sub-units' targets
    reached: int

    @property
    def attainment(self) -> float | None:
        """As a percentage of the target (None: a target of 0)."""
        return 100.0 * self.reached / self.target if self.target else None


@dataclass(frozen=True, slots=True)
class Figures:
    """A unit's counts in its whole subtree, over the campaign and its last 7 days."""

    unit: Unit
    counts: Counts = ZERO
    week: Counts = ZERO
    targets: Mapping[QuotaMeasure, Target] = field(default_factory=lambda: NO_TARGETS)

    @property
    def submitted(self) -> int:
        return self.counts.submitted

    @property
    def approved(self) -> int:
        return self.counts.approved

    @property
    def recognised(self) -> int:
        return self.counts.recognised

    @property
    def applied(self) -> int:
        return self.counts.applied

    @property
    def benefit(self) -> int:
        return self.counts.benefit

    @property
    def week_submitted(self) -> int:
        return self.week.submitted

    @property
    def week_approved(self) -> int:
        return self.week.approved

    def quota(self, measure: QuotaMeasure) -> Quota | None:
        target = self.targets.get(measure)
        if target is None:
            return None
        reached = self.counts.recognised if measure is RECOGNISED else self.counts.approved
        return Quota(measure, target.target, target.summed, reached)

    @property
    def quotas(self) -> list[Quota]:
        """The unit's quotas, submitted first."""
        found = (self.quota(SUBMITTED), self.quota(RECOGNISED))
        return [q for q in found if q is not None]

    @property
    def target(self) -> int | None:
        """The target on submitted ideas (None: none)."""
        quota = self.quota(SUBMITTED)
        return quota.target if quota is not None else None

    @property
    def attainment(self) -> float | None:
        """The lowest attainment of the unit's quotas: how far behind it is (None: no
        quota, or only quotas of 0)."""
        values = [a for a in (q.attainment for q in self.quotas) if a is not None]
        return min(values) if values else None


def rank_key(figures: Figures) -> tuple[int, float, int, int, int, str]:
    """Laggards first: lowest attainment of any quota, then units without a quota,
    fewest recognised, fewest approved."""
    attainment = figures.attainment
    return (
        0 if attainment is not None else 1,
        attainment if attainment is not None else 0.0,
        figures.recognised,
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
    def direct(self) -> Counts:
        """Ideas of the unit itself (not of a sub-unit)."""
        return Counts(
            *(
                own - sum(c.counts[i] for c in self.children)
                for i, own in enumerate(self.own.counts)
            )
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
        return Figures(
            u, totals.get(u.id, ZERO), week.get(u.id, ZERO), targets.get(u.id, NO_TARGETS)
        )

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


# Large sums of money the way people say them: "1,5 tỷ đ", "200 triệu đ".
_MONEY_WORDS = {
    "vi": ((10**9, "tỷ đ"), (10**6, "triệu đ"), (10**3, "nghìn đ")),
    "en": ((10**9, "billion VND"), (10**6, "million VND"), (10**3, "thousand VND")),
}


def money(amount: int, lang: str) -> str:
    """A benefit in đồng, rounded to one decimal of its largest word: "1,5 tỷ đ"."""
    words = _MONEY_WORDS.get(lang, _MONEY_WORDS["en"])
    sign, amount = ("−" if amount < 0 else ""), abs(amount)
    for size, word in words:
        if amount >= size:
            value = format_decimal(round(amount / size, 1), format="#,##0.#", locale=lang)
            return f"{sign}{value} {word}"
    return f"{sign}{number(amount, lang)} {'đ' if lang == 'vi' else 'VND'}"


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


def quota_line(t: Translator, quota: Quota) -> Html:
    target = number(quota.target, t.lang)
    key = "progress.target_summed" if quota.summed else "progress.target_own"
    return t(
        f"progress.quota_{quota.measure.value}",
        target=t(key, target=target),
        attainment=percent(quota.attainment, t.lang),
    )


def quota_lines(t: Translator, figures: Figures) -> Html:
    quotas = figures.quotas
    if not quotas:
        return t("progress.quota_none")
    return html_join([quota_line(t, q) for q in quotas], sep="\n")


def child_line(t: Translator, rank: int, figures: Figures) -> Html:
    lang = t.lang
    submitted_quota, recognised_quota = figures.quota(SUBMITTED), figures.quota(RECOGNISED)
    more: list[Html] = []
    if recognised_quota is None:
        more.append(t("progress.child_recognised", recognised=number(figures.recognised, lang)))
    else:
        more.append(
            t(
                "progress.child_recognised_target",
                recognised=number(figures.recognised, lang),
                target=number(recognised_quota.target, lang),
                attainment=percent(recognised_quota.attainment, lang),
            )
        )
    if figures.benefit:
        more.append(t("progress.child_benefit", benefit=money(figures.benefit, lang)))
    if submitted_quota is None and recognised_quota is None:
        more.append(t("progress.child_none"))
    params: dict[str, object] = {
        "rank": rank,
        "mark": mark(figures),
        "name": truncate(figures.unit.name, NAME_CHARS),
        "approved": number(figures.approved, lang),
        "submitted": number(figures.submitted, lang),
        "week": signed(figures.week_submitted, lang),
        "more": html_join(more, sep=""),
    }
    if submitted_quota is None:
        return t("progress.child_no_target", **params)
    return t(
        "progress.child",
        **params,
        target=number(submitted_quota.target, lang),
        attainment=percent(submitted_quota.attainment, lang),
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
            recognised=number(own.recognised, lang),
            applied=number(own.applied, lang),
            benefit=money(own.benefit, lang),
            week_submitted=signed(own.week.submitted, lang),
            week_approved=signed(own.week.approved, lang),
            week_recognised=signed(own.week.recognised, lang),
            week_applied=signed(own.week.applied, lang),
            week_benefit=("+" if own.week.benefit >= 0 else "") + money(own.week.benefit, lang),
            quotas=quota_lines(t, own),
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
        direct = view.direct
        if any(direct):
            parts.append(
                t(
                    "progress.direct",
                    submitted=number(direct.submitted, lang),
                    approved=number(direct.approved, lang),
                    recognised=number(direct.recognised, lang),
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
