"""/team: the support team managed in the chat (issue #19), with its attacker matrix."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from handlers.buttons import FlowPress
from handlers.events import ChatRef
from storage.models import Conversation, Identity, Invite, Role, RoleKind, Unit
from storage.outreach_models import TeamEvent
from tests.flows.harness import Harness, Reply
from tests.flows.test_triage import (
    ANH,
    BINH,
    DUNG,
    OUTSIDER,
    WORKER,
    card_of,
    idea_now,
    submit,
    support,
)
from tests.flows.test_worker_idea import invite

CUONG, GIANG, OFFICIAL, OTHER_OFFICIAL = 2003, 2004, 5001, 5002


@pytest.fixture
def h(harness: Harness, tmp_path: Path) -> Harness:
    harness.dispatcher.team = type(harness.dispatcher.team)(files=tmp_path / "files")
    return harness


async def roles(h: Harness, unit: Unit) -> dict[int, bool]:
    """Who (by Telegram user id) holds the support role on the unit now, and who leads."""
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(Identity.external_id, Role.lead)
            .join(Identity, Identity.person_id == Role.person_id)
            .where(Role.unit_id == unit.id, Role.role == "support", Role.revoked_at.is_(None))
        )
        return {int(user): lead for user, lead in rows}


async def team_events(h: Harness, unit: Unit) -> list[tuple[str, int, int | None]]:
    """The unit's team audit: (kind, actor's user id, subject's user id), oldest first."""
    async with h.sessionmaker() as session:
        users = dict(
            (await session.execute(select(Identity.person_id, Identity.external_id))).all()
        )
        rows = await session.execute(
            select(TeamEvent).where(TeamEvent.unit_id == unit.id).order_by(TeamEvent.id)
        )
        return [
            (
                e.kind,
                int(users[e.actor_id]),
                int(users[e.subject_id]) if e.subject_id is not None else None,
            )
            for e in rows.scalars()
        ]


async def person_id(h: Harness, user: int) -> int:
    async with h.sessionmaker() as session:
        found = await session.scalar(
            select(Identity.person_id).where(Identity.external_id == str(user))
        )
        assert found is not None
        return found


def forged(reply: Reply, step: str, action: str, value: str | int) -> str:
    """A press of this flow instance with another step, action or value than offered."""
    press = FlowPress.unpack(reply.message.buttons[0][0].data)
    assert press is not None
    return FlowPress(press.flow, press.nonce, step, action, str(value)).pack()


async def team_of_three(h: Harness, unit: Unit) -> None:
    await support(h, ANH, unit, "Anh")
    await support(h, BINH, unit, "Bình")
    await support(h, CUONG, unit, "Cường")


