"""Linking a person's Telegram and Zalo accounts with a one-time code (neutral flows)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from bot.zalo.choices import parse_command
from handlers.events import ChatRef, Incoming, Sender
from handlers.flows.link import MAX_FAILURES, code_hash
from storage.channel_models import LinkCode
from storage.models import (
    DigestSubscription,
    Idea,
    Identity,
    OutboxMessage,
    Person,
    Role,
    RoleKind,
    Unit,
)
from tests.flows.harness import Harness, Result
from tests.flows.test_worker_idea import fill_form, invite, join_by_link

TG, TG2 = 5001, 5002
ZL, ZL2 = "zalo-worker-1", "zalo-worker-2"
CODE = re.compile(r"\b(\d{6})\b")


async def zalo(h: Harness, user: str, text: str, name: str = "Lan Zalo") -> Result:
    command = parse_command(text)
    incoming = Incoming(
        update_id=next(h._update_ids),
        sender=Sender("zalo", user, name, None),
        chat=ChatRef("zalo", user, "private"),
        text=None if command else text,
        command=command[0] if command else None,
        command_args=command[1] if command else "",
        message_id=f"m{next(h._message_ids)}",
    )
    return await h.feed(incoming)


async def new_code(h: Harness, user: int) -> str:
    r = await h.send(user, "/link", name="Lan")
    match = CODE.search(r.last.text)
    assert match, r.last.text
    assert f"/link {match.group(1)}" in r.last.text
    return match.group(1)


async def person_of(h: Harness, channel: str, external_id: str) -> Person:
    async with h.sessionmaker() as session:
        query = (
            select(Person)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == channel, Identity.external_id == external_id)
        )
        person = (await session.execute(query)).scalar_one()
        return person


async def count(h: Harness, query: object) -> int:
    async with h.sessionmaker() as session:
        return int((await session.execute(query)).scalar_one())  # type: ignore[call-overload]


async def test_a_telegram_code_sent_from_zalo_makes_one_person(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, TG, units["HCM-Q7-MAY"])
    r = await fill_form(h, TG, "Lắp cảm biến tắt máy nén khí khi chuyền dừng")
    await h.press(TG, r.last.button("Gửi"), message_id=r.last.message_id)
    code = await new_code(h, TG)
    async with h.sessionmaker() as session:
        stored = (await session.execute(select(LinkCode))).scalars().all()
    assert [c.code_hash for c in stored] == [code_hash(code)]  # only the hash is kept
    await zalo(h, ZL, "xin chào")  # the Zalo account exists first: a person of its own
    r = await zalo(h, ZL, f"liên kết {code}")
    assert "Đã liên kết" in r.last.text and "Telegram" in r.last.text
    telegram, on_zalo = await person_of(h, "telegram", str(TG)), await person_of(h, "zalo", ZL)
    assert telegram.id == on_zalo.id and telegram.unit_id == units["HCM-Q7-MAY"].id
    # The Telegram chat hears of it too.
    [told] = await h.notifications(str(TG))
    assert "Zalo" in told.text
    # /myideas on Zalo shows the idea sent from Telegram.
    r = await zalo(h, ZL, "/myideas")
    assert "Lắp cảm biến" in r.last.text
    # A code works once.
    r = await zalo(h, ZL2, f"/link {code}")
    assert "không đúng hoặc đã hết hạn" in r.last.text


async def test_the_newer_persons_ideas_roles_and_unit_move_to_the_older(
    h: Harness, units: dict[str, Unit]
) -> None:
    await h.send(TG, "/help", name="Lan")  # Telegram first: the older person
    older = await person_of(h, "telegram", str(TG))
    await zalo(h, ZL, f"/start {await invite(h, units['HCM-Q7-DIEN'], RoleKind.MEMBER)}")
    await zalo(h, ZL, f"/start {await invite(h, units['HCM-Q7'], RoleKind.SUPPORT)}")
    newer = await person_of(h, "zalo", ZL)
    async with h.sessionmaker() as session:
        session.add(
            DigestSubscription(person_id=newer.id, unit_id=units["HCM-Q7"].id, subscribed_at=h.now)
        )
        await session.commit()
    r = await fill_form_on_zalo(h)
    assert "SK-" in r.last.text
    code = (await h.send(TG, "/link")).last.text
    r = await zalo(h, ZL, f"/link {CODE.search(code).group(1)}")  # type: ignore[union-attr]
    assert "Đã liên kết" in r.last.text
    merged = await person_of(h, "zalo", ZL)
    assert merged.id == older.id and merged.unit_id == units["HCM-Q7-DIEN"].id
    assert await count(h, select(func.count(Idea.id)).where(Idea.author_id == older.id)) == 1
    assert await count(h, select(func.count(Role.id)).where(Role.person_id == older.id)) == 1
    assert await count(h, select(func.count()).select_from(DigestSubscription)) == 1
    # The newer person is left as an empty shell until the next link purges it.
    assert (
        await count(h, select(func.count(Identity.id)).where(Identity.person_id == newer.id)) == 0
    )
    assert await count(h, select(func.count(Role.id)).where(Role.person_id == newer.id)) == 0
    await h.send(TG2, "/help")
    code2 = CODE.search((await h.send(TG2, "/link")).last.text).group(1)  # type: ignore[union-attr]
    await zalo(h, ZL2, f"/link {code2}")
    assert await count(h, select(func.count(Person.id)).where(Person.id == newer.id)) == 0
    assert (
        await count(
            h, select(func.count(OutboxMessage.id)).where(OutboxMessage.person_id == newer.id)
        )
        == 0
    )


async def fill_form_on_zalo(h: Harness) -> Result:
    """A Zalo worker's idea, pressing the form's buttons by their callback data."""
    await zalo(h, ZL, "/idea")
    r = await zalo(h, ZL, "Đổi vị trí kệ hàng để giảm quãng đường xe nâng")
    for label in (
        "Xong",
        "Giải pháp kỹ thuật",
        "Tăng năng suất",
        "Bỏ qua",
        "Có thể chia sẻ",
        "Gửi",
    ):
        incoming = Incoming(
            update_id=next(h._update_ids),
            sender=Sender("zalo", ZL, "Lan Zalo", None),
            chat=ChatRef("zalo", ZL, "private"),
            button=r.last.button(label),
            callback_id=ZL,
            message_id=r.last.message_id,
        )
        r = await h.feed(incoming)
    return r


async def test_a_person_linking_twice_the_same_messenger_is_refused(
    h: Harness, units: dict[str, Unit]
) -> None:
    code = await new_code(h, TG)
    r = await h.send(TG2, f"/link {code}")
    assert "ứng dụng kia" in r.last.text
    r = await h.send(TG, f"/link {code}")
    assert "của chính tài khoản này" in r.last.text
    await zalo(h, ZL, "hi")
    r = await zalo(h, ZL, f"/link {code}")  # still usable: the refusals did not use it
    assert "Đã liên kết" in r.last.text
    # Another Zalo account cannot join the same person: it has a Zalo account now.
    code = await new_code(h, TG)
    r = await zalo(h, ZL2, f"/link {code}")
    assert "đều đã có tài khoản Zalo" in r.last.text


async def test_codes_expire_after_ten_minutes(h: Harness) -> None:
    code = await new_code(h, TG)
    h.now += timedelta(minutes=10)
    r = await zalo(h, ZL, f"/link {code}")
    assert "hết hạn" in r.last.text


async def test_a_new_code_replaces_the_earlier_one(h: Harness) -> None:
    first = await new_code(h, TG)
    second = await new_code(h, TG)
    r = await zalo(h, ZL, f"/link {first}")
    assert "hết hạn" in r.last.text or first == second
    r = await zalo(h, ZL, f"/link {second[:3]} {second[3:]}")
    assert "Đã liên kết" in r.last.text


async def test_wrong_codes_are_rationed(h: Harness) -> None:
    code = await new_code(h, TG)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_FAILURES):
        r = await zalo(h, ZL, f"/link {wrong}")
        assert "không đúng" in r.last.text
    r = await zalo(h, ZL, f"/link {code}")
    assert "quá nhiều lần" in r.last.text
    h.now += timedelta(minutes=31)
    r = await zalo(h, ZL, f"/link {code}")
    assert "hết hạn" in r.last.text  # the right code, but ten minutes are long gone
    r = await zalo(h, ZL, "/link abc")
    assert "không đúng" in r.last.text


async def test_roles_held_by_both_merge_into_one(h: Harness, units: dict[str, Unit]) -> None:
    unit = units["HCM-Q7-MAY"]
    await h.send(TG, f"/start {await invite(h, unit, RoleKind.SUPPORT)}")
    await zalo(h, ZL, f"/start {await invite(h, unit, RoleKind.SUPPORT)}")
    older = await person_of(h, "telegram", str(TG))
    async with h.sessionmaker() as session:
        role = (await session.execute(select(Role).where(Role.person_id == older.id))).scalar_one()
        role.revoked_at = h.now
        await session.commit()
    code = await new_code(h, TG)
    await zalo(h, ZL, f"/link {code}")
    async with h.sessionmaker() as session:
        roles = (await session.execute(select(Role))).scalars().all()
    assert [(r.person_id, r.revoked_at) for r in roles] == [(older.id, None)]


async def test_rows_both_have_keep_the_older_persons(h: Harness, units: dict[str, Unit]) -> None:
    await h.send(TG, "/help")
    await zalo(h, ZL, "/help")
    older, newer = await person_of(h, "telegram", str(TG)), await person_of(h, "zalo", ZL)
    async with h.sessionmaker() as session:
        for person, unit in ((older, "HCM-Q7"), (newer, "HCM")):
            session.add(
                DigestSubscription(person_id=person.id, unit_id=units[unit].id, subscribed_at=h.now)
            )
        await session.commit()
    await zalo(h, ZL, f"/link {await new_code(h, TG)}")
    async with h.sessionmaker() as session:
        rows = (await session.execute(select(DigestSubscription))).scalars().all()
    assert [(r.person_id, r.unit_id) for r in rows] == [(older.id, units["HCM-Q7"].id)]
