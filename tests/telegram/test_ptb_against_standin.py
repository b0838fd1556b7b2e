"""Both Telegram adapters against the loopback Bot API stand-in (standins/telegram).

The same conversation runs once through ``AiogramTelegram`` and once through
``PtbTelegram``, each against a fresh stand-in: what reaches the runtime, what the
stand-in shows the people, and the Bot API calls on the wire must be the same.
Then the failures a real server produces (blocked, gone, flood control, 5xx,
dropped connections, slow answers) must come out as the same neutral errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.runtime.errors import MessageGone, PermanentSendError, RetryAfter, SendError
from bot.telegram.aiogram_adapter import AiogramTelegram
from bot.telegram.constants import ALLOWED_UPDATES
from bot.telegram.ptb_adapter import PtbTelegram
from handlers.events import AttachmentKind, Button, FileRef, Incoming, OtherContent, OutMessage
from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinServer
from standins.telegram.config import DEFAULT_BOT_USERNAME
from tests.telegram.fakeapi import GET_UPDATES_WARNING

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings(GET_UPDATES_WARNING),
]

KINDS = ("aiogram", "ptb")
AN, HOA = 1001, 1002


@dataclass
class Bot:
    """One adapter started against one stand-in, and what it handed the runtime."""

    adapter: AiogramTelegram | PtbTelegram
    standin: StandinClient
    seen: list[Incoming] = field(default_factory=list)
    offset: int | None = None

    async def on_incoming(self, incoming: Incoming) -> None:
        self.seen.append(incoming)

    async def pump(self, timeout: int = 0) -> list[Incoming]:
        """Fetch and process what is waiting, as the runtime's polling loop would."""
        before = len(self.seen)
        batch = await self.adapter.fetch(self.offset, timeout)
        for raw in batch:
            await self.adapter.process(raw)
            self.offset = raw.update_id + 1
        return self.seen[before:]

    async def send(self, chat_id: int | str, message: OutMessage) -> str:
        return await self.adapter.send(str(chat_id), message)


def _make(kind: str, api_base: str, timeout: float) -> AiogramTelegram | PtbTelegram:
    if kind == "aiogram":
        return AiogramTelegram(EXAMPLE_TOKEN, api_base, request_timeout=timeout)
    return PtbTelegram(EXAMPLE_TOKEN, api_base, request_timeout=timeout)


@asynccontextmanager
async def running(kind: str, timeout: float = 5.0) -> AsyncIterator[Bot]:
    async with StandinServer(port=0) as server, server.client() as standin:
        bot = Bot(_make(kind, server.base_url, timeout), standin)
        try:
            assert await bot.adapter.start(bot.on_incoming) == DEFAULT_BOT_USERNAME
            yield bot
        finally:
            await bot.adapter.close()