async def test_team_shows_members_and_invites_a_colleague_with_a_qr_code(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await support(h, ANH, may, "Anh")
    await support(h, BINH, may, "Bình")
    idea = await submit(h, may)
    r = await h.click(ANH, card_of(h, ANH, idea.ref_code), "Duyệt")
    await h.click(ANH, r.last, "Đúng, duyệt")
    r = await h.send(ANH, "/team")
    text = r.last.text
    assert "Tổ hỗ trợ sáng kiến — Công đoàn cơ sở Công ty May Phú Mỹ" in text
    anh_line = next(line for line in text.splitlines() if "Anh" in line)
    assert h.now.strftime("%d/%m/%Y") in anh_line
    assert "Bình — thành viên — hoạt động gần nhất: chưa có" in text
    assert r.last.labels == [
        "➕ Mời thành viên mới",
        "➖ Bớt một thành viên",
        "👑 Trao quyền tổ trưởng",
    ]
    r = await h.click(ANH, r.last, "Mời thành viên")
    link_message, qr_message = r.replies[0], r.replies[1]
    assert "một lần" in link_message.text and "48 giờ" in link_message.text
    link = next(w for w in link_message.text.split() if w.startswith("https://t.me/"))
    upload = qr_message.message.upload
    assert upload is not None and upload.mime_type == "image/png"
    png = await asyncio.to_thread(Path(upload.path).read_bytes)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = zxingcpp.read_barcode(Image.open(io.BytesIO(png)))
    assert decoded is not None and decoded.text == link
    token = link.split("?start=", 1)[1]
    # The colleague opens it: on the team. A second person with the same link: used up.
    r = await h.send(CUONG, f"/start {token}", name="Cường")
    assert CUONG in await roles(h, may)
    r = await h.send(GIANG, f"/start {token}", name="Giang")
    assert "đã được dùng hết" in r.last.text or "hết lượt" in r.last.text
    assert GIANG not in await roles(h, may)
    async with h.sessionmaker() as session:
        made = (await session.execute(select(Invite).order_by(Invite.id.desc()))).scalars().first()
        assert made is not None and made.max_uses == 1 and made.role == "support"


async def test_an_expired_team_invite_is_refused(h: Harness, units: dict[str, Unit]) -> None:
    may = units["HCM-Q7-MAY"]
    await support(h, ANH, may, "Anh")
    r = await h.send(ANH, "/team")
    r = await h.click(ANH, r.last, "Mời thành viên")
    link = next(w for w in r.replies[0].text.split() if w.startswith("https://t.me/"))
    h.now += timedelta(hours=49)
    r = await h.send(GIANG, f"/start {link.split('?start=', 1)[1]}", name="Giang")
    assert "hết hạn" in r.last.text
    assert GIANG not in await roles(h, may)


async def test_a_removed_member_is_refused_at_their_next_press(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await team_of_three(h, may)
    idea = await submit(h, may)
    binh_card = card_of(h, BINH, idea.ref_code)
    # Bình had begun typing a question for the worker on the card.
    r = await h.click(BINH, binh_card, "Hỏi thêm")
    assert r.last.message.force_reply
    r = await h.send(ANH, "/team")
    r = await h.click(ANH, r.last, "Bớt một thành viên")
    assert "Bớt ai" in r.last.text
    r = await h.click(ANH, r.last, "Bình")
    confirm = r.last
    assert "Bớt <b>Bình</b>" in confirm.text and BINH in await roles(h, may), "asked first"
    r = await h.click(ANH, confirm, "Đúng, bớt")
    assert "Đã bớt Bình" in r.last.text
    assert BINH not in await roles(h, may)
    assert ("removed", ANH, BINH) in await team_events(h, may), "an event with who and whom"
    await h.deliver()
    assert any("Anh đã bớt Bình" in m.text for m in h.screen(CUONG)), "the rest of the team told"
    assert any("Anh đã bớt bạn" in m.text for m in h.screen(BINH))
    # His card lost its buttons; pressing the old button anyway is refused.
    shown = next(m for m in h.screen(BINH) if m.message_id == binh_card.message_id)
    assert not shown.message.buttons
    late = await h.click(BINH, binh_card, "Duyệt")
    assert late.answer is not None and late.answer.alert
    assert (await idea_now(h, idea.id)).status == "submitted"
    # The question he was typing is not sent: his conversation was ended.
    async with h.sessionmaker() as session:
        left = (
            (
                await session.execute(
                    select(Conversation).where(Conversation.person_id == await person_id(h, BINH))
                )
            )
            .scalars()
            .all()
        )
    assert all(c.flow != "triage" for c in left)
    await h.send(BINH, "Máy nào vậy?")
    assert (await idea_now(h, idea.id)).status == "submitted"
    assert not any("Máy nào vậy" in m.text for m in h.screen(WORKER))
    # The idea is still the team's: Cường decides it.
    r = await h.click(CUONG, card_of(h, CUONG, idea.ref_code), "Duyệt")
    await h.click(CUONG, r.last, "Đúng, duyệt")
    assert (await idea_now(h, idea.id)).status == "approved"
    # Pressing "Yes, remove" a second time: a stale button, nothing changes.
    again = await h.click(ANH, confirm, "Đúng, bớt")
    assert again.answer is not None and "cũ" in again.answer.text
    assert set(await roles(h, may)) == {ANH, CUONG}


async def test_the_lead_is_handed_over_and_only_by_the_lead(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await team_of_three(h, may)
    r = await h.send(ANH, "/team")
    r = await h.click(ANH, r.last, "Trao quyền")
    r = await h.click(ANH, r.last, "Bình")
    assert (
        "Trao quyền tổ trưởng của Công đoàn cơ sở Công ty May Phú Mỹ cho <b>Bình</b>?"
        in r.last.text
    )
    assert (await roles(h, may))[BINH] is False, "asked first"
    r = await h.click(ANH, r.last, "Đúng, trao")
    assert (await roles(h, may)) == {ANH: False, BINH: True, CUONG: False}
    assert "Bình — tổ trưởng" in r.last.text
    assert ("lead", ANH, BINH) in await team_events(h, may)
    await h.deliver()
    assert any("Anh đã trao quyền tổ trưởng" in m.text for m in h.screen(CUONG))
    # Cường is not the lead: he can neither hand it over nor remove the lead.
    r = await h.send(CUONG, "/team")
    view = r.last
    r = await h.click(CUONG, view, "Trao quyền")
    r = await h.click(CUONG, r.last, "Anh")
    assert r.answer is not None and r.answer.alert and "Chỉ tổ trưởng" in r.answer.text
    r = await h.send(CUONG, "/team")
    r = await h.press(
        CUONG,
        forged(r.last, "remove", "ok", await person_id(h, BINH)),
        message_id=r.last.message_id,
    )
    assert r.answer is not None and r.answer.alert
    # The lead leaving while others remain: hand the lead over first.
    r = await h.send(BINH, "/team")
    r = await h.click(BINH, r.last, "Bớt một thành viên")
    r = await h.click(BINH, r.last, "Bình")
    assert r.answer is not None and "trao quyền tổ trưởng cho người khác trước" in r.answer.text
    assert (await roles(h, may)) == {ANH: False, BINH: True, CUONG: False}


async def test_the_last_member_names_a_successor_or_confirms_the_hand_up(
    h: Harness, units: dict[str, Unit]
) -> None:
    may, q7 = units["HCM-Q7-MAY"], units["HCM-Q7"]
    await support(h, ANH, may, "Anh")
    await support(h, DUNG, q7, "Dũng")
    waiting = await submit(h, may, "Thu hồi nhiệt thừa của lò hơi để sấy vải")
    r = await h.send(ANH, "/team")
    r = await h.click(ANH, r.last, "Bớt một thành viên")
    r = await h.click(ANH, r.last, "Anh")
    last = r.last
    assert "thành viên cuối cùng" in last.text and "Liên đoàn Lao động Quận 7" in last.text
    assert last.labels[0] == "➕ Mời người thay trước" and "chuyển lên" in last.labels[1]
    # Leaving without the hand-up's own button (a forged "remove"): refused.
    r = await h.press(
        ANH, forged(last, "remove", "ok", await person_id(h, ANH)), message_id=last.message_id
    )
    assert r.answer is not None and r.answer.alert and ANH in await roles(h, may)
    r = await h.click(ANH, r.last, "Bớt một thành viên")
    r = await h.click(ANH, r.last, "Anh")
    r = await h.click(ANH, r.last, "chuyển lên")
    assert "Bạn đã rời tổ hỗ trợ" in r.last.text
    assert await roles(h, may) == {}
    assert [k for k, _, _ in await team_events(h, may)][-2:] == ["left", "handed_up"]
    await h.deliver()
    dung = h.screen(DUNG)
    assert any("không còn thành viên" in m.text and "1 sáng kiến" in m.text for m in dung)
    assert any(
        waiting.ref_code in m.text and "không còn thành viên nào từ" in m.text for m in dung
    ), "told why, with the waiting idea"
    card = card_of(h, DUNG, waiting.ref_code)
    r = await h.click(DUNG, card, "Duyệt")
    await h.click(DUNG, r.last, "Đúng, duyệt")
    assert (await idea_now(h, waiting.id)).status == "approved"
    # A new idea of the unit goes straight to the district's team.
    fresh = await submit(h, may, "Đổi bóng đèn xưởng cắt sang LED")
    assert card_of(h, DUNG, fresh.ref_code)


async def test_the_last_member_with_no_team_above_must_invite_first(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await support(h, ANH, may, "Anh")
    r = await h.send(ANH, "/team")
    r = await h.click(ANH, r.last, "Bớt một thành viên")
    r = await h.click(ANH, r.last, "Anh")
    assert "không có tổ hỗ trợ nào ở cấp trên" in r.last.text
    assert "chuyển lên" not in " ".join(r.last.labels)
    r = await h.press(
        ANH, forged(r.last, "remove", "up", await person_id(h, ANH)), message_id=r.last.message_id
    )
    assert r.answer is not None and r.answer.alert
    assert ANH in await roles(h, may)


async def test_an_official_above_picks_the_unit_and_manages_its_team(
    h: Harness, units: dict[str, Unit]
) -> None:
    may, dien = units["HCM-Q7-MAY"], units["HCM-Q7-DIEN"]
    await support(h, ANH, may, "Anh")
    await support(h, BINH, may, "Bình")
    await support(h, CUONG, dien, "Cường")
    await h.send(OFFICIAL, f"/start {await invite(h, units['HCM-Q7'], RoleKind.OFFICIAL)}")
    r = await h.send(OFFICIAL, "/team")
    assert "đơn vị nào" in r.last.text
    assert any("May Phú Mỹ" in label for label in r.last.labels)
    assert any("Điện tử" in label for label in r.last.labels)
    r = await h.click(OFFICIAL, r.last, "May Phú Mỹ")
    assert "Anh" in r.last.text and "Bình" in r.last.text and "Cường" not in r.last.text
    r = await h.click(OFFICIAL, r.last, "Bớt một thành viên")
    r = await h.click(OFFICIAL, r.last, "Anh")
    r = await h.click(OFFICIAL, r.last, "Đúng, bớt")
    assert set(await roles(h, may)) == {BINH}
    # An official of a sibling unit forges the pick of this one: refused.
    await h.send(OTHER_OFFICIAL, f"/start {await invite(h, dien, RoleKind.OFFICIAL)}")
    r = await h.send(OTHER_OFFICIAL, "/team")
    assert "Cường" in r.last.text
    r = await h.press(
        OTHER_OFFICIAL, forged(r.last, "pick", "unit", may.id), message_id=r.last.message_id
    )
    assert r.answer is not None and r.answer.alert
    r = await h.send(OTHER_OFFICIAL, "/team HCM-Q7-MAY")
    assert "dành cho tổ hỗ trợ" in r.last.text


async def test_attackers_get_a_clear_answer_and_change_nothing(
    h: Harness, units: dict[str, Unit]
) -> None:
    may, dien, q7 = units["HCM-Q7-MAY"], units["HCM-Q7-DIEN"], units["HCM-Q7"]
    await support(h, ANH, may, "Anh")
    await support(h, BINH, may, "Bình")
    await support(h, CUONG, dien, "Cường")
    await support(h, DUNG, q7, "Dũng")
    before = (await roles(h, may), await roles(h, dien), await roles(h, q7))
    # A worker, an outsider.
    await submit(h, may)
    r = await h.send(WORKER, "/team")
    assert "dành cho tổ hỗ trợ" in r.last.text
    r = await h.send(OUTSIDER, "/team")
    assert "dành cho tổ hỗ trợ" in r.last.text
    # A member removing someone of another unit with a forged button.
    r = await h.send(ANH, "/team")
    r = await h.press(
        ANH, forged(r.last, "remove", "ok", await person_id(h, CUONG)), message_id=r.last.message_id
    )
    assert r.answer is not None and r.answer.alert and "không (còn) ở trong tổ" in r.answer.text
    r = await h.send(ANH, "/team")
    r = await h.press(
        ANH, forged(r.last, "lead", "ok", await person_id(h, CUONG)), message_id=r.last.message_id
    )
    assert r.answer is not None and r.answer.alert
    # The district's team (a role above) does not manage the team below.
    r = await h.send(DUNG, "/team HCM-Q7-MAY")
    assert "dành cho tổ hỗ trợ" in r.last.text
    # A button of an earlier /team: stale.
    old = await h.send(ANH, "/team")
    await h.send(ANH, "/team")
    r = await h.click(ANH, old.last, "Bớt một thành viên")
    assert r.answer is not None and "cũ" in r.answer.text
    # A group chat: /team is for private chats.
    group = ChatRef("telegram", "-100900", "group", "Nhóm")
    r = await h.send(ANH, "/team", chat=group)
    assert r.replies and "riêng" in r.last.text
    # A member who lost the role meanwhile presses the team's buttons: refused.
    view = await h.send(BINH, "/team")
    async with h.sessionmaker() as session:
        role = (
            await session.execute(select(Role).where(Role.person_id == await person_id(h, BINH)))
        ).scalar_one()
        role.revoked_at = h.now
        await session.commit()
    r = await h.click(BINH, view.last, "Bớt một thành viên")
    assert r.answer is not None and r.answer.alert and "dành cho tổ hỗ trợ" in r.answer.text
    after = (await roles(h, may), await roles(h, dien), await roles(h, q7))
    assert after[1:] == before[1:] and after[0] == {ANH: False}
