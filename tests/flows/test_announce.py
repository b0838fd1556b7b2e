"""/announce, /mute and the announcement pass through the neutral flows (real SQLite).

An official of district Q7 and the support team of CĐCS May write announcements; the
pass queues them as outbox rows; the harness's fake Telegram "sends" them. Attackers:
a worker, a support member aiming at another unit or at officials, an official aiming
outside their subtree with forged button data, a group chat, a flood of Confirm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from handlers.announcements import run_announcements
from handlers.buttons import FlowPress
from handlers.events import ChatRef, OutMessage
from handlers.i18n import Catalogue
from storage.models import Identity, OutboxMessage, Person, RoleKind, Unit, UnitKind
from storage.outreach_models import Announcement
from tests.flows.harness import Harness, Reply, photo
from tests.flows.test_progress import add_unit
from tests.flows.test_worker_idea import invite, join_by_link

OFFICIAL_Q7, OFFICIAL_HCM, SUPPORT_MAY = 5101, 5102, 5103
MAY_WORKERS = (7101, 7102, 7103)
DIEN_WORKERS = (7201, 7202)
Q1_WORKER = 7301
WORKER = MAY_WORKERS[0]


@dataclass
class World:
    h: Harness
    units: dict[str, Unit]
    catalogue: Catalogue

    async def pass_(self, *, batch: int = 500, stop_after: int | None = None) -> int:
        """One announcement pass at the harness's time; ``stop_after`` batches cuts it off."""
        calls = iter(range(10**6))
        keep = (lambda: next(calls) < stop_after) if stop_after is not None else (lambda: True)
        result = await run_announcements(
            self.h.sessionmaker, self.catalogue, self.h.now, batch=batch, keep_going=keep
        )
        return result.queued


@pytest.fixture
async def world(harness: Harness, catalogue: Catalogue) -> World:
    h, u = harness, harness.units
    q1 = await add_unit(h, "HCM-Q1", "Liên đoàn Lao động Quận 1", UnitKind.DISTRICT, u["HCM"])
    await add_unit(h, "HCM-Q1-A", "CĐCS Công ty Đồng hồ Ánh Dương", UnitKind.GRASSROOTS, q1)
    for user, code, role in (
        (OFFICIAL_Q7, "HCM-Q7", RoleKind.OFFICIAL),
        (OFFICIAL_HCM, "HCM", RoleKind.OFFICIAL),
        (SUPPORT_MAY, "HCM-Q7-MAY", RoleKind.SUPPORT),
    ):
        await h.send(user, f"/start {await invite(h, u[code], role)}", name="Cán bộ")
    for code, users in (
        ("HCM-Q7-MAY", MAY_WORKERS),
        ("HCM-Q7-DIEN", DIEN_WORKERS),
        ("HCM-Q1-A", (Q1_WORKER,)),
    ):
        for user in users:
            await join_by_link(h, user, u[code])
    await h.deliver()
    return World(h, u, catalogue)


async def announcements(h: Harness) -> list[Announcement]:
    async with h.sessionmaker() as session:
        return list((await session.execute(select(Announcement))).scalars())


async def received(h: Harness, user: int) -> list[OutMessage]:
    return [m for m in await h.notifications(str(user)) if "📢" in m.text]


async def write(h: Harness, user: int, text: str = "Họp đoàn viên lúc 8 giờ thứ Hai") -> Reply:
    """/announce and the text: the unit question."""
    await h.send(user, "/announce")
    return (await h.send(user, text)).last


async def to_preview(h: Harness, user: int, unit_label: str, audience: str) -> Reply:
    r = await write(h, user)
    r = (await h.click(user, r, unit_label)).last
    r = (await h.click(user, r, audience)).last
    return (await h.click(user, r, "Gửi ngay")).last


def forged(reply: Reply, step: str, action: str, value: str | int) -> str:
    """A press of this flow instance's own nonce with data of the attacker's choosing."""
    press = FlowPress.unpack(reply.message.buttons[0][0].data)
    assert press is not None
    return FlowPress(press.flow, press.nonce, step, action, str(value)).pack()


