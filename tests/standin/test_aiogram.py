"""A real aiogram 3 bot, pointed at the stand-in as at a self-hosted Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from standins.core.media import make_jpeg
from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinServer
from standins.telegram.errors import MESSAGE_NOT_MODIFIED

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="Gửi ý tưởng", callback_data="idea:new"),
            InlineKeyboardButton(text="Hướng dẫn", url="https://example.org/huong-dan"),
        ]
    ]
)


@pytest.fixture
async def bot(server: StandinServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    aiogram_bot = Bot(EXAMPLE_TOKEN, session=session)
    try:
        yield aiogram_bot
    finally:
        await aiogram_bot.session.close()


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert (me.is_bot, me.username, me.first_name) == (True, "sangkien_bot", "Sáng kiến bot")
    assert (me.can_join_groups, me.can_read_all_group_messages) == (True, False)
    assert me.supports_inline_queries is False


async def test_text_keyboard_button_press_answer_and_edit(bot: Bot, client: StandinClient) -> None:
    await client.upsert_user(1001, "Lan", username="lan_cd", language_code="vi")
    await client.start(1001, "unit-42")
    [update] = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "/start unit-42"
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"
    assert update.message.from_user is not None and update.message.from_user.username == "lan_cd"

    sent = await bot.send_message(
        1001, "Chào <b>Lan</b> &amp; tổ 1!", parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert sent.text == "Chào Lan & tổ 1!"
    assert sent.entities is not None and sent.entities[0].type == "bold"
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == KEYBOARD.model_dump()

    [view] = await client.wait_messages(1001, 1, after_message_id=update.message.message_id)
    assert view["html"] == "Chào <b>Lan</b> &amp; tổ 1!"
    assert view["text"] == "Chào Lan & tổ 1!"
    assert [b["text"] for b in view["buttons"]] == ["Gửi ý tưởng", "Hướng dẫn"]

    pressed = await client.press(1001, 1001, sent.message_id, text="Gửi ý tưởng")
    [update] = await bot.get_updates(offset=update.update_id + 1, timeout=1)
    query = update.callback_query
    assert (
        query is not None and query.data == "idea:new" and query.id == pressed["callback_query_id"]
    )
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Đã nhận", show_alert=True)
    [answer] = await client.callback_answers(query.id)
    assert answer["answer"]["text"] == "Đã nhận" and answer["answer"]["show_alert"] is True

    edited = await bot.edit_message_text(
        "<i>Đang soạn</i>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    with pytest.raises(TelegramBadRequest) as not_modified:
        await bot.edit_message_text(
            "<i>Đang soạn</i>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML"
        )
    assert not_modified.value.message == f"Bad Request: {MESSAGE_NOT_MODIFIED}"
    view = await client.message(1001, sent.message_id)
    assert view["text"] == "Đang soạn" and view["edits"][0]["text"] == "Chào Lan & tổ 1!"


async def test_files_upload_reuse_and_download(bot: Bot, client: StandinClient) -> None:
    await client.start(1001)
    jpeg = make_jpeg(1600, 1200, seed=3)
    photo = await bot.send_photo(
        1001, BufferedInputFile(jpeg, "anh.jpg"), caption="<b>Ảnh</b>", parse_mode="HTML"
    )
    assert photo.photo is not None
    assert [(size.width, size.height) for size in photo.photo] == [
        (90, 68),
        (320, 240),
        (800, 600),
        (1280, 960),
        (1600, 1200),
    ]
    assert photo.caption == "Ảnh" and photo.caption_entities is not None
    biggest = photo.photo[-1]
    file = await bot.get_file(biggest.file_id)
    assert file.file_path is not None and file.file_path.startswith("photos/")
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == jpeg

    again = await bot.send_photo(1001, biggest.file_id)
    assert again.photo is not None and again.photo[-1].file_unique_id == biggest.file_unique_id

    document = await bot.send_document(
        1001, BufferedInputFile(b"a,b\n1,2\n", "bao-cao.csv"), caption="Báo cáo"
    )
    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == (
        "bao-cao.csv",
        "text/csv",
    )
    voice = await bot.send_voice(1001, BufferedInputFile(b"OggS", "v.ogg"), duration=4)
    assert voice.voice is not None and voice.voice.duration == 4

    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(1001, document.document.file_id)
    url_photo = await bot.send_photo(1001, "https://example.org/a.jpg")
    assert url_photo.photo is not None
    assert (await client.message(1001, url_photo.message_id))["media"]["url"] == (
        "https://example.org/a.jpg"
    )


async def test_commands_actions_chat_and_errors(bot: Bot, client: StandinClient) -> None:
    await client.start(1001)
    commands = [BotCommand(command="start", description="Bắt đầu")]
    assert await bot.set_my_commands(commands, language_code="vi")
    assert await bot.set_my_commands(
        [BotCommand(command="progress", description="Tiến độ")],
        scope=BotCommandScopeChat(chat_id=1001),
    )
    vietnamese = await bot.get_my_commands(language_code="vi")
    assert [(c.command, c.description) for c in vietnamese] == [("start", "Bắt đầu")]
    assert await bot.get_my_commands() == []
    menus = (await client.commands())["menus"]
    assert {menu["scope"]["type"] for menu in menus} == {"default", "chat"}

    assert await bot.send_chat_action(1001, "typing")
    assert [a["action"] for a in await client.chat_actions(1001)] == ["typing"]
    chat = await bot.get_chat(1001)
    assert chat.first_name == "User1001" and chat.type == "private"

    await client.set_blocked(1001)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(1001, "hello")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "hello")


async def test_a_dispatcher_polls_and_answers(bot: Bot, client: StandinClient) -> None:
    """The whole aiogram loop: long polling, handlers, answers, offset confirmation."""
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def on_start(message: Message, command: CommandObject) -> None:
        await message.answer(
            f"Mã đơn vị: <code>{command.args}</code>", parse_mode="HTML", reply_markup=KEYBOARD
        )

    @dispatcher.callback_query(F.data == "idea:new")
    async def on_new_idea(query: CallbackQuery) -> None:
        await query.answer("OK")
        if isinstance(query.message, Message):
            await query.message.edit_text("Hãy mô tả ý tưởng của bạn.")

    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False)
    )
    try:
        sent = await client.start(1001, "CDCS-7")
        [reply] = await client.wait_reply(sent)
        assert reply["text"] == "Mã đơn vị: CDCS-7"
        await client.press(1001, 1001, reply["message_id"], data="idea:new")
        await client.wait_calls("editMessageText", chat_id=1001)
        assert (await client.message(1001, reply["message_id"]))["text"] == (
            "Hãy mô tả ý tưởng của bạn."
        )
        assert (await client.callback_answers())[0]["answered"] is True
    finally:
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
