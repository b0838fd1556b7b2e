"""The progress chart: attainment per sub-unit against the quota line, as a PNG.

Drawn with matplotlib's Agg canvas directly (no pyplot, so no global figure state
and safe in a worker thread), 1080 px wide so a phone shows it without zooming:
one horizontal bar per sub-unit, laggards on top, the quota at 100 %: the quota on
recognised initiatives where any unit shown has one (the programme's measure), else
the quota on ideas (reached by approvals). Where no unit shown has a quota, the bars
are the counts (sent, approved within them, recognised within those) with no quota
line; where there is not even an idea, there is nothing to draw
(:func:`nothing_to_chart`: the report says so in words). DejaVu Sans, which matplotlib
ships, has every Vietnamese letter with its diacritics.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING, Final

from handlers.i18n import Translator
from handlers.reports.view import (
    RECOGNISED,
    SUBMITTED,
    Figures,
    ProgressView,
    mark,
    money,
    number,
    percent,
    short_name,
)
from handlers.reports.view import plain as _plain
from handlers.textnorm import truncate
from storage.models import QuotaMeasure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_PX: Final = 1080
DPI: Final = 100
MAX_BARS: Final = 25
LABEL_LINE_CHARS: Final = 26
BAR_IN: Final = 0.62  # height per bar, inches
FONT: Final = "DejaVu Sans"
COLOURS: Final = {"🔴": "#d64541", "🟡": "#f0ad4e", "🟢": "#3c9d5d", "⚪": "#9e9e9e"}
QUOTA_COLOUR: Final = "#1f3b73"
SENT_COLOUR: Final = "#b8c7e0"
APPROVED_COLOUR: Final = "#8cc49a"
RECOGNISED_COLOUR: Final = "#1e6b3a"


def _label(name: str) -> str:
    """A sub-unit's name on at most two lines, the usual long words shortened."""
    lines = textwrap.wrap(short_name(name), LABEL_LINE_CHARS)
    if len(lines) > 2:
        lines = [lines[0], truncate(" ".join(lines[1:]), LABEL_LINE_CHARS)]
    return "\n".join(lines)


def _rows(view: ProgressView) -> list[Figures]:
    return view.children or [view.own]


def chart_measure(view: ProgressView) -> QuotaMeasure:
    """The quota the bars measure: recognitions where any unit shown has such a quota."""
    if any(_attainment(f, RECOGNISED) is not None for f in _rows(view)):
        return RECOGNISED
    return SUBMITTED


def _attainment(figures: Figures, measure: QuotaMeasure) -> float | None:
    quota = figures.quota(measure)
    return quota.attainment if quota is not None else None


def counts_only(view: ProgressView) -> bool:
    """No unit the chart shows has a quota: it charts the counts, with no quota line."""
    return all(f.attainment is None for f in _rows(view))


def nothing_to_chart(view: ProgressView) -> bool:
    """No quota and no idea: a picture would be blank."""
    return counts_only(view) and view.own.submitted == 0


