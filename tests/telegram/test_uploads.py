"""Files the bot made (progress reports): both adapters upload them the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.runtime.errors import PermanentSendError
from handlers.events import AttachmentKind, Button, OutMessage, Upload
from tests.telegram.fakeapi import GET_UPDATES_WARNING, KINDS, FakeBotApi, Running

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings(GET_UPDATES_WARNING),
]


async def _upload_all(kind: str, api: FakeBotApi, tmp_path: Path) -> list[str]:
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG" + bytes(96))
    sheet = tmp_path / "report.xlsx"
    sheet.write_bytes(b"PK" + bytes(198))
    messages = [
        OutMessage(
            text="<b>Tiến độ</b> tháng 11",
            upload=Upload(AttachmentKind.PHOTO, "tien-do.png", "image/png", str(chart)),
            buttons=((Button("Chi tiết", "p:detail"),),),
        ),
        OutMessage(
            text="",
            upload=Upload(
                AttachmentKind.DOCUMENT,
                "bao-cao.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                str(sheet),
            ),
            edit_message_id="9",  # an upload is always a new message
        ),
    ]
    async with Running(kind, api) as running:
        return [await running.adapter.send("-100200", message) for message in messages]


async def test_uploads_are_the_same_calls(fake_api: FakeBotApi, tmp_path: Path) -> None:
    calls: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for kind in KINDS:
        fake_api.reset()
        sent = await _upload_all(kind, fake_api, tmp_path)
        assert sent == ["501", "502"]
        calls[kind] = [c for c in fake_api.calls if c[0] != "getMe"]
    assert calls["ptb"] == calls["aiogram"]
    (photo_method, photo), (doc_method, doc) = calls["ptb"]
    assert (photo_method, doc_method) == ("sendPhoto", "sendDocument")
    assert photo["photo"] == "<file tien-do.png: 100 bytes>"
    assert photo["caption"] == "<b>Tiến độ</b> tháng 11" and photo["parse_mode"] == "HTML"
    assert photo["reply_markup"] == {
        "inline_keyboard": [[{"text": "Chi tiết", "callback_data": "p:detail"}]]
    }
    assert doc["document"] == "<file bao-cao.xlsx: 200 bytes>"
    assert "caption" not in doc


@pytest.mark.parametrize("kind", KINDS)
async def test_a_missing_upload_is_permanent(
    kind: str, fake_api: FakeBotApi, tmp_path: Path
) -> None:
    gone = OutMessage(
        text="x", upload=Upload(AttachmentKind.PHOTO, "a.png", "image/png", str(tmp_path / "no"))
    )
    async with Running(kind, fake_api) as running:
        with pytest.raises(PermanentSendError) as caught:
            await running.adapter.send("1001", gone)
    assert (caught.value.reason, caught.value.description) == (
        "upload_missing",
        "FileNotFoundError",
    )
    assert fake_api.calls_to("sendPhoto") == []
