"""Calls Telegram refuses, refused with Telegram's status codes and exact descriptions."""

from __future__ import annotations

import aiohttp
import pytest

from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinServer
from standins.telegram.errors import MESSAGE_NOT_MODIFIED
from tests.standin.conftest import RawCall

pytestmark = pytest.mark.usefixtures("started_user")
USER = 1001


def bad(description: str) -> dict[str, object]:
    return {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


async def test_malformed_token_is_unauthorized(api: RawCall) -> None:
    assert await api("getMe", token="12345") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    other_bot = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
    assert (await api("getMe", token=other_bot))[0] == 401


async def test_unknown_method_is_not_found_but_every_listed_method_exists(api: RawCall) -> None:
    assert await api("sendTelepathy", chat_id=USER) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = await api("sendDice", chat_id=USER)
    assert status == 400
    assert body["description"] == (
        "Bad Request: method sendDice is not implemented by the Telegram stand-in"
    )
    assert (await api("SENDMESSAGE", chat_id=USER, text="case-insensitive"))[0] == 200


@pytest.mark.parametrize(
    ("method", "params", "description"),
    [
        ("sendMessage", {"text": "hi"}, "chat_id is empty"),
        ("sendMessage", {"chat_id": USER}, "message text is empty"),
        ("sendMessage", {"chat_id": USER, "text": ""}, "message text is empty"),
        (
            "sendMessage",
            {"chat_id": USER, "text": "<b> \n</b>", "parse_mode": "HTML"},
            "message text is empty",
        ),
        ("sendMessage", {"chat_id": 424242, "text": "hi"}, "chat not found"),
        ("sendMessage", {"chat_id": "@nobody", "text": "hi"}, "chat not found"),
        ("sendPhoto", {"chat_id": USER}, "there is no photo in the request"),
        (
            "sendPhoto",
            {"chat_id": USER, "photo": "not-a-file-id"},
            "wrong file identifier/HTTP URL specified",
        ),
        ("editMessageText", {"text": "x"}, "message identifier is not specified"),
        (
            "editMessageText",
            {"chat_id": USER, "message_id": 999, "text": "x"},
            "message to edit not found",
        ),
        ("deleteMessage", {"chat_id": USER, "message_id": 999}, "message to delete not found"),
        (
            "answerCallbackQuery",
            {"callback_query_id": "12345"},
            "query is too old and response timeout expired or query ID is invalid",
        ),
        (
            "sendChatAction",
            {"chat_id": USER, "action": "dancing"},
            "wrong parameter action in request",
        ),
        ("getChatMember", {"chat_id": USER, "user_id": 5}, "user not found"),
        ("getFile", {"file_id": "nope"}, "invalid file_id"),
        (
            "deleteMessage",
            {"chat_id": USER, "message_id": "two"},
            'parameter "message_id" must be of type Integer',
        ),
        (
            "sendMessage",
            {"chat_id": USER, "text": "x", "reply_markup": "{oops"},
            "can't parse reply keyboard markup JSON object",
        ),
        (
            "sendMessage",
            {"chat_id": USER, "text": "x", "parse_mode": "BBCode"},
            "unsupported parse_mode",
        ),
    ],
)
async def test_parameter_errors(
    api: RawCall, method: str, params: dict[str, object], description: str
) -> None:
    assert await api(method, **params) == (400, bad(description))


async def test_text_length_is_counted_in_utf16_after_parsing(api: RawCall) -> None:
    emoji_text = "💡" * 2048  # 2048 characters, 4096 UTF-16 code units: the limit exactly
    assert (await api("sendMessage", chat_id=USER, text=emoji_text))[0] == 200
    assert await api("sendMessage", chat_id=USER, text=emoji_text + "!") == (
        400,
        bad("message is too long"),
    )
    markup_heavy = "<b>" + "a" * 4096 + "</b>"  # the tags do not count
    assert (await api("sendMessage", chat_id=USER, text=markup_heavy, parse_mode="HTML"))[0] == 200


async def test_caption_limit(api: RawCall) -> None:
    url = "https://example.org/p.jpg"
    assert (await api("sendPhoto", chat_id=USER, photo=url, caption="c" * 1024))[0] == 200
    assert await api("sendPhoto", chat_id=USER, photo=url, caption="c" * 1025) == (
        400,
        bad("message caption is too long"),
    )


async def test_bad_html_is_refused_with_the_parser_message(api: RawCall) -> None:
    # The offset counts UTF-8 bytes: "Đề xuất " is 8 characters but 13 bytes.
    status, body = await api("sendMessage", chat_id=USER, text="Đề xuất <foo>", parse_mode="HTML")
    assert (status, body["description"]) == (
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 13',
    )
    status, body = await api("sendMessage", chat_id=USER, text="<b>x", parse_mode="html")
    assert body["description"] == (
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag b"
    )
    unescaped = "Điểm < 5 cần xem lại"
    status, body = await api("sendMessage", chat_id=USER, text=unescaped, parse_mode="HTML")
    assert status == 400 and "Unsupported start tag" in body["description"]


async def test_inline_keyboard_checks(api: RawCall) -> None:
    def keyboard(**button: object) -> dict[str, object]:
        return {"inline_keyboard": [[{"text": "Nút", **button}]]}

    ok = await api(
        "sendMessage", chat_id=USER, text="x", reply_markup=keyboard(callback_data="d" * 64)
    )
    assert ok[0] == 200
    assert await api(
        "sendMessage", chat_id=USER, text="x", reply_markup=keyboard(callback_data="d" * 65)
    ) == (400, bad("BUTTON_DATA_INVALID"))
    # 22 Vietnamese letters of three bytes each are 66 bytes: too long although 22 characters.
    assert await api(
        "sendMessage", chat_id=USER, text="x", reply_markup=keyboard(callback_data="ệ" * 22)
    ) == (400, bad("BUTTON_DATA_INVALID"))
    _, body = await api("sendMessage", chat_id=USER, text="x", reply_markup=keyboard())
    assert body["description"].startswith(
        "Bad Request: can't parse InlineKeyboardButton: Text buttons are not allowed"
    )
    assert await api(
        "sendMessage",
        chat_id=USER,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "", "callback_data": "a"}]]},
    ) == (400, bad("BUTTON_TEXT_INVALID"))


