"""An initiative's whole life in the chat (issue #18): real bot process, stand-in Bot API.

A worker submits; the support team approves; three council members score in their
private chats (one starts twice and is refused the second time); the chair records
the recognition with its decision; the worker gets the certificate as a PDF; the team
records the application with a photo and "1,5 tỷ" a year; an official of the district
reads /progress and /export. A few more ideas at later steps are seeded straight into
the database, so the figures the official reads are checked against counts this test
computes from what it seeded and what it did.
"""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from standins.telegram.client import StandinClient
from standins.telegram.server import StandinServer
from tests.e2e.harness import (
    BotProcess,
    Person,
    base_env,
    button_data,
    cli,
    labels,
    link_token,
    migrated_with_sample_tree,
    text_of,
)

VIETNAM = timezone(timedelta(hours=7))
WORKER, SUPPORT, C1, C2, C3, CHAIR, OFFICIAL = 9301, 9302, 9303, 9304, 9305, 9306, 9307
UNIT, DISTRICT = "HCM-Q7-CTYMAY", "HCM-Q7"
CAMPAIGN = "E2E-L1"
RECOGNISED_QUOTA = 8  # the district's quota of recognised initiatives
REF = re.compile(r"SK-\d{4}-\d{6}")
JSON = dict[str, Any]
LIVE_BENEFIT = 1_500_000_000  # "1,5 tỷ"
DECISION_NO = "12/QĐ-CĐ"
TEAM_APPROVED = ("approved", "recognised", "not_recognised", "applied")


@dataclass
class Step:
    """One idea the test knows the life of: seeded, or sent through the bot."""

    ref: str
    unit: str
    status: str
    counted: bool = True  # submitted inside the campaign
    decision_no: str | None = None  # recognised, by this decision
    decision_day: date | None = None
    applied_on: date | None = None
    benefit: int | None = None  # measured, per year


# Ideas of the district (and two outside it, which its figures must not count).
SEED = [
    Step("SK-2026-700001", "HCM-Q7-CTYMAY-T02", "applied", benefit=300_000_000),
    Step("SK-2026-700002", "HCM-Q7-CKTT", "applied", benefit=700_000_000),
    Step("SK-2026-700003", "HCM-Q7-CKTT", "recognised"),
    Step("SK-2026-700004", "HCM-Q7-TPSGX", "approved"),
    Step("SK-2026-700005", "HCM-Q7-TPSGX", "not_recognised"),
    Step("SK-2026-700006", "HCM-Q7-CTYMAY", "submitted"),
    Step("SK-2026-700007", "HCM-Q7-CKTT", "applied", counted=False, benefit=900_000_000),
    Step("SK-2026-700008", "HCM-CTNBT", "applied", benefit=4_000_000_000),
    Step("SK-2026-700009", "HN-DTTL", "recognised"),
]


@dataclass
class World:
    server: StandinServer
    client: StandinClient
    bot: BotProcess
    env: dict[str, str]
    steps: list[Step]
    paths: dict[str, str]  # unit code -> materialised path
    names: dict[str, str]  # unit code -> name
    start: date