# ---------------------------------------------------------------- the whole way


async def test_official_announces_to_the_district_and_gets_the_report(world: World) -> None:
    h = world.h
    await h.send(DIEN_WORKERS[1], "/mute")
    preview = await to_preview(h, OFFICIAL_Q7, "Quận 7", "Toàn thể đoàn viên")
    # Members of the district's units: three workers and the support member at May, two
    # workers at Điện tử, one of whom muted announcements.
    assert "Số người nhận: <b>5</b>" in preview.text
    assert "không tính 1 người" in preview.text
    # The preview showed the message itself, as members will see it, above the summary.
    message = h.screen(OFFICIAL_Q7)[-2].text
    assert message.startswith("📢 <b>Thông báo — Liên đoàn Lao động Quận 7</b>")
    assert "Họp đoàn viên lúc 8 giờ thứ Hai" in message

    done = await h.click(OFFICIAL_Q7, preview, "Xác nhận")
    assert "5 người" in done.last.text
    assert len(await announcements(h)) == 1

    assert await world.pass_() == 5
    await h.deliver()
    for user in (*MAY_WORKERS, DIEN_WORKERS[0], SUPPORT_MAY):
        messages = await received(h, user)
        assert len(messages) == 1
        assert "Họp đoàn viên lúc 8 giờ thứ Hai" in messages[0].text
    assert await received(h, DIEN_WORKERS[1]) == []  # muted
    assert await received(h, Q1_WORKER) == []  # another district
    assert await received(h, OFFICIAL_HCM) == []  # not a member of a unit in Q7

    assert await world.pass_() == 0  # nothing queued twice; now the report
    [report] = [m for m in await h.notifications(str(OFFICIAL_Q7)) if "📊" in m.text]
    assert "Đã nhận: 5" in report.text
    assert "Đã chặn bot: 0" in report.text
    assert "Đã tắt thông báo: 1" in report.text
    [announcement] = await announcements(h)
    assert announcement.status == "done"
    assert (announcement.recipients, announcement.muted) == (5, 1)


async def test_support_team_announces_to_its_own_members_only(world: World) -> None:
    h = world.h
    r = await write(world.h, SUPPORT_MAY)
    [label] = r.labels  # its own unit only
    assert label.startswith("Công đoàn cơ sở Công ty May Phú Mỹ — Liên đoàn Lao động")
    r = (await h.click(SUPPORT_MAY, r, "May Phú Mỹ")).last
    assert r.labels == ["Toàn thể đoàn viên"]  # no support teams, no officials
    r = (await h.click(SUPPORT_MAY, r, "Toàn thể đoàn viên")).last
    r = (await h.click(SUPPORT_MAY, r, "Gửi ngay")).last
    assert "Số người nhận: <b>3</b>" in r.text
    await h.click(SUPPORT_MAY, r, "Xác nhận")
    assert await world.pass_() == 3


async def test_official_finds_a_unit_below_by_name_and_reaches_support_teams(world: World) -> None:
    h = world.h
    r = await write(h, OFFICIAL_HCM)
    r = (await h.send(OFFICIAL_HCM, "may phu my")).last
    [label] = r.labels
    assert label.startswith("Công đoàn cơ sở Công ty May Phú Mỹ")
    nothing = (await h.send(OFFICIAL_HCM, "xi mang ha noi")).last
    assert "Không tìm thấy" in nothing.text
    r = (await h.click(OFFICIAL_HCM, r, "May Phú Mỹ")).last
    assert r.labels == [
        "Toàn thể đoàn viên",
        "Các tổ hỗ trợ sáng kiến",
        "Cán bộ công đoàn các đơn vị cấp dưới",
    ]
    r = (await h.click(OFFICIAL_HCM, r, "tổ hỗ trợ")).last
    r = (await h.click(OFFICIAL_HCM, r, "Gửi ngay")).last
    assert "Số người nhận: <b>1</b>" in r.text
    await h.click(OFFICIAL_HCM, r, "Xác nhận")
    assert await world.pass_() == 1
    await h.deliver()
    assert len(await received(h, SUPPORT_MAY)) == 1