async def test_form_bodies_are_read_like_the_libraries_send_them(api: RawCall) -> None:
    status, body = await api(
        "sendMessage",
        as_form=True,
        chat_id=str(USER),
        text="<b>form</b>",
        parse_mode="HTML",
        disable_notification="true",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    assert status == 200
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]


async def test_get_requests_with_a_query_string_work_too(
    server: StandinServer, http: aiohttp.ClientSession
) -> None:
    url = f"{server.base_url}/bot{EXAMPLE_TOKEN}/sendMessage"
    async with http.get(url, params={"chat_id": str(USER), "text": "qua GET"}) as response:
        body = await response.json()
    assert response.status == 200 and body["result"]["text"] == "qua GET"


async def test_identical_edit_is_not_modified(api: RawCall, client: StandinClient) -> None:
    _, sent = await api("sendMessage", chat_id=USER, text="same")
    message_id = sent["result"]["message_id"]
    assert await api("editMessageText", chat_id=USER, message_id=message_id, text="same") == (
        400,
        bad(MESSAGE_NOT_MODIFIED),
    )
    user_message = (await client.send_text(USER, "mine"))["message"]["message_id"]
    assert await api("editMessageText", chat_id=USER, message_id=user_message, text="changed") == (
        400,
        bad("message can't be edited"),
    )


async def test_blocked_user_and_unreachable_groups(api: RawCall, client: StandinClient) -> None:
    await client.set_blocked(USER)
    assert await api("sendMessage", chat_id=USER, text="hi") == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    group = await client.create_group("Nhóm", [USER])
    assert (await api("sendMessage", chat_id=group["id"], text="hi"))[1]["description"] == (
        "Forbidden: bot is not a member of the group chat"
    )


async def test_replies_must_point_at_an_existing_message(api: RawCall) -> None:
    missing = {"message_id": 999}
    assert await api("sendMessage", chat_id=USER, text="x", reply_parameters=missing) == (
        400,
        bad("message to be replied not found"),
    )
    lenient = missing | {"allow_sending_without_reply": True}
    assert (await api("sendMessage", chat_id=USER, text="x", reply_parameters=lenient))[0] == 200
    _, sent = await api("sendMessage", chat_id=USER, text="first")
    first = sent["result"]["message_id"]
    _, reply = await api("sendMessage", chat_id=USER, text="x", reply_to_message_id=first)
    assert reply["result"]["reply_to_message"]["message_id"] == first