def _db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(env["DATABASE_URL"].split("///", 1)[1])


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(env: dict[str, str], start: date) -> None:
    """The seeded ideas as rows, with the events and results the bot itself would write."""
    db = _db(env)
    try:
        units = {code: uid for uid, code in db.execute("SELECT id, code FROM units")}
        campaign = db.execute("SELECT id FROM campaigns").fetchone()[0]
        author = db.execute(
            "INSERT INTO people (display_name, unreachable, created_at) VALUES (?, 0, ?)",
            ("Trần Văn Seed", _stamp(datetime.now(UTC))),
        ).lastrowid
        for n, s in enumerate(SEED):
            day = start + timedelta(days=2 + n) if s.counted else start - timedelta(days=5)
            created = datetime(day.year, day.month, day.day, 9, 30, tzinfo=VIETNAM)
            approved_at = created + timedelta(hours=3)
            decided_at = created + timedelta(days=1)
            recognised = s.status in ("recognised", "applied")
            if recognised:
                s.decision_no, s.decision_day = f"{n + 1}/QĐ-SEED", decided_at.date()
            if s.status == "applied":
                s.applied_on = decided_at.date() + timedelta(days=1)
            cursor = db.execute(
                "INSERT INTO ideas (ref_code, author_id, unit_id, holder_unit_id, title, body,"
                " category, benefit, benefit_amount, confidential, language, status, version,"
                " created_at, updated_at, waiting_since, campaign_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'technical', 'cost', NULL, 0, 'vi', ?, 1,"
                " ?, ?, ?, ?)",
                (
                    s.ref,
                    author,
                    units[s.unit],
                    units[s.unit],
                    f"Sáng kiến mẫu {n}: giảm tiêu hao điện",
                    f"Mô tả sáng kiến mẫu số {n}",
                    s.status,
                    _stamp(created),
                    _stamp(decided_at if s.status != "submitted" else created),
                    _stamp(created),
                    campaign if s.counted else None,
                ),
            )
            idea = cursor.lastrowid
            if s.status in TEAM_APPROVED:
                db.execute(
                    "INSERT INTO idea_events (idea_id, kind, actor_id, at) VALUES (?, ?, ?, ?)",
                    (idea, "approved", author, _stamp(approved_at)),
                )
            if s.status in ("recognised", "not_recognised", "applied"):
                db.execute(
                    "INSERT INTO idea_results (idea_id, council_unit_id, recognised, decision_no,"
                    " decision_date, decided_at, decided_by, recognised_campaign_id,"
                    " applied_on, applied_where, applied_at, applied_by, applied_campaign_id,"
                    " benefit_vnd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        idea,
                        units[s.unit],
                        int(recognised),
                        s.decision_no,
                        s.decision_day.isoformat() if s.decision_day else None,
                        _stamp(decided_at),
                        author,
                        campaign if s.counted else None,
                        s.applied_on.isoformat() if s.applied_on else None,
                        "Phân xưởng 1" if s.applied_on else None,
                        _stamp(decided_at + timedelta(days=1)) if s.applied_on else None,
                        author if s.applied_on else None,
                        campaign if s.counted and s.applied_on else None,
                        s.benefit,
                    ),
                )
        db.commit()
    finally:
        db.close()


@pytest.fixture
async def world(tmp_path: Path, framework: str) -> AsyncIterator[World]:
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, framework)
        env["REPORTS_DIRECTORY"] = str(tmp_path / "reports")
        env["REPORTS_CHECK_SECONDS"] = "0.2"
        migrated_with_sample_tree(env)
        today = datetime.now(VIETNAM).date()
        start, end = today - timedelta(days=20), today + timedelta(days=40)
        out = cli(
            env,
            "campaigns",
            "add",
            CAMPAIGN,
            "--name",
            "Đợt vòng đời",
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
        )
        assert f"{CAMPAIGN} added" in out
        quotas = tmp_path / "quotas.csv"
        quotas.write_text(  # the old columns, and the new measure in its Vietnamese words
            "unit_code,campaign,target,measure\n"
            f"{DISTRICT},{CAMPAIGN},{RECOGNISED_QUOTA},công nhận\n",
            encoding="utf-8",
        )
        cli(env, "quotas", "import", str(quotas))
        seed(env, start)
        assert "ideas counted" in cli(env, "progress", "rebuild")
        db = _db(env)
        rows = db.execute("SELECT code, path, name FROM units").fetchall()
        db.close()
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            yield World(
                server,
                client,
                bot,
                env,
                list(SEED),
                paths={code: path for code, path, _ in rows},
                names={code: name for code, _, name in rows},
                start=start,
            )
        finally:
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log


# ---------------------------------------------------------------- talking to the bot


async def run_cli(world: World, *args: str) -> str:
    """The CLI in a thread: the stand-in lives in this event loop and must keep answering."""
    return await asyncio.to_thread(cli, world.env, *args)


async def invite(world: World, unit: str, role: str = "member") -> str:
    out = await run_cli(
        world, "invite", "--unit", unit, "--role", role, "--bot-username", "sangkien_bot"
    )
    return link_token(out)


