"""Groups: adding the bot with a startgroup link, privacy mode, removal."""

from __future__ import annotations

from typing import Any

import pytest

from standins.telegram import StandinClient, StandinError
from tests.standin.conftest import RawCall

OWNER, MEMBER = 3001, 3002


async def drain(api: RawCall) -> list[dict[str, Any]]:
    """Every pending update, confirmed."""
    _, body = await api("getUpdates")
    found: list[dict[str, Any]] = body["result"]
    if found:
        await api("getUpdates", offset=found[-1]["update_id"] + 1)
    return found


@pytest.fixture
async def group_id(client: StandinClient, api: RawCall) -> int:
    await api("getMe")
    group = await client.create_group("Tổ hỗ trợ sáng kiến", [OWNER, MEMBER])
    await client.startgroup(OWNER, group["id"], "team-7")
    await drain(api)
    return int(group["id"])


async def test_startgroup_link_adds_the_bot_like_telegram(
    api: RawCall, client: StandinClient
) -> None:
    await api("getMe")
    group = await client.create_group("Nhóm CĐCS", [OWNER, MEMBER])
    result = await client.startgroup(OWNER, group["id"], "unit-12")
    assert len(result["updates"]) == 3
    member_change, joined, command = await drain(api)

    change = member_change["my_chat_member"]
    assert change["from"]["id"] == OWNER
    assert change["old_chat_member"]["status"] == "left"
    assert change["new_chat_member"]["status"] == "member"
    assert change["new_chat_member"]["user"]["username"] == "sangkien_bot"

    assert joined["message"]["new_chat_members"][0]["is_bot"] is True

    message = command["message"]
    assert message["text"] == "/start@sangkien_bot unit-12"
    assert message["from"]["id"] == OWNER
    assert message["chat"] == {"id": group["id"], "type": "group", "title": "Nhóm CĐCS"}
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 19}]


async def test_privacy_mode_lets_through_only_what_concerns_the_bot(
    api: RawCall, client: StandinClient, group_id: int
) -> None:
    async def delivered(text: str, reply_to: int | None = None) -> bool:
        sent = await client.send_text(MEMBER, text, chat_id=group_id, reply_to=reply_to)
        return sent["update_id"] is not None

    assert not await delivered("chào cả nhà")
    assert await delivered("/progress")
    assert await delivered("/progress@sangkien_bot")
    assert not await delivered("/progress@other_bot")
    assert await delivered("hỏi @sangkien_bot một chút")
    _, bot_message = await api("sendMessage", chat_id=group_id, text="Bot đây")
    assert await delivered("trả lời bot", reply_to=bot_message["result"]["message_id"])
    user_message = (await client.send_text(OWNER, "tin của chủ nhóm", chat_id=group_id))["message"]
    assert not await delivered("trả lời người", reply_to=user_message["message_id"])

    await client.update_group(group_id, privacy_mode=False)
    assert await delivered("giờ bot thấy hết")


async def test_an_admin_bot_sees_everything(
    client: StandinClient, group_id: int, api: RawCall
) -> None:
    await client.set_bot_status(group_id, OWNER, "administrator")
    [promotion] = await drain(api)
    assert promotion["my_chat_member"]["new_chat_member"]["status"] == "administrator"
    assert promotion["my_chat_member"]["new_chat_member"]["can_delete_messages"] is True
    sent = await client.send_text(MEMBER, "tin thường", chat_id=group_id)
    assert sent["update_id"] is not None


async def test_joining_members_and_removing_the_bot(
    api: RawCall, client: StandinClient, group_id: int
) -> None:
    await client.set_member(group_id, 3003, "member")
    [joined] = await drain(api)
    assert joined["message"]["new_chat_members"][0]["id"] == 3003

    await client.remove_bot(group_id, OWNER)
    [removed] = await drain(api)
    assert removed["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    status, body = await api("sendMessage", chat_id=group_id, text="còn đây không?")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot was kicked from the group chat",
    )
    assert (await client.send_text(OWNER, "/start", chat_id=group_id))["update_id"] is None


async def test_the_bot_can_leave(api: RawCall, group_id: int) -> None:
    assert (await api("leaveChat", chat_id=group_id))[0] == 200
    [left] = await drain(api)
    assert left["my_chat_member"]["new_chat_member"]["status"] == "left"
    assert (await api("getChat", chat_id=group_id))[1]["description"] == (
        "Forbidden: bot is not a member of the group chat"
    )


async def test_control_refuses_what_telegram_would_not_allow(
    client: StandinClient, group_id: int
) -> None:
    with pytest.raises(StandinError, match="not a member"):
        await client.send_text(9999, "tôi không ở trong nhóm", chat_id=group_id)
    with pytest.raises(StandinError, match="start payload"):
        await client.start(OWNER, "có dấu cách")
    with pytest.raises(StandinError, match="already exists"):
        await client.create_group("lại", [OWNER], chat_id=group_id)
