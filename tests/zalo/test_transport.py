"""Sending to Zalo through the stand-in: text, numbered choices, parts, files, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.zalo.api import ZaloApi
from bot.zalo.files import remember_photo
from bot.zalo.transport import ZaloTransport
from handlers.events import AttachmentKind, Button, FileRef, OutMessage, Upload
from handlers.i18n import Catalogue
from standins.zalo import ZaloStandinClient, ZaloStandinServer
from storage.models import Identity, Person
from storage.uow import UnitOfWork

USER = "a1b2c3d4e5f6"
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
async def transport(
    api: ZaloApi,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    people: ZaloStandinClient,
) -> ZaloTransport:
    await people.send_text(USER, "xin chào")  # the bot may only write to who wrote first
    return ZaloTransport(api, db, catalogue, clock=lambda: NOW)


async def shown(db: async_sessionmaker[AsyncSession]) -> tuple[str, list[list[str]]] | None:
    async with UnitOfWork(db) as uow:
        row = await uow.channels.choices("zalo", USER)
        return (row.message_id, row.choices) if row else None


QUESTION = OutMessage(
    "<b>Lợi ích chính?</b>",
    (
        (Button("💰 Tiết kiệm chi phí", "idea:n:benefit:pick:cost"),),
        (Button("📈 Tăng năng suất", "idea:n:benefit:pick:productivity"),),
    ),
)


async def test_a_question_is_plain_text_with_numbered_choices_remembered(
    transport: ZaloTransport, people: ZaloStandinClient, db: async_sessionmaker[AsyncSession]
) -> None:
    message_id = await transport.send(USER, QUESTION)
    [sent] = await people.messages(USER)
    assert sent["text"] == "Lợi ích chính?\n\n1. 💰 Tiết kiệm chi phí\n2. 📈 Tăng năng suất"
    assert sent["message_id"] == message_id
    assert await shown(db) == (
        message_id,
        [
            ["💰 Tiết kiệm chi phí", "idea:n:benefit:pick:cost"],
            ["📈 Tăng năng suất", "idea:n:benefit:pick:productivity"],
        ],
    )


async def test_a_long_text_goes_in_parts_and_the_last_carries_the_choices(
    transport: ZaloTransport, people: ZaloStandinClient, db: async_sessionmaker[AsyncSession]
) -> None:
    body = "Đổi vị trí kệ hàng để giảm quãng đường xe nâng trong kho thành phẩm. " * 70
    message = OutMessage(body, ((Button("Gửi", "r:send"), Button("Hủy", "r:cancel")),))
    message_id = await transport.send(USER, message)
    sent = await people.messages(USER)
    assert len(sent) == 3
    assert all(len(m["text"].encode("utf-16-le")) // 2 <= 2000 for m in sent)
    assert sent[-1]["text"].endswith("1. Gửi\n2. Hủy") and sent[-1]["message_id"] == message_id
    assert (await shown(db) or ("", []))[0] == message_id


async def test_an_edit_is_a_new_message_and_drops_the_choices_it_replaces(
    transport: ZaloTransport, people: ZaloStandinClient, db: async_sessionmaker[AsyncSession]
) -> None:
    first = await transport.send(USER, QUESTION)
    second = await transport.send(USER, OutMessage("Đã chọn.", edit_message_id="somewhere-else"))
    assert second != first and len(await people.messages(USER)) == 2
    assert (await shown(db) or ("", []))[0] == first  # another message was replaced
    await transport.send(USER, OutMessage("Đã chọn: tăng năng suất.", edit_message_id=first))
    assert await shown(db) is None
    newest = await transport.send(USER, OutMessage("Tiếp", QUESTION.buttons, edit_message_id="x"))
    assert (await shown(db) or ("", []))[0] == newest


async def test_a_message_without_choices_leaves_the_earlier_ones(
    transport: ZaloTransport, db: async_sessionmaker[AsyncSession]
) -> None:
    first = await transport.send(USER, QUESTION)
    await transport.send(USER, OutMessage("Nhắc việc: còn 1 sáng kiến chờ."))
    assert (await shown(db) or ("", []))[0] == first


async def test_a_zalo_photo_goes_again_by_its_url(
    transport: ZaloTransport, people: ZaloStandinClient, db: async_sessionmaker[AsyncSession]
) -> None:
    url = "https://photo.zdn.vn/abc.jpg"
    file_id = await remember_photo(db, url)
    photo = FileRef(AttachmentKind.PHOTO, file_id, file_id, None, "image/jpeg", None)
    await transport.send(USER, OutMessage("Ảnh đính kèm <b>SK-2026-000001</b>", file=photo))
    [sent] = await people.messages(USER)
    assert sent["kind"] == "photo" and sent["photo_url"] == url
    assert sent["caption"] == "Ảnh đính kèm SK-2026-000001"


async def test_files_zalo_cannot_take_are_named_in_the_persons_language(
    transport: ZaloTransport, people: ZaloStandinClient, db: async_sessionmaker[AsyncSession]
) -> None:
    async with UnitOfWork(db) as uow:
        person = Person(display_name="Lan", language="en", unreachable=False, created_at=NOW)
        uow.session.add(person)
        await uow.flush()
        uow.session.add(
            Identity(person_id=person.id, channel="zalo", external_id=USER, private_chat_id=USER)
        )
        await uow.commit()
    telegram_photo = FileRef(AttachmentKind.PHOTO, "AgACAgIAAxkBAAIB", "u", None, None, None)
    await transport.send(USER, OutMessage("Photo of SK-1", file=telegram_photo))
    chart = Upload(AttachmentKind.PHOTO, "chart.png", "image/png", "/nowhere/chart.png")
    await transport.send(USER, OutMessage("", upload=chart))
    first, second = await people.messages(USER)
    assert first["kind"] == "text"
    assert first["text"] == "Photo of SK-1\n\n📎 This attachment can only be opened on Telegram."
    assert second["text"] == "📎 This attachment can only be opened on Telegram."


async def test_notices_for_picks_are_messages(
    transport: ZaloTransport, people: ZaloStandinClient
) -> None:
    await transport.answer_callback(USER, "", False)
    await transport.answer_callback(USER, "Nút này đã cũ, không dùng được nữa.", True)
    [sent] = await people.messages(USER)
    assert sent["text"] == "Lựa chọn này thuộc một tin nhắn cũ, không dùng được nữa."  # Zalo words
    await transport.set_commands([("idea", "Gửi sáng kiến")], None)  # no menu on Zalo


async def test_errors_in_the_runtimes_words(
    transport: ZaloTransport, people: ZaloStandinClient, server: ZaloStandinServer
) -> None:
    await people.add_faults(
        {"method": "sendMessage", "error_code": 429, "description": "Too Many", "retry_after": 7}
    )
    with pytest.raises(RetryAfter) as limited:
        await transport.send(USER, OutMessage("a"))
    assert limited.value.seconds == 7
    await people.add_faults({"method": "sendMessage", "error_code": 502, "description": "Bad"})
    with pytest.raises(TransientSendError):
        await transport.send(USER, OutMessage("a"))
    await people.set_blocked(USER)
    with pytest.raises(PermanentSendError) as blocked:
        await transport.send(USER, OutMessage("a"))
    assert blocked.value.unreachable
    with pytest.raises(PermanentSendError) as unknown:
        await transport.send("never-wrote", OutMessage("a"))
    assert unknown.value.reason == "chat_not_found"
    await server.stop()
    with pytest.raises(TransientSendError):
        await transport.send(USER, OutMessage("a"))


async def test_a_question_to_answer_in_words_puts_the_list_out_of_reach(
    transport: ZaloTransport, db: async_sessionmaker[AsyncSession]
) -> None:
    await transport.send(USER, QUESTION)
    await transport.send(USER, OutMessage("Anh ơi, hãy gõ lý do từ chối:", force_reply=True))
    assert await shown(db) is None


async def test_a_list_shown_by_an_edit_goes_when_that_message_is_edited_again(
    transport: ZaloTransport, people: ZaloStandinClient, db: async_sessionmaker[AsyncSession]
) -> None:
    """A card turned into a confirmation, then decided: "1" must not confirm it again."""
    card = await transport.send(USER, QUESTION)
    confirm = OutMessage("Công nhận SK-2026-000001?", QUESTION.buttons, edit_message_id=card)
    assert await transport.send(USER, confirm) == card  # it stands for the card, as on Telegram
    assert len(await people.messages(USER)) == 2
    assert (await shown(db) or ("", []))[0] == card
    await transport.send(USER, OutMessage("✅ Được công nhận", edit_message_id=card))
    assert await shown(db) is None
