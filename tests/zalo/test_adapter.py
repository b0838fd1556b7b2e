"""Receiving from Zalo: fetching, reading replies against the choices shown, photos."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.adapter import ZaloAdapter
from bot.zalo.api import ZaloApi
from bot.zalo.files import ForeignFiles, remember_photo
from bot.zalo.transport import ZaloTransport
from bot.zalo.updates import is_zalo_file
from handlers.events import AttachmentKind, Button, FileRef, Incoming, OutMessage
from handlers.i18n import Catalogue
from standins.zalo import ZaloStandinClient
from storage.uow import UnitOfWork

USER = "f00dfeed0001"
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def test_fetch_numbers_updates_and_never_confirms(
    api: ZaloApi, db: async_sessionmaker[AsyncSession], people: ZaloStandinClient
) -> None:
    adapter = ZaloAdapter(api, db)
    assert await adapter.start(_ignore) == "bot.SangKien"
    await people.send_text(USER, "một")
    await people.send_text("other-user", "hai")
    assert await adapter.fetch(None, 0) == []  # the loop's closing call takes nothing
    assert len((await people.updates())["pending"]) == 2
    [first] = await adapter.fetch(None, 1)
    [second] = await adapter.fetch(first.update_id + 1, 1)
    assert (first.update_id, second.update_id) == (1, 2)
    assert (first.chat_key, second.chat_key) == (f"zalo:{USER}", "zalo:other-user")
    assert await adapter.fetch(None, 0) == []
    await adapter.close()


async def test_a_reply_picks_the_choice_shown_in_that_chat(
    api: ZaloApi,
    db: async_sessionmaker[AsyncSession],
    people: ZaloStandinClient,
    catalogue: Catalogue,
) -> None:
    transport = ZaloTransport(api, db, catalogue)
    adapter = ZaloAdapter(api, db)
    received: list[Incoming] = []

    async def collect(incoming: Incoming) -> None:
        received.append(incoming)

    await adapter.start(collect)
    await people.send_text(USER, "/idea")
    shown = await transport.send(
        USER, OutMessage("Kể sáng kiến", ((Button("Xong", "idea:n:body:done"),),))
    )
    for typed in ("1", "xong", "Lắp quạt"):
        await people.send_text(USER, typed)
    for raw in [u for _ in range(4) for u in await adapter.fetch(None, 1)]:
        await adapter.process(raw)
    command, pick, word, text = received
    assert command.command == "idea"
    assert pick.button == "idea:n:body:done" and pick.message_id == shown
    assert pick.callback_id == USER
    assert word.button == "idea:n:body:done"
    assert text.text == "Lắp quạt" and text.button is None


async def test_a_photos_url_is_kept_under_a_short_id(
    api: ZaloApi, db: async_sessionmaker[AsyncSession], people: ZaloStandinClient
) -> None:
    adapter = ZaloAdapter(api, db)
    sent = await people.send_photo(USER, caption="kệ số 4")
    incoming = await adapter.translate(sent["update"])
    assert incoming is not None
    [photo] = incoming.files
    assert is_zalo_file(photo.file_id) and incoming.text == "kệ số 4"
    async with UnitOfWork(db) as uow:
        row = await uow.channels.file(photo.file_id)
    assert row is not None and row.url == sent["message"]["photo_url"]
    again = await adapter.translate(sent["update"])  # a redelivery: same id, no error
    assert again is not None and again.files == incoming.files
    assert again.update_id == incoming.update_id


async def test_bad_updates_are_skipped(api: ZaloApi, db: async_sessionmaker[AsyncSession]) -> None:
    adapter = ZaloAdapter(api, db)
    assert await adapter.translate({"event_name": "message.text.received"}) is None
    raw = adapter.wrap({"nonsense": True})
    assert raw.chat_key.startswith("zalo:update:")


class Recorder:
    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[OutMessage, bytes | None]] = []

    async def send(self, chat_id: str, message: OutMessage) -> str:
        data = Path(message.upload.path).read_bytes() if message.upload else None  # noqa: ASYNC240
        self.sent.append((message, data))
        return "77"

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        return None

    async def set_commands(self, commands: object, language: str | None) -> None:
        return None


async def test_zalo_photos_reach_telegram_as_uploads(
    api: ZaloApi, db: async_sessionmaker[AsyncSession], people: ZaloStandinClient, tmp_path: Path
) -> None:
    sent = await people.send_photo(USER, caption="x", width=100, height=80)
    url = sent["message"]["photo_url"]
    file_id = await remember_photo(db, url)
    telegram = Recorder()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    wrapped = ForeignFiles(telegram, api, db, directory=scratch)
    photo = FileRef(AttachmentKind.PHOTO, file_id, file_id, None, "image/jpeg", None)
    assert await wrapped.send("-100", OutMessage("Ảnh <b>SK-1</b>", file=photo)) == "77"
    [(message, data)] = telegram.sent
    assert message.file is None and message.upload is not None
    assert message.upload.kind is AttachmentKind.PHOTO and message.text == "Ảnh <b>SK-1</b>"
    assert data == await people.media(url)
    assert list(scratch.iterdir()) == []  # the copy is gone once sent
    plain = OutMessage("Thẻ sáng kiến")
    await wrapped.send("-100", plain)
    telegram_photo = OutMessage("a", file=FileRef(AttachmentKind.PHOTO, "AgAC", None))
    await wrapped.send("-100", telegram_photo)
    assert [m for m, _ in telegram.sent[1:]] == [plain, telegram_photo]


async def test_a_photo_zalo_no_longer_has_is_offered_by_url(
    api: ZaloApi, db: async_sessionmaker[AsyncSession], server_url: str
) -> None:
    url = f"{server_url}/media/gone.jpg"
    file_id = await remember_photo(db, url)
    telegram = Recorder()
    photo = FileRef(AttachmentKind.PHOTO, file_id, file_id, None, "image/jpeg", None)
    await ForeignFiles(telegram, api, db).send("5", OutMessage("x", file=photo))
    [(message, _)] = telegram.sent
    assert message.file is not None and message.file.file_id == url


async def _ignore(incoming: Incoming) -> None:
    return None