def render_chart(t: Translator, view: ProgressView) -> bytes:
    """The chart for this view, as PNG bytes."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = _rows(view)
    counts = counts_only(view)
    measure = chart_measure(view)
    charted = rows if counts else [f for f in rows if _attainment(f, measure) is not None]
    without_target = len(rows) - len(charted)
    shown = charted[:MAX_BARS]  # already ranked laggards first
    lang = t.lang
    own = view.own
    overall = {
        "submitted": number(own.submitted, lang),
        "approved": number(own.approved, lang),
        "recognised": number(own.recognised, lang),
        "applied": number(own.applied, lang),
        "benefit": money(own.benefit, lang),
    }
    own_attainment = _attainment(own, measure)
    if own_attainment is None:
        notes = [_plain(t("chart.overall_counts", **overall))]
    else:
        notes = [_plain(t("chart.overall", attainment=percent(own_attainment, lang), **overall))]
    if len(charted) > len(shown):
        notes.append(_plain(t("chart.more", shown=len(shown), total=len(charted))))
    if without_target and view.children:
        notes.append(_plain(t("chart.no_target", count=without_target)))
    recognised = measure is RECOGNISED
    if counts:
        subtitle_key = "chart.counts_subtitle"
    else:
        subtitle_key = "chart.subtitle_recognised" if recognised else "chart.subtitle"
    # Fixed margins in inches, so titles and notes never collide whatever the bar count.
    top_in, bottom_in = (1.75 if counts else 1.35), 1.0 + 0.32 * len(notes)  # counts: a legend
    height_in = top_in + bottom_in + BAR_IN * max(len(shown), 3)

    with rc_context({"font.family": FONT, "font.size": 15}):
        figure = Figure(figsize=(WIDTH_PX / DPI, height_in), dpi=DPI)
        FigureCanvasAgg(figure)
        figure.subplots_adjust(
            left=0.37, right=0.96, top=1 - top_in / height_in, bottom=bottom_in / height_in
        )
        axes = figure.add_subplot()
        figure.text(
            0.02,
            1 - 0.3 / height_in,
            truncate(view.unit.name, 64),
            fontsize=20,
            fontweight="bold",
            va="top",
        )
        figure.text(
            0.02,
            1 - 0.72 / height_in,
            _plain(
                t(
                    subtitle_key,
                    code=view.campaign.code,
                    start=view.campaign.starts_on.strftime("%d/%m/%Y"),
                    end=view.campaign.ends_on.strftime("%d/%m/%Y"),
                )
            ),
            fontsize=16,
            color="#444444",
            va="top",
        )
        if counts:
            _draw_counts(axes, t, shown)
        elif shown:
            values = [_attainment(f, measure) or 0.0 for f in shown]
            positions = list(range(len(shown)))
            axes.barh(positions, values, color=[COLOURS[mark(f)] for f in shown], height=0.7)
            axes.set_yticks(positions, [_label(f.unit.name) for f in shown], fontsize=14)
            axes.invert_yaxis()  # the lowest on top
            limit = max(125.0, max(values) * 1.3)
            axes.set_xlim(0, limit)
            axes.axvline(100, color=QUOTA_COLOUR, linestyle="--", linewidth=2.5, zorder=1)
            axes.text(
                100,
                -0.6,
                _plain(t("chart.quota_line")),
                color=QUOTA_COLOUR,
                ha="center",
                va="bottom",
                fontsize=14,
                fontweight="bold",
            )
            for position, f, value in zip(positions, shown, values, strict=True):
                quota = f.quota(measure)
                assert quota is not None
                axes.text(
                    value + limit * 0.01,
                    position,
                    f"{number(quota.reached, lang)}/{number(quota.target, lang)} · "
                    f"{percent(quota.attainment, lang)}",
                    va="center",
                    fontsize=13,
                    zorder=3,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.85},
                )
            axis_key = "chart.axis_recognised" if recognised else "chart.axis"
            axes.set_xlabel(_plain(t(axis_key)), fontsize=14)
            axes.grid(axis="x", alpha=0.3)
            axes.set_axisbelow(True)
        figure.text(0.02, 0.2 / height_in, "\n".join(notes), fontsize=14, va="bottom")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _draw_counts(axes: Axes, t: Translator, shown: list[Figures]) -> None:
    """Ideas sent, approved within them and recognised within those, per unit, as
    nested bars (each step is a part of the one before): fewest recognised on top."""
    from matplotlib.ticker import MaxNLocator

    lang = t.lang
    positions = list(range(len(shown)))
    sent = [f.submitted for f in shown]
    approved = [f.approved for f in shown]
    axes.barh(positions, sent, color=SENT_COLOUR, height=0.7, label=_plain(t("chart.sent")))
    recognised = [f.recognised for f in shown]
    axes.barh(
        positions, approved, color=APPROVED_COLOUR, height=0.7, label=_plain(t("chart.approved"))
    )
    axes.barh(
        positions,
        recognised,
        color=RECOGNISED_COLOUR,
        height=0.45,
        label=_plain(t("chart.recognised")),
    )
    axes.set_yticks(positions, [_label(f.unit.name) for f in shown], fontsize=14)
    # The laggards on top; a bar keeps its height when there are only one or two.
    axes.set_ylim(max(len(shown), 3) - 0.5, -0.5)
    limit = max(max(sent, default=0) * 2.2 + 0.5, 4)  # room for the longer label
    axes.set_xlim(0, limit)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for position, f in zip(positions, shown, strict=True):
        axes.text(
            f.submitted + limit * 0.01,
            position,
            _plain(
                t(
                    "chart.counts_label",
                    recognised=number(f.recognised, lang),
                    approved=number(f.approved, lang),
                    submitted=number(f.submitted, lang),
                )
            ),
            va="center",
            fontsize=13,
            zorder=3,
        )
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1), ncol=3, fontsize=13, frameon=False)
    axes.set_xlabel(_plain(t("chart.counts_axis")), fontsize=14)
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
