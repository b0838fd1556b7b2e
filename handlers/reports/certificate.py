"""The certificate of a recognised initiative: a one-page PDF for its author.

When the unit's initiative council recognises an idea, :func:`queue_certificate`
records a report job; the report worker (:mod:`handlers.reports.jobs`) checks again
that the job's person is still the idea's author and that the idea is still
recognised (:func:`certificate_data`), draws the page in a thread
(:func:`render_certificate`, :func:`certificate_upload`) and sends it to the
author's private chat in their language.

A confidential idea's certificate is a file that leaves the chat: like ``/export``
it carries the summary only (docs/SECURITY.md, rule 5): the reference, the unit, the
decision, and the title only if the worker typed it (``visibility.summary_title``),
never the text nor the author's name.

Drawn with ReportLab's canvas (measured against fpdf2: docs/BENCHMARKS.md,
"Certificate PDF") in DejaVu Sans, which matplotlib ships, so every Vietnamese letter
is there on a machine without internet. The fonts are embedded as subsets with their
Unicode map, so the words can be searched and copied from the PDF.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from handlers.context import Scope, language_of
from handlers.events import AttachmentKind, OutMessage, Upload, family_of
from handlers.i18n import Translator
from handlers.reports.view import plain
from handlers.visibility import place_of, summary_title
from storage.lifecycle_models import IdeaResult
from storage.models import Idea, ReportJob, ReportKind, ReportStatus
from storage.progress import vietnam_day
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

PDF_MIME: Final = "application/pdf"
# Channels whose private chats take an uploaded file; Zalo's bot platform does not
# (bot/zalo/transport.py sends a note instead), so a linked author gets it here.
FILE_CHANNELS: Final = ("telegram",)

# The page: A4 landscape, in points (1/72 inch).
PAGE_W: Final = 841.89
PAGE_H: Final = 595.28
MARGIN: Final = 36.0
TEXT_W: Final = PAGE_W - 2 * 90.0
TEXT_TOP: Final = PAGE_H - MARGIN - 30
TEXT_H: Final = TEXT_TOP - (MARGIN + 60)  # the date of issue sits below
LEADING: Final = 1.45  # a line's height in em: Vietnamese capitals carry two marks
MIN_SCALE: Final = 0.6
ACCENT: Final = (0.62, 0.07, 0.09)  # the union's red
INK: Final = (0.12, 0.12, 0.18)
REGULAR: Final = "SangKien-DejaVuSans"
BOLD: Final = "SangKien-DejaVuSans-Bold"


@dataclass(frozen=True, slots=True)
class CertificateData:
    """What a certificate shows. ``title`` is the title as the summary may show it
    (``visibility.summary_title``): None draws a neutral placeholder."""

    ref_code: str
    unit_name: str
    title: str | None
    author_name: str
    decision_no: str
    decision_date: date
    issued_on: date
    confidential: bool


# ---------------------------------------------------------------- drawing


def _font_dir() -> Path:
    """matplotlib's own fonts, found without importing matplotlib (numpy and all:
    about 160 ms and 34 MB that a certificate does not need)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: its DejaVu fonts draw the certificate")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


_fonts_lock = threading.Lock()
_fonts_ready = False