async def wait_for(world: World, chat: int, wanted: Callable[[JSON], bool]) -> JSON:
    """The newest message in ``chat`` that ``wanted`` accepts, waiting up to 20 s for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:
        for message in reversed(await world.client.messages(chat)):
            if wanted(message):
                return message
        await world.client.wait_quiet(0.2)
    texts = [text_of(m)[:60] for m in await world.client.messages(chat)]
    raise AssertionError(f"the awaited message never reached chat {chat}: {texts}")


def has(needle: str, button: str | None = None) -> Callable[[JSON], bool]:
    """A message whose text has ``needle`` (and, if given, a button labelled with ``button``)."""
    return lambda m: (
        needle in text_of(m) and (button is None or any(button in label for label in labels(m)))
    )


async def press(world: World, user: int, message: JSON, label: str) -> tuple[JSON, JSON]:
    """Press a button in a private chat; returns (the bot's answer, the message as it is now)."""
    c = world.client
    before = len(await c.calls("answerCallbackQuery"))
    await c.press(user, user, message["message_id"], data=button_data(message, label))
    answers = await c.wait_calls("answerCallbackQuery", count=before + 1)
    await c.wait_quiet(0.3)
    return dict(answers[-1]["params"]), await c.message(user, message["message_id"])


def is_document(m: JSON) -> bool:
    return (m.get("media") or {}).get("type") == "document"


def words(text: str) -> str:
    """Text as compared: composed letters, one space between words."""
    return " ".join(unicodedata.normalize("NFC", text).split())


async def submit(world: World, worker: Person, text: str) -> str:
    await worker.say("/idea")
    [ack] = await worker.say(text)
    question = await worker.press(ack, "Xong")
    question = await worker.press(question, "Giải pháp kỹ thuật")
    question = await worker.press(question, "Tăng năng suất")
    question = await worker.press(question, "Bỏ qua")
    review = await worker.press(question, "Có thể chia sẻ")
    done = await worker.press(review, "Gửi")
    ref = REF.search(text_of(done))
    assert ref, text_of(done)
    return ref.group()


async def start_scoring(world: World, member: int, card: JSON, ref: str) -> JSON:
    """The card's Score: the first criterion's question arrives as a new message."""
    before = {m["message_id"] for m in await world.client.messages(member)}
    await press(world, member, card, "Chấm điểm")
    return await wait_for(
        world,
        member,
        lambda m: m["message_id"] not in before and f"Chấm {ref}" in text_of(m),
    )


async def score(world: World, member: int, question: JSON, digits: str) -> JSON:
    """One digit a criterion; returns the last press's answer."""
    answer: JSON = {}
    for digit in digits:
        answer, question = await press(world, member, question, digit)
    assert "Đã lưu điểm" in answer.get("text", ""), answer
    assert "Đã lưu điểm của bạn" in text_of(question), text_of(question)
    return answer


def score_rows(world: World, ref: str) -> int:
    db = _db(world.env)
    try:
        query = (
            "SELECT count(*) FROM council_scores JOIN ideas ON ideas.id = council_scores.idea_id"
            " WHERE ideas.ref_code = ?"
        )
        return int(db.execute(query, (ref,)).fetchone()[0])
    finally:
        db.close()


def title_of(world: World, ref: str) -> str:
    db = _db(world.env)
    try:
        return str(db.execute("SELECT title FROM ideas WHERE ref_code = ?", (ref,)).fetchone()[0])
    finally:
        db.close()


# ---------------------------------------------------------------- what the official must read


@dataclass(frozen=True)
class Figures:
    submitted: int
    approved: int
    recognised: int
    applied: int
    benefit: int


def expected(world: World, unit: str) -> Figures:
    """The campaign's figures of ``unit``'s subtree, from what the test seeded and did."""
    top = world.paths[unit]
    mine = [s for s in world.steps if s.counted and world.paths[s.unit].startswith(top)]
    return Figures(
        submitted=len(mine),
        approved=sum(s.status in TEAM_APPROVED for s in mine),
        recognised=sum(s.decision_no is not None for s in mine),
        applied=sum(s.applied_on is not None for s in mine),
        benefit=sum(s.benefit or 0 for s in mine),
    )


def in_words(amount: int) -> str:
    """A benefit as /progress writes it: one decimal of its largest word ("2,5 tỷ đ")."""
    for size, word in ((10**9, "tỷ đ"), (10**6, "triệu đ")):
        if amount >= size:
            value = f"{amount / size:.1f}".replace(".", ",").removesuffix(",0")
            return f"{value} {word}"
    return f"{amount} đ"


def shown(text: str) -> Figures:
    """The unit's own figures as the official reads them in /progress."""

    def count(label: str) -> int:
        found = re.search(rf"{label}: ([\d.]+)", text)
        assert found, (label, text)
        return int(found.group(1).replace(".", ""))

    return Figures(
        submitted=count("Đã gửi"),
        approved=count("Đã duyệt"),
        recognised=count("Được công nhận"),
        applied=count("Đã áp dụng"),
        benefit=-1,  # in words: checked on its own
    )


# ---------------------------------------------------------------- the whole life


async def test_an_initiative_from_submission_to_applied_and_counted(world: World) -> None:
    c = world.client
    for user, name in (
        (WORKER, "Nguyễn Thị Lan"),
        (SUPPORT, "Anh Tổ hỗ trợ"),
        (C1, "Chi Hội đồng"),
        (C2, "Dũng Hội đồng"),
        (C3, "Emma Hội đồng"),
        (CHAIR, "Hoa Chủ tịch"),
        (OFFICIAL, "Minh Cán bộ"),
    ):
        await c.upsert_user(user, name, language_code="vi")
    worker, support, official = Person(c, WORKER), Person(c, SUPPORT), Person(c, OFFICIAL)
    tokens = await asyncio.gather(
        invite(world, UNIT),
        invite(world, UNIT, "support"),
        invite(world, UNIT, "council"),
        invite(world, UNIT, "council"),
        invite(world, UNIT, "council"),
        invite(world, UNIT, "council_chair"),
        invite(world, DISTRICT, "official"),
    )
    for user, token in zip((WORKER, SUPPORT, C1, C2, C3, CHAIR, OFFICIAL), tokens, strict=True):
        await Person(c, user).start(token)

    # The worker submits; the team approves (the card's button, then Yes).
    ref = await submit(world, worker, "Lắp bộ thu hồi nhiệt từ máy nén khí để sấy linh kiện")
    title = title_of(world, ref)
    card = await wait_for(world, SUPPORT, has(ref, "Duyệt"))
    _, confirm = await press(world, SUPPORT, card, "Duyệt")
    answer, _ = await press(world, SUPPORT, confirm, "Đúng, duyệt")
    assert "Đã duyệt" in answer.get("text", ""), answer
    await wait_for(world, WORKER, has("đã được tổ hỗ trợ duyệt"))

    # Each council member and the chair get the council card privately, nobody scored yet.
    cards = {
        user: await wait_for(world, user, has("Hội đồng sáng kiến", "Chấm điểm"))
        for user in (C1, C2, C3, CHAIR)
    }
    for user, council_card in cards.items():
        assert ref in text_of(council_card) and "Đã chấm: 0/3" in text_of(council_card), user
        assert not any("Công nhận" in label for label in labels(council_card))

    # Chi opens the scoring twice (a double tap), scores in the first; the second is refused.
    first = await start_scoring(world, C1, cards[C1], ref)
    second = await start_scoring(world, C1, cards[C1], ref)
    assert first["message_id"] != second["message_id"]
    await score(world, C1, first, "4534")
    refused, still = await press(world, C1, second, "5")
    assert refused.get("show_alert") in (True, "true"), refused
    assert "Bạn đã chấm sáng kiến này" in refused["text"] and "tổng 16 điểm" in refused["text"]
    assert "Mỗi thành viên chỉ chấm một lần" in refused["text"]
    assert text_of(still) == text_of(second), "the refused press changed nothing"
    assert score_rows(world, ref) == 1
    redrawn = await wait_for(world, C1, lambda m: m["message_id"] == cards[C1]["message_id"])
    assert "Đã chấm: 1/3" in text_of(redrawn) and "Chấm điểm" not in labels(redrawn)

    for member, digits in ((C2, "3333"), (C3, "5455")):
        await score(world, member, await start_scoring(world, member, cards[member], ref), digits)
    assert score_rows(world, ref) == 3

    # The quorum has scored: the chair is told and records the recognition.
    await wait_for(world, CHAIR, has(f"Đủ 3 thành viên Hội đồng đã chấm {ref}"))
    chair_card = await wait_for(world, CHAIR, has("Đã chấm: 3/3", "🏅 Công nhận"))
    assert chair_card["message_id"] == cards[CHAIR]["message_id"]
    for name, total in (("Chi Hội đồng", 16), ("Dũng Hội đồng", 12), ("Emma Hội đồng", 19)):
        assert f"{name}: {total}/20" in text_of(chair_card), text_of(chair_card)
    await press(world, CHAIR, chair_card, "🏅 Công nhận")
    await wait_for(world, CHAIR, has(f"số và ngày của quyết định công nhận {ref}"))
    decided = datetime.now(VIETNAM).date()
    [confirm] = await Person(c, CHAIR).say(f"số {DECISION_NO} ngày {decided:%d/%m/%Y}")
    assert DECISION_NO in text_of(confirm) and f"{decided:%d/%m/%Y}" in text_of(confirm)
    answer, recorded = await press(world, CHAIR, confirm, "Xác nhận")
    assert "Đã ghi" in text_of(recorded), text_of(recorded)

    # The worker is told, then receives the certificate; its text has the reference,
    # the unit and the title.
    told = await wait_for(world, WORKER, has(f"đã ra Quyết định số {DECISION_NO}"))
    assert f"Sáng kiến {ref} đã được công nhận" in text_of(told) and title in text_of(told)
    certificate = await wait_for(world, WORKER, is_document)
    assert certificate["media"]["file_name"] == f"chung-nhan-{ref}.pdf"
    pdf = PdfReader(io.BytesIO(await c.file_content(certificate["media"]["file_id"])))
    assert len(pdf.pages) == 1
    page = words(pdf.pages[0].extract_text())
    for needle in (ref, world.names[UNIT], title, "Nguyễn Thị Lan", DECISION_NO):
        assert words(needle) in page, (needle, page)

    # The team records the application from its message's button: today, where, 1,5 tỷ, a photo.
    recognition = await wait_for(world, SUPPORT, has(ref, "Ghi nhận áp dụng"))
    assert "Hội đồng sáng kiến công nhận" in text_of(recognition)
    await press(world, SUPPORT, recognition, "Ghi nhận áp dụng")
    ask_day = await wait_for(world, SUPPORT, has("áp dụng từ ngày nào", "Hôm nay"))
    await press(world, SUPPORT, ask_day, "Hôm nay")
    await wait_for(world, SUPPORT, has("được áp dụng ở đâu"))
    await support.say("Chuyền may số 2")
    await wait_for(world, SUPPORT, has("Giá trị làm lợi đo được mỗi năm"))
    await support.say("1,5 tỷ")
    await wait_for(world, SUPPORT, has("Gửi ảnh hoặc tài liệu làm minh chứng"))
    await support.send_photo(caption="Bộ thu hồi nhiệt đã lắp")
    files = await wait_for(world, SUPPORT, has("Đã nhận 1 tệp", "Xong"))
    await press(world, SUPPORT, files, "Xong")
    summary = await wait_for(world, SUPPORT, has("Kiểm tra trước khi ghi nhận", "Ghi nhận"))
    for needle in ("1.500.000.000 đ", "Chuyền may số 2", "Minh chứng: 1 tệp"):
        assert needle in text_of(summary), text_of(summary)
    day = re.search(r"Áp dụng từ: (\d{2}/\d{2}/\d{4})", text_of(summary))
    assert day, text_of(summary)
    applied_on = datetime.strptime(day.group(1), "%d/%m/%Y").date()
    assert applied_on >= decided
    await press(world, SUPPORT, summary, "Ghi nhận")
    done = await wait_for(world, SUPPORT, has(f"Đã ghi nhận {ref} được áp dụng"))
    assert "1.500.000.000 đ" in text_of(done)
    world.steps.append(
        Step(ref, UNIT, "applied", True, DECISION_NO, decided, applied_on, LIVE_BENEFIT)
    )

    # The official of the district: /progress with the recognised count and the benefit.
    want = expected(world, DISTRICT)
    assert (want.recognised, want.applied, want.benefit) == (4, 3, 2_500_000_000)
    [report] = await official.say("/progress")
    text = text_of(report)
    assert shown(text) == Figures(
        want.submitted, want.approved, want.recognised, want.applied, benefit=-1
    )
    # The seeded steps are ten days old or more: this week's are the live idea's.
    assert f"Được công nhận: {want.recognised} (+1 trong 7 ngày)" in text, text
    benefit = f"Giá trị làm lợi: {in_words(want.benefit)}/năm (+{in_words(LIVE_BENEFIT)}"
    assert benefit in text, text
    attainment = f"{100 * want.recognised / RECOGNISED_QUOTA:.1f}".replace(".", ",")
    assert f"Chỉ tiêu công nhận: {RECOGNISED_QUOTA} · đạt {attainment}%" in text, text
    for child in ("HCM-Q7-CTYMAY", "HCM-Q7-CKTT"):
        figures = expected(world, child)
        [line] = [ln for ln in text.splitlines() if world.names[child][:20] in ln]
        assert f"🏅 {figures.recognised}" in line, line
        assert f"💰 {in_words(figures.benefit)}" in line, line

    # /export: the spreadsheet of the district's ideas, with the council's and the
    # application's columns, and its summary's totals.
    await press(world, OFFICIAL, report, "Bảng tính Excel")
    document = await wait_for(world, OFFICIAL, is_document)
    assert document["media"]["file_name"] == f"{DISTRICT}-{CAMPAIGN}.xlsx"
    workbook = load_workbook(io.BytesIO(await c.file_content(document["media"]["file_id"])))
    rows = list(workbook["Sáng kiến"].iter_rows(values_only=True))
    header = rows[0]
    for column in (
        "Được công nhận",
        "Số quyết định công nhận",
        "Ngày quyết định",
        "Ngày áp dụng",
        "Giá trị làm lợi đo được (đồng/năm)",
    ):
        assert column in header, header
    got = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:] if row[0]}
    top = world.paths[DISTRICT]
    mine = {s.ref: s for s in world.steps if s.counted and world.paths[s.unit].startswith(top)}
    assert set(got) == set(mine)
    for s in mine.values():
        row = got[s.ref]
        decided_cell = row["Ngày quyết định"]
        applied_cell = row["Ngày áp dụng"]
        assert row["Số quyết định công nhận"] == s.decision_no, (s, row)
        assert (decided_cell.date() if decided_cell else None) == s.decision_day, (s, row)
        assert (applied_cell.date() if applied_cell else None) == s.applied_on, (s, row)
        assert row["Giá trị làm lợi đo được (đồng/năm)"] == s.benefit, (s, row)
        recognised = {"recognised": "Có", "applied": "Có", "not_recognised": "Không"}
        assert row["Được công nhận"] == recognised.get(s.status), (s, row)
    assert got[ref]["Trạng thái"].startswith("Đã áp dụng"), got[ref]
    summary_rows = list(workbook["Tổng hợp"].iter_rows(values_only=True))
    [columns] = [r for r in summary_rows if r and r[0] == "Đơn vị"]
    totals = dict(zip(columns, summary_rows[summary_rows.index(columns) + 1], strict=True))
    assert totals["Đơn vị"] == world.names[DISTRICT]
    assert (
        totals["Đã gửi"],
        totals["Đã duyệt"],
        totals["Được công nhận"],
        totals["Đã áp dụng"],
        totals["Giá trị làm lợi (đồng/năm)"],
    ) == (want.submitted, want.approved, want.recognised, want.applied, want.benefit)
    assert totals["Chỉ tiêu công nhận"] == RECOGNISED_QUOTA