def _decoded(params: dict[str, Any]) -> dict[str, Any]:
    """Call-log parameters with JSON-encoded values decoded, so both encodings compare."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        try:
            out[key] = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            out[key] = value
    return out


# What differs between two runs of the same conversation, whichever the adapter.
VOLATILE = frozenset({"date", "edit_date", "time", "created", "duration"})


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


# ---------------------------------------------------------------- one conversation


async def _conversation(kind: str) -> dict[str, Any]:
    """Everything observable about one conversation, for comparing the two adapters."""
    async with running(kind) as bot:
        s = bot.standin
        await s.upsert_user(AN, "Nguyễn", last_name="Văn An", language_code="vi")
        await s.upsert_user(HOA, "Hoa", language_code="en")
        await s.start(AN, "inv_AbC123")
        await s.start(HOA)
        started = await bot.pump()

        menu = await bot.send(
            AN,
            OutMessage(
                text="<b>Chọn lĩnh vực</b> https://example.com",
                buttons=((Button("An toàn", "f:safety"), Button("Năng suất", "f:prod")),),
            ),
        )
        await s.press(AN, AN, int(menu), data="f:safety")
        pressed = await bot.pump()
        await bot.adapter.answer_callback(pressed[0].callback_id or "", "Đã lưu", False)
        edited = await bot.send(
            AN,
            OutMessage(
                text="Lĩnh vực: <i>An toàn</i>",
                buttons=((Button("Đổi", "f:change"),),),
                edit_message_id=menu,
            ),
        )
        unchanged = await bot.send(
            AN,
            OutMessage(
                text="Lĩnh vực: <i>An toàn</i>",
                buttons=((Button("Đổi", "f:change"),),),
                edit_message_id=menu,
            ),
        )
        question = await bot.send(AN, OutMessage(text="Tên sáng kiến?", force_reply=True))
        await s.send_text(AN, "Thay bạc đạn máy bơm", reply_to=int(question))
        await s.send_photo(AN, caption="Ảnh máy bơm")
        await s.send_document(AN, "de-xuat.pdf", b"%PDF-1.4 ...", mime_type="application/pdf")
        await s.send_voice(AN, duration=4)
        await s.send_contact(AN, "+84901234567", "Lan")
        await s.send_location(AN, 21.0278, 105.8342)
        await s.send_sticker(AN)
        answers = await bot.pump()

        # the bot shows people's files back by file_id
        echoes = []
        for incoming in answers:
            for file in incoming.files:
                echoes.append(
                    await bot.send(HOA, OutMessage(text=f"Tệp <b>{file.kind}</b>", file=file))
                )

        group = await s.create_group("Công đoàn Tổ 3", [AN, HOA])
        group_id = group["id"]
        await s.set_bot_status(group_id, AN, "member")
        await s.send_text(AN, f"/start@{DEFAULT_BOT_USERNAME}", chat_id=group_id)
        await s.send_text(AN, "/help@OtherBot", chat_id=group_id)
        in_group = await bot.send(
            group_id, OutMessage(text="Chào cả tổ", buttons=((Button("Tham gia", "join"),),))
        )
        await s.set_bot_status(group_id, AN, "kicked")
        group_updates = await bot.pump()

        await bot.adapter.set_commands([("idea", "Gửi sáng kiến"), ("help", "Trợ giúp")], None)
        await bot.adapter.set_commands([("idea", "Send an idea"), ("help", "Help")], "en")

        calls = [
            (call["method"], _decoded(call["params"]))
            for call in await s.calls()
            if call["method"] != "getMe"
        ]
        return {
            "started": started,
            "pressed": pressed,
            "answers": answers,
            "group_updates": group_updates,
            "sent": [menu, edited, unchanged, question, *echoes, in_group],
            "an_sees": _stable(await s.messages(AN)),
            "hoa_sees": _stable(await s.messages(HOA)),
            "group_sees": _stable(await s.messages(group_id, sender="all")),
            "callback_answers": _stable(await s.callback_answers()),
            "commands": _stable(await s.commands()),
            "calls": calls,
        }


@pytest.fixture(scope="module")
def conversations() -> dict[str, dict[str, Any]]:
    return {kind: asyncio.run(_conversation(kind)) for kind in KINDS}


def test_both_adapters_see_and_say_the_same(conversations: dict[str, dict[str, Any]]) -> None:
    aiogram, ptb = conversations["aiogram"], conversations["ptb"]
    for key in aiogram:
        assert ptb[key] == aiogram[key], key
    for key in ("started", "pressed", "answers", "group_updates"):
        assert repr(ptb[key]) == repr(aiogram[key]), key


@pytest.mark.parametrize("kind", KINDS)
def test_the_conversation_went_as_it_should(
    kind: str, conversations: dict[str, dict[str, Any]]
) -> None:
    c = conversations[kind]
    an_start, hoa_start = c["started"]
    assert (an_start.command, an_start.command_args, an_start.chat.kind) == (
        "start",
        "inv_AbC123",
        "private",
    )
    assert an_start.sender.display_name == "Nguyễn Văn An"
    assert (hoa_start.command, hoa_start.sender.display_name) == ("start", "Hoa")
    assert hoa_start.sender.language_code == "en"

    (press,) = c["pressed"]
    menu = c["sent"][0]
    assert (press.button, press.message_id) == ("f:safety", menu)
    (answer,) = c["callback_answers"]
    assert answer["answered"] and answer["answer"]["text"] == "Đã lưu"
    assert not answer["answer"]["show_alert"]

    reply, photo, document, voice, contact, location, sticker = c["answers"]
    assert (reply.text, reply.reply_to_message_id) == ("Thay bạc đạn máy bơm", c["sent"][3])
    assert photo.text == "Ảnh máy bơm"
    (photo_file,) = photo.files
    assert photo_file.kind is AttachmentKind.PHOTO
    assert photo_file.mime_type == "image/jpeg"
    assert document.files[0].file_name == "de-xuat.pdf"
    assert document.files[0].mime_type == "application/pdf"
    assert voice.files[0].kind is AttachmentKind.VOICE
    assert (contact.other, location.other, sticker.other) == (
        OtherContent.CONTACT,
        OtherContent.LOCATION,
        OtherContent.STICKER,
    )

    group_updates = c["group_updates"]
    assert all(i.chat.kind == "group" for i in group_updates)
    (added,) = [i for i in group_updates if i.bot_added_to_group]
    assert added.chat.title == "Công đoàn Tổ 3"
    (kicked,) = [i for i in group_updates if i.bot_removed_from_group]
    assert group_updates.index(added) < group_updates.index(kicked)
    # /start@us is ours; in privacy mode /help@OtherBot is not even delivered to us
    assert [i.command for i in group_updates if i.command] == ["start"]
    assert "/help@OtherBot" not in [i.text for i in group_updates]
    # (the stand-in, like Telegram, may also post a "new members" service message:
    # that reaches the flows as unsupported content, which group chats ignore)
    assert all(i.other in (None, OtherContent.UNSUPPORTED) for i in group_updates if not i.text)

    an_sees = {m["message_id"]: m for m in c["an_sees"]}
    shown = an_sees[int(menu)]
    assert shown["html"] == "Lĩnh vực: <i>An toàn</i>"
    assert shown["buttons"] == [{"text": "Đổi", "callback_data": "f:change"}]
    assert an_sees[int(c["sent"][3])]["reply_markup"] == {"force_reply": True, "selective": True}
    assert len(c["hoa_sees"]) == 3  # the photo, document and voice, shown back by file_id

    menus = {m["language_code"]: m["commands"] for m in c["commands"]["menus"]}
    assert [x["command"] for x in menus[""]] == ["idea", "help"]
    assert menus["en"][0]["description"] == "Send an idea"

    polls = [params for method, params in c["calls"] if method == "getUpdates"]
    assert all(p["allowed_updates"] == list(ALLOWED_UPDATES) for p in polls)
    sends = [p for method, p in c["calls"] if method in ("sendMessage", "editMessageText")]
    assert all(p["parse_mode"] == "HTML" for p in sends)
    assert all(p["link_preview_options"] == {"is_disabled": True} for p in sends)


# ---------------------------------------------------------------- failures on the wire


async def _outcome(bot: Bot, chat_id: int, message: OutMessage) -> tuple[str, Any]:
    try:
        return ("ok", await bot.send(chat_id, message))
    except RetryAfter as exc:
        return ("retry_after", exc.seconds)
    except PermanentSendError as exc:
        return ("permanent", exc.reason)
    except MessageGone:
        return ("gone", None)
    except SendError as exc:
        return (type(exc).__name__, None)


@pytest.mark.parametrize("kind", KINDS)
async def test_failures_map_to_the_same_neutral_errors(kind: str) -> None:
    text = OutMessage(text="Nhắc nhở")
    async with running(kind, timeout=1.0) as bot:
        s = bot.standin
        await s.upsert_user(AN, "An")
        await s.start(AN)
        sent = await bot.send(AN, text)

        assert await _outcome(bot, 999_999, text) == ("permanent", "chat_not_found")
        assert await _outcome(bot, AN, OutMessage(text="<x>")) == ("permanent", "bad_request")
        missing = OutMessage(text="x", edit_message_id="424242")
        assert await _outcome(bot, AN, missing) == ("gone", None)
        same = OutMessage(text="Nhắc nhở", edit_message_id=sent)
        assert await _outcome(bot, AN, same) == ("ok", sent)
        wrong_file = OutMessage(text="x", file=FileRef(AttachmentKind.PHOTO, "no-such-file"))
        assert await _outcome(bot, AN, wrong_file) == ("permanent", "bad_request")

        await s.add_faults({"kind": "retry_after", "method": "sendMessage", "retry_after": 3})
        assert await _outcome(bot, AN, text) == ("retry_after", 3.0)
        await s.add_faults({"kind": "error", "method": "sendMessage", "status": 500})
        assert await _outcome(bot, AN, text) == ("TransientSendError", None)
        await s.add_faults({"kind": "error", "method": "sendMessage", "status": 502})
        assert await _outcome(bot, AN, text) == ("TransientSendError", None)
        await s.add_faults({"kind": "drop", "method": "sendMessage"})
        assert await _outcome(bot, AN, text) == ("TransientSendError", None)
        await s.add_faults({"kind": "delay", "method": "sendMessage", "delay": 2.0})
        assert await _outcome(bot, AN, text) == ("TransientSendError", None)

        await s.set_blocked(AN)
        assert await _outcome(bot, AN, text) == ("permanent", "blocked")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_proxy_error_page_is_transient(kind: str) -> None:
    # aiogram raises ClientDecodeError here, PTB a NetworkError.
    async with running(kind) as bot:
        await bot.standin.upsert_user(AN, "An")
        await bot.standin.start(AN)
        rule = {"kind": "error", "method": "sendMessage", "status": 502, "format": "html"}
        await bot.standin.add_faults(rule)
        assert await _outcome(bot, AN, OutMessage(text="x")) == ("TransientSendError", None)


@pytest.mark.parametrize("kind", KINDS)
async def test_long_polling(kind: str) -> None:
    """A long poll outlives request_timeout, and an update arriving meanwhile ends it."""
    async with running(kind, timeout=1.0) as bot:
        await bot.standin.upsert_user(AN, "An")
        assert await bot.pump(timeout=2) == []  # longer than request_timeout, answered empty

        poll = asyncio.create_task(bot.pump(timeout=5))
        await asyncio.sleep(0.3)
        assert not poll.done()
        await bot.standin.send_text(AN, "Xin chào")
        (incoming,) = await asyncio.wait_for(poll, 3)
        assert incoming.text == "Xin chào"
        assert await bot.pump() == []  # confirmed by the offset
