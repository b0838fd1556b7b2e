"""The control API: acting as people, reading what the bot did, waiting without sleeping."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from standins.core.media import image_size
from standins.telegram import StandinClient, StandinError, StandinServer, StandinTimeout
from tests.standin.conftest import RawCall

USER = 1001
pytestmark = pytest.mark.usefixtures("started_user")


async def pending(api: RawCall) -> list[dict[str, Any]]:
    _, body = await api("getUpdates")
    result: list[dict[str, Any]] = body["result"]
    if result:
        await api("getUpdates", offset=result[-1]["update_id"] + 1)
    return result


async def test_health_names_the_base_url(server: StandinServer, client: StandinClient) -> None:
    health = await client.health()
    assert health["base_url"] == server.base_url
    assert health["bot"]["username"] == "sangkien_bot"


async def test_pressing_needs_a_real_button_unless_forged(
    api: RawCall, client: StandinClient
) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}
    _, sent = await api("sendMessage", chat_id=USER, text="Đồng ý?", reply_markup=keyboard)
    message_id = sent["result"]["message_id"]
    await pending(api)

    with pytest.raises(StandinError) as refused:
        await client.press(USER, USER, message_id, text="Không")
    assert refused.value.status == 400
    assert "no inline button with text 'Không'" in refused.value.message
    assert "['Có']" in refused.value.message
    with pytest.raises(StandinError, match="no inline button with callback data 'admin:drop'"):
        await client.press(USER, USER, message_id, data="admin:drop")

    forged = await client.press(USER, USER, message_id, data="admin:drop", forge=True)
    [update] = await pending(api)
    assert update["callback_query"]["data"] == "admin:drop"
    assert update["callback_query"]["id"] == forged["callback_query_id"]

    user_message = (await client.send_text(USER, "tin của tôi"))["message"]["message_id"]
    with pytest.raises(StandinError, match="was not sent by the bot"):
        await client.press(USER, USER, user_message, text="Có")


async def test_people_send_every_kind_of_message(api: RawCall, client: StandinClient) -> None:
    await pending(api)
    photo = await client.send_photo(USER, caption="Ảnh máy hỏng", width=1000, height=750)
    document = await client.send_document(USER, "de-xuat.xlsx", b"PK\x03\x04data")
    await client.send_voice(USER, duration=5)
    await client.send_contact(USER, "+84901234567", "Lan")
    await client.send_location(USER, 10.7769, 106.7009)
    await client.send_sticker(USER, "🎉")
    updates = [u["message"] for u in await pending(api)]

    sizes = updates[0]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 68),
        (320, 240),
        (800, 600),
        (1000, 750),
    ]
    assert updates[0]["caption"] == "Ảnh máy hỏng"
    assert updates[1]["document"]["mime_type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert updates[2]["voice"]["duration"] == 5
    assert updates[3]["contact"] == {"phone_number": "+84901234567", "first_name": "Lan"}
    assert updates[4]["location"] == {"latitude": 10.7769, "longitude": 106.7009}
    assert updates[5]["sticker"]["emoji"] == "🎉"

    _, file = await api("getFile", file_id=sizes[-1]["file_id"])
    assert file["result"]["file_path"].endswith(".jpg")
    content = await client.file_content(sizes[-1]["file_id"])
    assert image_size(content) == (1000, 750) and content.startswith(b"\xff\xd8")
    assert photo["message"]["media"]["type"] == "photo"
    assert await client.file_content(document["message"]["media"]["file_id"]) == b"PK\x03\x04data"


async def test_user_edits_and_replies_reach_the_bot(api: RawCall, client: StandinClient) -> None:
    original = (await client.send_text(USER, "ý tưởng v1"))["message"]
    await client.edit_text(USER, USER, original["message_id"], "ý tưởng v2")
    _, bot_message = await api("sendMessage", chat_id=USER, text="Cảm ơn")
    await client.send_text(USER, "không có gì", reply_to=bot_message["result"]["message_id"])
    *_, edited, reply = await pending(api)
    assert edited["edited_message"]["text"] == "ý tưởng v2"
    assert "edit_date" in edited["edited_message"]
    assert reply["message"]["reply_to_message"]["text"] == "Cảm ơn"


async def test_reading_messages_and_the_call_log(api: RawCall, client: StandinClient) -> None:
    _, sent = await api(
        "sendMessage", chat_id=USER, text="<b>Xin chào</b> &lt;3", parse_mode="HTML"
    )
    message_id = sent["result"]["message_id"]
    await api("deleteMessage", chat_id=USER, message_id=message_id)
    assert await client.messages(USER) == []
    [deleted] = await client.messages(USER, include_deleted=True)
    assert deleted["deleted"] is True
    assert (deleted["html"], deleted["text"], deleted["parse_mode"]) == (
        "<b>Xin chào</b> &lt;3",
        "Xin chào <3",
        "HTML",
    )
    everything = await client.messages(USER, sender="all", include_deleted=True)
    assert [m["from_bot"] for m in everything] == [False, True]  # the /start, then the bot

    [call] = await client.calls("sendMessage", chat_id=USER)
    assert call["params"]["text"] == "<b>Xin chào</b> &lt;3"
    assert call["status"] == 200 and call["response"]["result"]["text"] == "Xin chào <3"
    later = await client.calls(since=call["seq"])
    assert [c["method"] for c in later] == ["deleteMessage"]


async def test_waiting_for_messages_and_calls(api: RawCall, client: StandinClient) -> None:
    sent = await client.send_text(USER, "hỏi")

    async def bot_answers_later() -> None:
        await api("sendChatAction", chat_id=USER, action="typing")
        await api("sendMessage", chat_id=USER, text="trả lời 1")
        await api("sendMessage", chat_id=USER, text="trả lời 2")

    answering = asyncio.create_task(bot_answers_later())
    replies = await client.wait_reply(sent, count=2, timeout=5)
    await answering
    assert [r["text"] for r in replies] == ["trả lời 1", "trả lời 2"]
    [action] = await client.wait_calls("sendChatAction", chat_id=USER)
    assert action["params"]["action"] == "typing"

    with pytest.raises(StandinTimeout) as timed_out:
        await client.wait_reply(sent, count=3, timeout=0.2)
    assert "the bot sent 2" in timed_out.value.message
    await client.wait_quiet(quiet=0.1, timeout=5)


async def test_blocking_tells_the_bot(api: RawCall, client: StandinClient) -> None:
    await pending(api)
    await client.set_blocked(USER)
    [update] = await pending(api)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(StandinError, match="blocked the bot"):
        await client.send_text(USER, "tôi đã chặn bot")
    await client.set_blocked(USER, False)
    [update] = await pending(api)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "member"


async def test_reset_forgets_everything(api: RawCall, client: StandinClient) -> None:
    await api("sendMessage", chat_id=USER, text="trước")
    await client.add_faults({"kind": "error", "times": None})
    await client.reset()
    state = await client.state()
    assert state["users"] == [] and state["chats"] == []
    assert await client.faults() == [] and await client.calls() == []
    assert (await api("getMe"))[0] == 200


async def test_documents_sent_as_base64_round_trip(api: RawCall, client: StandinClient) -> None:
    payload = bytes(range(256))
    sent = await client.send_document(USER, "du-lieu.bin", payload, mime_type="application/x-data")
    media = sent["message"]["media"]
    assert media["mime_type"] == "application/x-data" and media["file_size"] == 256
    _, file = await api("getFile", file_id=media["file_id"])
    info = await client.file_info(media["file_id"])
    assert info["file_path"] == file["result"]["file_path"]
    assert base64.b64encode(await client.file_content(media["file_id"])) == base64.b64encode(
        payload
    )
