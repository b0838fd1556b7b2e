"""The certificate of a recognised initiative: the PDF its author receives.

The page is read back with pypdf, as a reader's PDF viewer would find its words: the
Vietnamese letters must come out whole. The job is driven through the report worker
over the flows' world (tests/flows/trust.py): only the author of a recognised idea
gets a certificate, and a confidential idea's certificate shows its summary only.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from handlers.context import Scope
from handlers.i18n import Catalogue
from handlers.reports.certificate import CertificateData, queue_certificate, render_certificate
from handlers.reports.jobs import ReportSettings, run_report_jobs
from storage.db import create_engine, create_sessionmaker
from storage.lifecycle_models import IdeaResult
from storage.models import Base, Idea, Identity, Person, ReportJob, ReportKind, ReportStatus
from storage.uow import UnitOfWork
from tests.flows.harness import Harness, Reply, seed_units
from tests.flows.trust import (
    AUTHOR,
    AUTHOR_NAME,
    SECRET_TEXT,
    TYPED_TITLE,
    World,
    make_world,
    new_idea,
)

UNIT = "Công đoàn cơ sở Công ty May Phú Mỹ"
DECISION = "12/QĐ-CĐ"
DECISION_DAY = date(2026, 12, 5)
SHAREABLE = CertificateData(
    ref_code="SK-2026-000123",
    unit_name=UNIT,
    title="Cải tiến quy trình kiểm tra chất lượng mối hàn ở phân xưởng cơ khí số 2",
    author_name="Nguyễn Thị Hồng Nhung",
    decision_no=DECISION,
    decision_date=DECISION_DAY,
    issued_on=date(2026, 12, 6),
    confidential=False,
)


def words(pdf: bytes) -> str:
    """The page's words as a PDF viewer extracts them, one space between each."""
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


# ---------------------------------------------------------------- the page


def test_vietnamese_certificate_has_every_word_with_its_marks(catalogue: Catalogue) -> None:
    pdf = render_certificate(SHAREABLE, catalogue.for_lang("vi"))
    assert pdf.startswith(b"%PDF-")
    text = words(pdf)
    assert "Chương trình “1 triệu sáng kiến”" in text
    assert "GIẤY CHỨNG NHẬN SÁNG KIẾN" in text
    assert "Mã sáng kiến: SK-2026-000123" in text
    assert f"Đơn vị: {UNIT}" in text
    assert "Nguyễn Thị Hồng Nhung" in text
    assert "Cải tiến quy trình kiểm tra chất lượng mối hàn ở phân xưởng cơ khí số 2" in text
    assert "Quyết định số 12/QĐ-CĐ ngày 05/12/2026" in text
    assert "Ngày cấp: 06/12/2026" in text


def test_english_certificate_keeps_the_vietnamese_names(catalogue: Catalogue) -> None:
    text = words(render_certificate(SHAREABLE, catalogue.for_lang("en")))
    assert "CERTIFICATE OF INITIATIVE" in text and "“1 million initiatives”" in text
    assert "Reference: SK-2026-000123" in text
    assert f"Unit: {UNIT}" in text
    assert "Nguyễn Thị Hồng Nhung" in text
    assert "decision no. 12/QĐ-CĐ of 05/12/2026" in text
    assert "Issued on 06/12/2026" in text


def test_decomposed_marks_typed_by_a_worker_come_out_composed(catalogue: Catalogue) -> None:
    # Some phone keyboards send "ệ" as "e" + two combining marks.
    typed = replace(SHAREABLE, title="Tiết kiệm điện ca đêm".replace("ệ", "e\u0323\u0302"))
    assert "Tiết kiệm điện ca đêm" in words(render_certificate(typed, catalogue.for_lang("vi")))


def test_a_name_and_title_of_200_characters_stay_on_one_page(catalogue: Catalogue) -> None:
    long = replace(SHAREABLE, title="Sáng kiến dài " * 14 + "cuối", author_name="Tên dài " * 25)
    text = words(render_certificate(long, catalogue.for_lang("vi")))
    assert "cuối" in text and "Ngày cấp: 06/12/2026" in text


def test_confidential_certificate_without_a_typed_title_names_no_content(
    catalogue: Catalogue,
) -> None:
    secret = replace(SHAREABLE, title=None, confidential=True)
    pdf = render_certificate(secret, catalogue.for_lang("vi"))
    text = words(pdf)
    assert "Sáng kiến (bảo mật)" in text
    assert "SK-2026-000123" in text and UNIT in text and DECISION in text
    assert "Nguyễn Thị Hồng Nhung" not in text  # the summary carries no author
    assert "mối hàn" not in text
    metadata = PdfReader(io.BytesIO(pdf)).metadata or {}
    assert all("mối hàn" not in str(value) for value in metadata.values())


# ---------------------------------------------------------------- the job


@pytest.fixture
async def harness(tmp_path: Path, catalogue: Catalogue) -> AsyncIterator[Harness]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'certificate.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    harness = Harness(create_sessionmaker(engine), catalogue)
    harness.units = await seed_units(harness.sessionmaker)
    yield harness
    await engine.dispose()


@pytest.fixture
async def world(harness: Harness) -> World:
    return await make_world(harness)


async def recognise(w: World, idea: Idea, *, recognised: bool = True) -> IdeaResult:
    """The council's outcome as the chair records it, and the certificate asked for."""
    async with UnitOfWork(w.h.sessionmaker) as uow:
        locked = await uow.ideas.get_for_update(idea.id)
        assert locked is not None
        result = await uow.council.result_for_update(idea.id)
        result.recognised = recognised
        result.decision_no = DECISION if recognised else None
        result.decision_date = DECISION_DAY if recognised else None
        result.decided_at = w.h.now
        scope = Scope(uow=uow, catalogue=w.h.dispatcher.catalogue, now=w.h.now)
        await queue_certificate(scope, locked, result)
        await uow.commit()
    return result