def _register_fonts() -> None:
    """ReportLab keeps fonts in a process-wide registry: parse the TTFs once."""
    global _fonts_ready
    # ReportLab is loaded only by the report worker, when it draws a certificate.
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    with _fonts_lock:
        if _fonts_ready:
            return
        directory = _font_dir()
        pdfmetrics.registerFont(TTFont(REGULAR, str(directory / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(directory / "DejaVuSans-Bold.ttf")))
        _fonts_ready = True


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _words(text: str) -> str:
    """One line of plain words: composed letters (DejaVu has every Vietnamese letter
    precomposed, but not every decomposed mark placed well), no line breaks."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True, slots=True)
class _Block:
    text: str
    font: str
    size: float  # points, before the page's scale
    colour: tuple[float, float, float] = INK
    space_before: float = 0.0


def _blocks(data: CertificateData, t: Translator) -> list[_Block]:
    """The page's paragraphs, top to bottom: every word on it but the date of issue."""
    title = data.title if data.title is not None else plain(t("certificate.pdf.hidden_title"))
    blocks = [
        _Block(plain(t("certificate.pdf.programme")), REGULAR, 13, ACCENT),
        _Block(plain(t("certificate.pdf.heading")), BOLD, 28, ACCENT, 8),
    ]
    if data.confidential:  # the summary: no author, no text (see the module's docstring)
        blocks.append(_Block(plain(t("certificate.pdf.certifies_idea")), REGULAR, 14, INK, 22))
    else:
        blocks += [
            _Block(plain(t("certificate.pdf.certifies")), REGULAR, 14, INK, 22),
            _Block(data.author_name, BOLD, 22, INK, 6),
            _Block(plain(t("certificate.pdf.author_of")), REGULAR, 14, INK, 6),
        ]
    decision = t("certificate.pdf.decision", number=data.decision_no, date=_day(data.decision_date))
    blocks += [
        _Block(f"“{title}”", BOLD, 17, INK, 8),
        _Block(plain(t("certificate.pdf.reference", ref=data.ref_code)), REGULAR, 12.5, INK, 22),
        _Block(plain(t("certificate.pdf.unit", unit=data.unit_name)), REGULAR, 12.5),
        _Block(plain(decision), REGULAR, 12.5),
    ]
    if data.confidential:
        blocks.append(_Block(plain(t("certificate.pdf.confidential")), REGULAR, 10.5, INK, 10))
    return blocks


def _layout(blocks: list[_Block], scale: float) -> tuple[list[tuple[_Block, float, str]], float]:
    """Each line as (its block, its size, its words), and the height of them all."""
    from reportlab.lib.utils import simpleSplit

    placed: list[tuple[_Block, float, str]] = []
    height = 0.0
    for block in blocks:
        size = block.size * scale
        height += block.space_before * scale
        for line in simpleSplit(_words(block.text), block.font, size, TEXT_W):
            placed.append((block, size, line))
            height += size * LEADING
    return placed, height


def render_certificate(data: CertificateData, t: Translator) -> bytes:
    """The certificate as PDF bytes, in ``t``'s language. Pure: no I/O but the fonts."""
    from reportlab.pdfgen.canvas import Canvas

    _register_fonts()
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    pdf.setTitle(plain(t("certificate.pdf.document_title", ref=data.ref_code)))
    pdf.setSubject(plain(t("certificate.pdf.programme")))
    pdf.setCreator("Sáng kiến bot")

    pdf.setStrokeColorRGB(*ACCENT)
    pdf.setLineWidth(3)
    pdf.rect(MARGIN, MARGIN, PAGE_W - 2 * MARGIN, PAGE_H - 2 * MARGIN)
    pdf.setLineWidth(0.8)
    pdf.rect(MARGIN + 8, MARGIN + 8, PAGE_W - 2 * MARGIN - 16, PAGE_H - 2 * MARGIN - 16)

    # The words centred in the frame above the date of issue; a long name or title
    # makes every size a little smaller rather than leave the page.
    blocks, scale = _blocks(data, t), 1.0
    placed, height = _layout(blocks, scale)
    while height > TEXT_H and scale > MIN_SCALE:
        scale *= 0.9
        placed, height = _layout(blocks, scale)
    top = TEXT_TOP - max(0.0, (TEXT_H - height) / 2)
    previous: _Block | None = None
    for block, size, line in placed:
        if block is not previous:
            top -= block.space_before * scale
            pdf.setFillColorRGB(*block.colour)
            pdf.setFont(block.font, size)
            previous = block
        # Room above the baseline for a capital with two marks (Ấ, Ễ): about 1.15 em.
        pdf.drawCentredString(PAGE_W / 2, top - size * 1.15, line)
        top -= size * LEADING

    pdf.setFillColorRGB(*INK)
    pdf.setFont(REGULAR, 11)
    issued = plain(t("certificate.pdf.issued", date=_day(data.issued_on)))
    pdf.drawRightString(PAGE_W - MARGIN - 40, MARGIN + 34, issued)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# ---------------------------------------------------------------- the job


async def queue_certificate(scope: Scope, idea: Idea, result: IdeaResult) -> None:
    """Ask the report worker for the certificate of a recognised idea, for its author.

    Called in the transaction that records the recognition; the job reaches the
    author's private chat, on a channel that takes files if they have one.
    """
    if result.recognised is not True:
        return
    author = await scope.uow.people.get(idea.author_id)
    chats = await scope.uow.people.private_chats([idea.author_id])
    if author is None or not chats:
        log.info("certificate of idea %s not queued: its author cannot be reached", idea.id)
        return
    _, channel, chat_id = min(chats, key=lambda chat: family_of(chat[1]) not in FILE_CHANNELS)
    await scope.uow.progress.add_job(
        ReportJob(
            kind=ReportKind.CERTIFICATE.value,
            person_id=idea.author_id,
            channel=channel,
            chat_id=chat_id,
            unit_id=idea.unit_id,
            campaign_id=None,
            idea_id=idea.id,
            lang=language_of(author),
            status=ReportStatus.PENDING.value,
            created_at=scope.now,
        )
    )


async def certificate_data(uow: UnitOfWork, job: ReportJob) -> CertificateData | None:
    """What the certificate job's PDF shows, checked again now; None when there is
    nothing to send any more: the job's person is no longer the idea's author, or the
    idea is not (or no longer) recognised with a decision."""
    idea = await uow.ideas.get_for_update(job.idea_id) if job.idea_id is not None else None
    result = await uow.council.result(idea.id) if idea is not None else None
    if idea is None or result is None or idea.author_id != job.person_id:
        log.info("certificate %s dropped: the idea or its author changed", job.id)
        return None
    if result.recognised is not True or not result.decision_no or result.decision_date is None:
        log.info("certificate %s dropped: idea %s is not recognised", job.id, idea.id)
        return None
    unit = await uow.units.get(idea.unit_id)
    author = await uow.people.get(idea.author_id)
    if unit is None or author is None:
        return None
    return CertificateData(
        ref_code=idea.ref_code,
        unit_name=unit.name,
        title=summary_title(await place_of(uow, idea), idea.title),
        author_name=author.display_name,
        decision_no=result.decision_no,
        decision_date=result.decision_date,
        issued_on=vietnam_day(job.created_at),  # the day it was asked for, even if made again
        confidential=idea.confidential,
    )


async def certificate_upload(
    t: Translator, data: CertificateData, new_file: Callable[[str], Path]
) -> OutMessage:
    """The message with the certificate, drawn and written in a thread;
    ``new_file(suffix)`` is where the report worker wants the file."""
    pdf = await asyncio.to_thread(render_certificate, data, t)
    path = new_file(".pdf")
    await asyncio.to_thread(path.write_bytes, pdf)
    name = plain(t("certificate.file_name", ref=data.ref_code))
    return OutMessage(
        t("certificate.caption", ref=data.ref_code),
        upload=Upload(AttachmentKind.DOCUMENT, name, PDF_MIME, str(path)),
    )
