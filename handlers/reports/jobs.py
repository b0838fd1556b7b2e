"""The report worker: makes the charts and spreadsheets officials asked for, and the
certificates of recognised initiatives (:mod:`handlers.reports.certificate`).

A button press only records a :class:`~storage.models.ReportJob`; this worker
(run every second by the bot, see ``bot.app``) claims it, checks the role again,
reads what it needs in a read-only transaction (on SQLite a deferred one, so the
bot's writers never wait for a national export), draws or writes the file in a
thread, and queues the message with the file in a short transaction of its own.
The file waits under ``reports.directory`` until it is sent; files older than a
day are removed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.context import PRIORITY_NOTIFY
from handlers.events import AttachmentKind, OutMessage, Upload
from handlers.i18n import Catalogue, Translator
from handlers.reports.certificate import certificate_data, certificate_upload
from handlers.reports.chart import counts_only, nothing_to_chart, render_chart
from handlers.reports.export import write_export
from handlers.reports.view import ProgressView, load_view
from storage.models import Campaign, ReportJob, ReportKind, RoleKind, Unit
from storage.progress import vietnam_day
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH: Final = 5
STALE_AFTER: Final = timedelta(minutes=10)  # a job started this long ago was lost in a crash
KEEP_FILES_SECONDS: Final = 24 * 3600
PNG_MIME: Final = "image/png"
XLSX_MIME: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    directory: Path
    export_max_rows: int = 100_000
    # Ideas read and written at a time: what an export holds in memory (about 170 MB
    # for 100,000 rows read at once).
    export_page_rows: int = 2_000


def utc_now() -> datetime:
    return datetime.now(UTC)


def read_only(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions that read without taking SQLite's write lock (``BEGIN DEFERRED``)."""
    bind = sessionmaker.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return sessionmaker
    return async_sessionmaker(
        bind=bind.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
    )


async def run_report_jobs(
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    settings: ReportSettings,
    *,
    now: datetime | None = None,
) -> int:
    """Make the reports waiting; returns how many messages were queued."""
    now = now or utc_now()
    async with UnitOfWork(read_only(sessionmaker)) as uow:  # polled every second: no lock
        jobs = await uow.progress.pending_jobs(stale_before=now - STALE_AFTER, limit=BATCH)
    queued = 0
    for job in jobs:
        async with UnitOfWork(sessionmaker) as uow:
            claimed = await uow.progress.claim_job(job, now=now)
            await uow.commit()
        if claimed:
            queued += await _run_one(sessionmaker, catalogue, settings, job)
    if jobs:
        await asyncio.to_thread(remove_old_files, settings.directory)
    return queued


async def _run_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    settings: ReportSettings,
    job: ReportJob,
) -> int:
    t = catalogue.for_lang(job.lang)
    try:
        message = await _make(sessionmaker, t, settings, job)
        error = None
    except Exception as exc:
        log.exception("report %s (%s) failed", job.id, job.kind)
        message, error = OutMessage(t("progress.report_failed")), type(exc).__name__
    async with UnitOfWork(sessionmaker) as uow:
        if message is not None:
            await uow.outbox.add(
                channel=job.channel,
                chat_id=job.chat_id,
                payload=message.to_json(),
                priority=PRIORITY_NOTIFY,
                now=utc_now(),
                person_id=job.person_id,
                purpose=f"report:{job.kind}",
            )
        await uow.progress.finish_job(job.id, now=utc_now(), error=error)
        await uow.commit()
    return 1 if message is not None else 0


async def _make(
    sessionmaker: async_sessionmaker[AsyncSession],
    t: Translator,
    settings: ReportSettings,
    job: ReportJob,
) -> OutMessage | None:
    started = time.monotonic()
    if job.kind == ReportKind.CERTIFICATE.value:
        async with UnitOfWork(read_only(sessionmaker)) as uow:
            data = await certificate_data(uow, job)
        # Drawn after the read: on SQLite a unit of work holds the process's writer queue.
        new_file = partial(_file_path, settings, job)
        message = await certificate_upload(t, data, new_file) if data is not None else None
        log.info("report %s (%s) made in %.2f s", job.id, job.kind, time.monotonic() - started)
        return message
    async with UnitOfWork(read_only(sessionmaker)) as uow:
        unit = await uow.units.get(job.unit_id)
        campaign = await uow.progress.campaign(job.campaign_id) if job.campaign_id else None
        allowed = unit is not None and await uow.roles.holds(
            person_id=job.person_id, unit=unit, role=RoleKind.OFFICIAL.value
        )
        if unit is None or campaign is None or not allowed:
            log.info("report %s dropped: the role or the unit is gone", job.id)
            return OutMessage(t("progress.not_allowed"))
        chart = job.kind == ReportKind.CHART.value
        if chart:
            view = await load_view(uow, unit, campaign, vietnam_day(utc_now()))
            message = await _chart(t, settings, job, view)
    if not chart:  # the spreadsheet reads in a transaction of its own (write_export)
        message = await _spreadsheet(sessionmaker, t, settings, job, unit, campaign)
    log.info("report %s (%s) made in %.2f s", job.id, job.kind, time.monotonic() - started)
    return message


def _file_path(settings: ReportSettings, job: ReportJob, suffix: str) -> Path:
    settings.directory.mkdir(parents=True, exist_ok=True)
    return settings.directory / f"report-{job.id}-{secrets.token_hex(4)}{suffix}"


def _file_name(view: ProgressView, suffix: str) -> str:
    return f"{view.unit.code}-{view.campaign.code}{suffix}".replace("/", "-")


async def _chart(
    t: Translator, settings: ReportSettings, job: ReportJob, view: ProgressView
) -> OutMessage:

    names = {"unit": view.unit.name, "campaign": view.campaign.code}
    if nothing_to_chart(view):  # a picture would be blank: say it
        return OutMessage(t("chart.nothing", **names))
    png = await asyncio.to_thread(render_chart, t, view)
    path = _file_path(settings, job, ".png")
    await asyncio.to_thread(path.write_bytes, png)
    caption = "chart.counts_caption" if counts_only(view) else "progress.chart_caption"
    return OutMessage(
        t(caption, **names),
        upload=Upload(AttachmentKind.PHOTO, _file_name(view, ".png"), PNG_MIME, str(path)),
    )


async def _spreadsheet(
    sessionmaker: async_sessionmaker[AsyncSession],
    t: Translator,
    settings: ReportSettings,
    job: ReportJob,
    unit: Unit,
    campaign: Campaign,
) -> OutMessage:
    path = _file_path(settings, job, ".xlsx")
    made = await write_export(
        sessionmaker,
        unit,
        campaign,
        path,
        t=t,
        today=vietnam_day(utc_now()),
        max_rows=settings.export_max_rows,
        page_rows=settings.export_page_rows,
    )
    caption = t("progress.export_caption", unit=unit.name, campaign=campaign.code, count=made.rows)
    if made.total > made.rows:
        caption = caption + "\n" + t("progress.export_truncated", shown=made.rows, total=made.total)
    return OutMessage(
        caption, upload=Upload(AttachmentKind.DOCUMENT, made.file_name, XLSX_MIME, str(path))
    )


def remove_old_files(directory: Path, keep_seconds: float = KEEP_FILES_SECONDS) -> int:
    """Remove report files older than ``keep_seconds`` (sent or given up long ago)."""
    if not directory.is_dir():
        return 0
    cutoff = time.time() - keep_seconds
    removed = 0
    for path in directory.glob("report-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
