"""A real python-telegram-bot 22 bot, pointed at the stand-in through base_url."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from standins.core.media import make_png
from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinServer

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Duyệt", callback_data="approve:17")]],
)


def ptb_bot(server: StandinServer) -> Bot:
    return Bot(
        EXAMPLE_TOKEN,
        base_url=f"{server.base_url}/bot",
        base_file_url=f"{server.base_url}/file/bot",
    )


@pytest.fixture
async def bot(server: StandinServer) -> AsyncIterator[Bot]:
    telegram_bot = ptb_bot(server)
    await telegram_bot.initialize()
    try:
        yield telegram_bot
    finally:
        await telegram_bot.shutdown()


async def test_initialize_reads_the_bot_identity(bot: Bot) -> None:
    assert bot.bot.id == 123456789
    assert bot.username == "sangkien_bot"
    assert bot.bot.can_join_groups is True


async def test_text_keyboard_press_answer_edit(bot: Bot, client: StandinClient) -> None:
    await client.upsert_user(2002, "Minh", last_name="Trần")
    await client.send_text(2002, "xin chào")
    [update] = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "xin chào"
    assert update.effective_user is not None and update.effective_user.full_name == "Minh Trần"

    sent = await bot.send_message(
        2002, "Ý tưởng <b>SK-2026-000017</b> chờ duyệt", parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert sent.text == "Ý tưởng SK-2026-000017 chờ duyệt"
    assert sent.reply_markup == KEYBOARD

    await client.press(2002, 2002, sent.message_id, text="Duyệt")
    [update] = await bot.get_updates(offset=update.update_id + 1, timeout=1)
    assert update.callback_query is not None and update.callback_query.data == "approve:17"
    assert await update.callback_query.answer("Đã duyệt")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer("again")

    edited = await bot.edit_message_reply_markup(2002, sent.message_id, reply_markup=None)
    assert not isinstance(edited, bool) and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(2002, sent.message_id, reply_markup=None)
    assert await bot.delete_message(2002, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", 2002, sent.message_id)


async def test_files_with_ptb(bot: Bot, client: StandinClient) -> None:
    await client.start(2002)
    png = make_png(200, 100)
    photo = await bot.send_photo(2002, png, caption="Sơ đồ")
    assert [(s.width, s.height) for s in photo.photo] == [(90, 45), (200, 100)]
    file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == png

    document = await bot.send_document(2002, b"%PDF-1.4", filename="de-xuat.pdf")
    assert document.document is not None
    assert document.document.mime_type == "application/pdf"
    voice = await bot.send_voice(2002, b"OggS", duration=2)
    assert voice.voice is not None and voice.voice.mime_type == "audio/ogg"

    sent = await client.send_document(2002, "y-tuong.docx", b"PK\x03\x04", caption="Bản mô tả")
    file_id = sent["message"]["media"]["file_id"]
    received = await bot.get_file(file_id)
    assert bytes(await received.download_as_bytearray()) == b"PK\x03\x04"


async def test_chat_members_and_errors(bot: Bot, client: StandinClient) -> None:
    group = await client.create_group("Tổ hỗ trợ CĐCS 1", [2002, 2003])
    await client.startgroup(2002, group["id"])
    creator = await bot.get_chat_member(group["id"], 2002)
    assert creator.status == "creator"
    me = await bot.get_chat_member(group["id"], bot.id)
    assert me.status == "member"
    stranger = await client.upsert_user(2009, "Khách")
    assert (await bot.get_chat_member(group["id"], stranger["id"])).status == "left"
    chat = await bot.get_chat(group["id"])
    assert chat.title == "Tổ hỗ trợ CĐCS 1" and chat.type == "group"

    await client.upsert_user(2004, "Hoa")
    with pytest.raises(Forbidden, match=r"(?i)bot can.t initiate conversation with a user"):
        await bot.send_message(2004, "hi")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(group["id"], "   ")


async def test_an_application_polls_and_answers(
    server: StandinServer, client: StandinClient
) -> None:
    """The whole PTB loop: Application, Updater long polling, handlers."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(
            f"Xin chào <b>{update.effective_user.first_name if update.effective_user else ''}</b>",
            reply_markup=KEYBOARD,
        )

    async def approve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text("Đã duyệt ✅")

    application = (
        Application.builder()
        .token(EXAMPLE_TOKEN)
        .base_url(f"{server.base_url}/bot")
        .base_file_url(f"{server.base_url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(approve, pattern="^approve:"))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await client.upsert_user(2002, "Minh")
            sent = await client.start(2002)
            [reply] = await client.wait_reply(sent)
            assert reply["text"] == "Xin chào Minh"
            await client.press(2002, 2002, reply["message_id"], text="Duyệt")
            await client.wait_calls("editMessageText", chat_id=2002)
            assert (await client.message(2002, reply["message_id"]))["text"] == "Đã duyệt ✅"
        finally:
            await application.updater.stop()
            await application.stop()