async def test_officials_below_are_an_audience_of_the_official_above(world: World) -> None:
    h = world.h
    r = await to_preview(h, OFFICIAL_HCM, "Hồ Chí Minh", "Cán bộ công đoàn")
    assert "Số người nhận: <b>1</b>" in r.text  # the official of Q7, not the sender
    await h.click(OFFICIAL_HCM, r, "Xác nhận")
    await world.pass_()
    await h.deliver()
    assert len(await received(h, OFFICIAL_Q7)) == 1
    assert await received(h, OFFICIAL_HCM) == []


# ---------------------------------------------------------------- bad input


async def test_over_telegrams_limits_is_refused_with_the_limit_named(world: World) -> None:
    h = world.h
    await h.send(OFFICIAL_Q7, "/announce")
    r = (await h.send(OFFICIAL_Q7, "a" * 4090)).last
    assert "4096" in r.text and "không tự chia" in r.text
    r = (await h.send(OFFICIAL_Q7, "b" * 1020, files=(photo(),))).last
    assert "1024" in r.text
    r = (await h.send(OFFICIAL_Q7, "Ảnh buổi họp", files=(photo(),))).last
    assert "Gửi tới đơn vị nào?" in r.text
    r = (await h.click(OFFICIAL_Q7, r, "Quận 7")).last
    r = (await h.click(OFFICIAL_Q7, r, "Toàn thể đoàn viên")).last
    await h.click(OFFICIAL_Q7, r, "Gửi ngay")
    photo_preview = [m for m in h.screen(OFFICIAL_Q7) if m.message.file is not None]
    assert photo_preview[-1].message.file == photo()
    assert await announcements(h) == []


async def test_an_empty_audience_creates_nothing(world: World) -> None:
    h = world.h
    # District Q1's only member muted: nobody would receive it.
    await h.send(Q1_WORKER, "/mute")
    r = await write(h, OFFICIAL_HCM)
    r = (await h.send(OFFICIAL_HCM, "dong ho anh duong")).last
    r = (await h.click(OFFICIAL_HCM, r, "Ánh Dương")).last
    r = (await h.click(OFFICIAL_HCM, r, "Toàn thể đoàn viên")).last
    r = (await h.click(OFFICIAL_HCM, r, "Gửi ngay")).last
    assert "Không có ai để nhận" in r.text
    assert r.labels == []
    assert await announcements(h) == []


async def test_a_typed_time_schedules_it_in_vietnam_time(world: World) -> None:
    h = world.h
    r = await write(h, SUPPORT_MAY)
    r = (await h.click(SUPPORT_MAY, r, "May Phú Mỹ")).last
    r = (await h.click(SUPPORT_MAY, r, "Toàn thể đoàn viên")).last
    bad = (await h.send(SUPPORT_MAY, "thứ hai tuần sau")).last
    assert "Chưa đọc được" in bad.text
    past = (await h.send(SUPPORT_MAY, "01/01/2026 08:00")).last
    assert "tương lai" in past.text
    r = (await h.send(SUPPORT_MAY, "21/11/2026 09:30")).last
    assert "21/11/2026 09:30" in r.text
    await h.click(SUPPORT_MAY, r, "Xác nhận")
    [announcement] = await announcements(h)
    assert announcement.scheduled_at == datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    assert await world.pass_() == 0  # not yet
    h.now = datetime(2026, 11, 21, 2, 31, tzinfo=UTC)
    assert await world.pass_() == 3


# ---------------------------------------------------------------- attackers


async def test_a_worker_cannot_announce(world: World) -> None:
    h = world.h
    r = await h.send(WORKER, "/announce")
    assert "Chỉ cán bộ công đoàn hoặc tổ hỗ trợ" in r.last.text
    r = await h.send(WORKER, "Mọi người nghỉ làm ngày mai")
    assert "📢" not in r.last.text
    assert await announcements(h) == []