async def run_jobs(w: World, tmp_path: Path) -> list[Reply]:
    settings = ReportSettings(tmp_path / "reports")
    await run_report_jobs(w.h.sessionmaker, w.h.dispatcher.catalogue, settings)
    return list((await w.h.deliver()).values())


async def jobs(w: World) -> list[ReportJob]:
    async with w.h.sessionmaker() as session:
        return list((await session.execute(select(ReportJob).order_by(ReportJob.id))).scalars())


def the_pdf(reply: Reply) -> bytes:
    upload = reply.message.upload
    assert upload is not None and upload.kind.value == "document"
    assert upload.mime_type == "application/pdf"
    return Path(upload.path).read_bytes()


async def test_the_author_of_a_recognised_idea_gets_the_certificate(
    world: World, tmp_path: Path
) -> None:
    idea = await new_idea(world, confidential=False, title_given=True)
    await recognise(world, idea)
    [job] = await jobs(world)
    assert job.kind == ReportKind.CERTIFICATE.value and job.idea_id == idea.id
    assert job.campaign_id is None and job.lang == "vi"
    [sent] = await run_jobs(world, tmp_path)
    assert sent.chat_id == str(AUTHOR)
    assert idea.ref_code in sent.text and "công nhận" in sent.text
    assert sent.message.upload is not None
    assert sent.message.upload.file_name == f"chung-nhan-{idea.ref_code}.pdf"
    text = words(the_pdf(sent))
    assert idea.ref_code in text and f"Đơn vị: {UNIT}" in text and TYPED_TITLE in text
    assert AUTHOR_NAME in text and "Quyết định số 12/QĐ-CĐ ngày 05/12/2026" in text
    assert "Ngày cấp: 20/11/2026" in text  # the day it was recognised, in Vietnam
    assert await run_jobs(world, tmp_path) == []  # made once


async def test_an_english_speaking_author_gets_it_in_english(world: World, tmp_path: Path) -> None:
    idea = await new_idea(world, confidential=False, title_given=True)
    async with world.h.sessionmaker() as session:
        author = await session.get(Person, idea.author_id)
        assert author is not None
        author.language = "en"
        await session.commit()
    await recognise(world, idea)
    [sent] = await run_jobs(world, tmp_path)
    assert "Congratulations" in sent.text
    assert sent.message.upload is not None
    assert sent.message.upload.file_name == f"certificate-{idea.ref_code}.pdf"
    text = words(the_pdf(sent))
    assert "CERTIFICATE OF INITIATIVE" in text and f"Unit: {UNIT}" in text
    assert TYPED_TITLE in text


@pytest.mark.parametrize("title_given", [False, True])
async def test_a_confidential_ideas_certificate_is_its_summary(
    world: World, tmp_path: Path, title_given: bool
) -> None:
    idea = await new_idea(world, confidential=True, title_given=title_given)
    await recognise(world, idea)
    [sent] = await run_jobs(world, tmp_path)
    assert SECRET_TEXT[:12] not in sent.text
    text = words(the_pdf(sent))
    assert idea.ref_code in text and UNIT in text and DECISION in text
    assert SECRET_TEXT[:12] not in text and "0912" not in text
    assert AUTHOR_NAME not in text
    if title_given:
        assert TYPED_TITLE in text and "Sáng kiến (bảo mật)" not in text
    else:
        assert "Sáng kiến (bảo mật)" in text


async def test_an_idea_not_recognised_gets_no_certificate(world: World, tmp_path: Path) -> None:
    idea = await new_idea(world, confidential=False, title_given=True)
    await recognise(world, idea, recognised=False)
    assert await jobs(world) == []
    assert await run_jobs(world, tmp_path) == []


async def test_a_recognition_withdrawn_before_the_job_runs_sends_nothing(
    world: World, tmp_path: Path
) -> None:
    idea = await new_idea(world, confidential=False, title_given=True)
    await recognise(world, idea)
    async with UnitOfWork(world.h.sessionmaker) as uow:
        result = await uow.council.result_for_update(idea.id)
        result.recognised = False
        await uow.commit()
    assert await run_jobs(world, tmp_path) == []
    [job] = await jobs(world)
    assert job.status == ReportStatus.DONE.value and job.error is None


@pytest.mark.parametrize("who", [("member", "own"), ("support", "own"), ("official", "parent")])
async def test_a_job_for_someone_who_is_not_the_author_sends_nothing(
    world: World, tmp_path: Path, who: tuple[str, str]
) -> None:
    """A job naming another person (a forged or stale row) sends no one the file."""
    idea = await new_idea(world, confidential=True, title_given=False)
    await recognise(world, idea)
    other = world.viewers[who]
    other_id = await person_id(world, other)
    async with world.h.sessionmaker() as session:
        [job] = (await session.execute(select(ReportJob))).scalars()
        forged = ReportJob(
            kind=job.kind,
            person_id=other_id,
            channel="telegram",
            chat_id=str(other),
            unit_id=job.unit_id,
            idea_id=job.idea_id,
            lang="vi",
            status=ReportStatus.PENDING.value,
            created_at=job.created_at,
        )
        await session.delete(job)
        session.add(forged)
        await session.commit()
    assert await run_jobs(world, tmp_path) == []
    assert not list((tmp_path / "reports").glob("*.pdf"))


async def person_id(w: World, user: int) -> int:
    async with w.h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())