async def test_support_aiming_at_another_unit_or_at_officials_is_refused(world: World) -> None:
    h = world.h
    r = await write(h, SUPPORT_MAY)
    dien = world.units["HCM-Q7-DIEN"].id
    refused = await h.press(SUPPORT_MAY, forged(r, "unit", "pick", dien), message_id=r.message_id)
    assert refused.answer is not None and "không thể gửi" in refused.answer.text
    assert refused.replies == []
    r = (await h.click(SUPPORT_MAY, r, "May Phú Mỹ")).last
    for audience in ("officials", "support", "everyone"):
        refused = await h.press(
            SUPPORT_MAY, forged(r, "aud", "pick", audience), message_id=r.message_id
        )
        assert refused.answer is not None and "không thể gửi" in refused.answer.text
    assert await announcements(h) == []


async def test_official_aiming_outside_their_subtree_is_refused(world: World) -> None:
    h = world.h
    r = await write(h, OFFICIAL_Q7)
    for code in ("HCM-Q1-A", "HCM", "VN"):
        unit = world.units[code].id
        refused = await h.press(
            OFFICIAL_Q7, forged(r, "unit", "pick", unit), message_id=r.message_id
        )
        assert refused.answer is not None and "không thể gửi" in refused.answer.text
    refused = await h.press(OFFICIAL_Q7, forged(r, "unit", "pick", 999999))
    assert refused.answer is not None and "không thể gửi" in refused.answer.text
    # A search never finds a unit outside the subtree either.
    found = (await h.send(OFFICIAL_Q7, "dong ho anh duong")).last
    assert "Không tìm thấy" in found.text
    assert await announcements(h) == []


async def test_a_group_chat_announces_nothing(world: World) -> None:
    h = world.h
    group = ChatRef("telegram", "-100777", "group", "Nhóm Q7")
    r = await h.feed(h.incoming(OFFICIAL_Q7, text="/announce", chat=group))
    assert "riêng" in r.last.text or "private" in r.last.text.lower()
    r = await h.feed(h.incoming(OFFICIAL_Q7, text="Thông báo cho cả nhóm", chat=group))
    assert await announcements(h) == []


async def test_a_flood_of_confirmations_creates_one_announcement(world: World) -> None:
    h = world.h
    preview = await to_preview(h, OFFICIAL_Q7, "Quận 7", "Toàn thể đoàn viên")
    data = preview.button("Xác nhận")
    results = [await h.press(OFFICIAL_Q7, data, message_id=preview.message_id) for _ in range(5)]
    assert len(await announcements(h)) == 1
    assert all(r.answer and "đã cũ" in r.answer.text for r in results[1:])
    await world.pass_()
    await world.pass_()
    await h.deliver()
    assert len(await received(h, MAY_WORKERS[0])) == 1


async def test_a_revoked_role_cannot_confirm(world: World) -> None:
    h = world.h
    from storage.models import Role

    preview = await to_preview(h, SUPPORT_MAY, "May Phú Mỹ", "Toàn thể đoàn viên")
    async with h.sessionmaker() as session:
        await session.execute(update(Role).values(revoked_at=h.now))
        await session.commit()
    r = await h.click(SUPPORT_MAY, preview, "Xác nhận")
    assert r.answer is not None and "không thể gửi" in r.answer.text
    assert await announcements(h) == []


# ---------------------------------------------------------------- the pass


async def confirmed(world: World, user: int = OFFICIAL_Q7, unit: str = "Quận 7") -> None:
    preview = await to_preview(world.h, user, unit, "Toàn thể đoàn viên")
    await world.h.click(user, preview, "Xác nhận")


async def rows(h: Harness) -> list[OutboxMessage]:
    async with h.sessionmaker() as session:
        query = select(OutboxMessage).where(OutboxMessage.purpose.startswith("announce:"))
        return list((await session.execute(query)).scalars())


async def test_batches_resume_after_a_pass_cut_short_and_queue_nobody_twice(world: World) -> None:
    h = world.h
    await confirmed(world)
    assert await world.pass_(batch=2, stop_after=1) == 2  # cut off after one batch
    [announcement] = await announcements(h)
    assert announcement.status == "sending" and announcement.recipients == 2
    assert await world.pass_(batch=2) == 4
    people = [r.person_id for r in await rows(h)]
    assert sorted(people) == sorted(set(people)) and len(people) == 6
    assert await world.pass_(batch=2) == 0


async def test_zalo_members_receive_it_on_zalo_and_telegram_wins_when_both(world: World) -> None:
    h = world.h
    async with h.sessionmaker() as session:
        zalo_only = Person(
            display_name="Zalo", unit_id=world.units["HCM-Q7-DIEN"].id, created_at=h.now
        )
        session.add(zalo_only)
        await session.flush()
        session.add(
            Identity(person_id=zalo_only.id, channel="zalo", external_id="z1", private_chat_id="z1")
        )
        both = (
            await session.execute(
                select(Identity).where(Identity.external_id == str(MAY_WORKERS[0]))
            )
        ).scalar_one()
        session.add(
            Identity(
                person_id=both.person_id, channel="zalo", external_id="z2", private_chat_id="z2"
            )
        )
        await session.commit()
    await confirmed(world)
    await world.pass_()
    by_chat = {(r.channel, r.chat_id) for r in await rows(h)}
    assert ("zalo", "z1") in by_chat
    assert ("zalo", "z2") not in by_chat and ("telegram", str(MAY_WORKERS[0])) in by_chat


async def test_report_counts_blocked_failed_and_muted_after_queuing(world: World) -> None:
    h = world.h
    async with h.sessionmaker() as session:
        blocked = (
            await session.execute(
                select(Identity.person_id).where(Identity.external_id == str(MAY_WORKERS[1]))
            )
        ).scalar_one()
        await session.execute(update(Person).where(Person.id == blocked).values(unreachable=True))
        await session.commit()
    await confirmed(world)
    assert await world.pass_() == 6
    # One person mutes while the messages wait (nothing sent yet): theirs is never sent.
    await h.dispatcher.handle(h.incoming(MAY_WORKERS[2], text="/mute"))
    # One message fails for good at Telegram (the sender records such a failure so).
    async with h.sessionmaker() as session:
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == str(DIEN_WORKERS[0]),
                OutboxMessage.purpose.startswith("announce:"),
            )
            .values(status="failed", last_error="bad_request")
        )
        await session.commit()
    await world.pass_()
    assert [m for m in await h.notifications(str(OFFICIAL_Q7)) if "📊" in m.text] == []
    sent = await h.deliver()
    announced = {reply.chat_id for reply in sent.values() if "📢" in reply.text}
    assert str(MAY_WORKERS[2]) not in announced and str(MAY_WORKERS[0]) in announced
    await world.pass_()
    [report] = [m for m in await h.notifications(str(OFFICIAL_Q7)) if "📊" in m.text]
    for line in ("Đã nhận: 3", "Đã chặn bot: 1", "Lỗi: 1", "Đã tắt thông báo: 1"):
        assert line in report.text


async def test_mute_and_unmute(world: World) -> None:
    h = world.h
    assert "Đã tắt" in (await h.send(WORKER, "/mute")).last.text
    assert "từ trước" in (await h.send(WORKER, "/mute")).last.text
    await confirmed(world)
    await world.pass_()
    assert WORKER not in {int(r.chat_id) for r in await rows(h)}
    assert "bật lại" in (await h.send(WORKER, "/unmute")).last.text
    assert "đang bật" in (await h.send(WORKER, "/unmute")).last.text
    await confirmed(world)
    h.now += timedelta(seconds=5)
    await world.pass_()
    async with h.sessionmaker() as session:
        count = (
            await session.execute(
                select(func.count()).where(
                    OutboxMessage.chat_id == str(WORKER),
                    OutboxMessage.purpose.startswith("announce:"),
                )
            )
        ).scalar_one()
    assert count == 1
