"""/dashboard and the dashboard's Mini App buttons (issue #20), through the neutral flows.

/dashboard gives an official or a support member a personal one-time sign-in link
(stored only as its hash), refuses everyone else politely, and never sends a link into a
group. On Telegram, in private chats only, /dashboard, /progress and /queue carry a
button that opens the page as a Mini App; Zalo gets the link as text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from bot.zalo.render import render
from handlers.context import BotInfo
from handlers.events import Button, ChatRef, Incoming, OutMessage, Sender
from handlers.flows.dashboard import token_hash
from storage.models import RoleKind, Unit
from storage.progress import add_campaign
from storage.uow import UnitOfWork
from tests.flows.harness import BOT, Harness, Result
from tests.flows.test_progress import submit
from tests.flows.test_worker_idea import invite, join_by_link
from tests.zalo.test_wording import BUTTON_WORDS

OFFICIAL, SUPPORT, WORKER, NOBODY = 5001, 6001, 7001, 8001
PAGE = "https://sk.example.org/app/"
LINK = re.compile(r"https://sk\.example\.org/app/sign-in\?t=([A-Za-z0-9_-]{43})")


@pytest.fixture
def h(harness: Harness) -> Harness:
    harness.dispatcher.bot = BotInfo(BOT, dashboard_url=PAGE, sign_in_minutes=10)
    return harness


async def official(h: Harness, units: dict[str, Unit], user: int = OFFICIAL) -> None:
    await h.send(user, f"/start {await invite(h, units['HCM-Q7'], RoleKind.OFFICIAL)}")


async def support(h: Harness, units: dict[str, Unit], user: int = SUPPORT) -> None:
    await h.send(user, f"/start {await invite(h, units['HCM-Q7-MAY'], RoleKind.SUPPORT)}")


def token_in(text: str) -> str:
    """The sign-in token of the one link in ``text`` (its address and its label)."""
    [token] = set(LINK.findall(text))
    return str(token)


def app_buttons(result: Result) -> list[Button]:
    return [b for r in result.replies for row in r.message.buttons for b in row if b.web_app]


async def redeemed_by(h: Harness, token: str) -> int | None:
    async with UnitOfWork(h.sessionmaker) as uow:
        person = await uow.web.redeem_sign_in(token_hash(token), now=h.now)
        await uow.commit()
    return person


async def person_of(h: Harness, user: int) -> int:
    async with UnitOfWork(h.sessionmaker) as uow:
        person = await uow.people.by_private_chat("telegram", str(user))
    assert person is not None
    return person.id


async def test_an_official_gets_a_one_time_link_and_a_mini_app_button(
    h: Harness, units: dict[str, Unit]
) -> None:
    await official(h, units)
    r = await h.send(OFFICIAL, "/dashboard")
    text = r.last.text
    token = token_in(text)
    assert "một lần" in text and "10 phút" in text and "chuyển tiếp" in text
    assert [b.web_app for b in app_buttons(r)] == [PAGE]
    # The link is the person's own, and works once.
    assert await redeemed_by(h, token) == await person_of(h, OFFICIAL)
    assert await redeemed_by(h, token) is None
    # Each /dashboard makes a new link.
    again = await h.send(OFFICIAL, "/dashboard")
    assert token_in(again.last.text) != token


async def test_a_support_member_gets_a_link_in_english(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, units)
    r = await h.send(SUPPORT, "/dashboard", lang="en")
    token = token_in(r.last.text)
    assert "once" in r.last.text and "do not forward" in r.last.text
    assert await redeemed_by(h, token) == await person_of(h, SUPPORT)


async def test_a_worker_and_someone_without_a_role_are_told_whom_it_is_for(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    for user in (WORKER, NOBODY):
        r = await h.send(user, "/dashboard")
        assert "cán bộ công đoàn" in r.last.text and "tổ hỗ trợ" in r.last.text
        assert not LINK.search(r.last.text) and not app_buttons(r)
    async with UnitOfWork(h.sessionmaker) as uow:  # no link was made for them
        assert await uow.web.prune(now=h.now.replace(year=2030)) == 0


async def test_in_a_group_no_link_is_sent(h: Harness, units: dict[str, Unit]) -> None:
    await official(h, units)
    group = ChatRef("telegram", "-100777", "group", "Tổ hỗ trợ")
    r = await h.feed(h.incoming(OFFICIAL, text=f"/dashboard@{BOT}", chat=group))
    assert "riêng" in r.last.text and f"@{BOT}" in r.last.text
    assert not LINK.search(r.last.text) and not app_buttons(r)
    async with UnitOfWork(h.sessionmaker) as uow:
        assert await uow.web.prune(now=h.now.replace(year=2030)) == 0


async def test_over_http_the_link_comes_without_a_mini_app_button(
    h: Harness, units: dict[str, Unit]
) -> None:
    h.dispatcher.bot = BotInfo(BOT, dashboard_url="http://127.0.0.1:8090/app/")
    await official(h, units)
    r = await h.send(OFFICIAL, "/dashboard")
    assert "http://127.0.0.1:8090/app/sign-in?t=" in r.last.text
    assert not app_buttons(r)  # Telegram opens Mini Apps over https only


async def test_without_a_dashboard_the_command_says_so(h: Harness, units: dict[str, Unit]) -> None:
    h.dispatcher.bot = BotInfo(BOT)
    await official(h, units)
    r = await h.send(OFFICIAL, "/dashboard")
    assert "chưa được bật" in r.last.text and not LINK.search(r.last.text)


def zalo_incoming(h: Harness, user: int, text: str) -> Incoming:
    incoming = h.incoming(user, text=text)
    return replace(
        incoming,
        sender=Sender("zalo", f"z{user}", "Nguyễn Văn An", None),
        chat=ChatRef("zalo", f"z{user}", "private"),
    )


async def test_on_zalo_the_link_is_text_and_speaks_of_no_buttons(
    h: Harness, units: dict[str, Unit]
) -> None:
    token = await invite(h, units["HCM-Q7"], RoleKind.OFFICIAL)
    await h.feed(zalo_incoming(h, OFFICIAL, f"/start {token}"))
    r = await h.feed(zalo_incoming(h, OFFICIAL, "/dashboard"))
    assert not app_buttons(r)
    [part] = render(r.last.message).parts
    assert LINK.search(part) and not BUTTON_WORDS.search(part), part


def test_zalo_leaves_a_mini_app_button_out() -> None:
    message = OutMessage(
        "Tiến độ", ((Button("Xem", "pv:1"),), (Button("Mở bảng điều khiển", web_app=PAGE),))
    )
    rendered = render(message)
    assert rendered.choices == [("Xem", "pv:1")]
    assert "bảng điều khiển" not in rendered.parts[0]


def test_a_mini_app_button_survives_the_outbox() -> None:
    message = OutMessage("x", ((Button("Mở", web_app=PAGE), Button("Xem", "pv:1")),))
    assert OutMessage.from_json(message.to_json()) == message
    with pytest.raises(ValueError):
        Button("Mở", web_app="http://127.0.0.1/app/")  # Telegram opens https only


# ------------------------------------------------------------ /progress and /queue


@pytest.fixture
async def campaign(h: Harness) -> None:
    await add_campaign(
        h.sessionmaker,
        code="2026-P2",
        name="Đợt 2 năm 2026",
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 12, 31),
    )


async def test_progress_carries_the_mini_app_button_in_a_private_telegram_chat_only(
    h: Harness, units: dict[str, Unit], campaign: None
) -> None:
    await official(h, units)
    r = await h.send(OFFICIAL, "/progress")
    assert "Quận 7" in r.last.text
    assert r.last.message.buttons[-1] == (Button("📊 Mở bảng điều khiển", web_app=PAGE),)
    # Drilling down (an edit of the message) keeps it.
    views = [b.data for row in r.last.message.buttons for b in row if b.data.startswith("pg:v")]
    pressed = await h.press(OFFICIAL, views[0], message_id=r.last.message_id)
    assert pressed.last.text != r.last.text
    assert [b.web_app for b in app_buttons(pressed)] == [PAGE]
    # On Zalo: no such button.
    token = await invite(h, units["HCM-Q7"], RoleKind.OFFICIAL)
    await h.feed(zalo_incoming(h, 9001, f"/start {token}"))
    zalo = await h.feed(zalo_incoming(h, 9001, "/progress"))
    assert "Quận 7" in zalo.last.text and not app_buttons(zalo)


async def test_queue_carries_the_mini_app_button_in_private_not_in_the_group(
    h: Harness, units: dict[str, Unit]
) -> None:
    await support(h, units)
    empty = await h.send(SUPPORT, "/queue")
    assert [b.web_app for b in app_buttons(empty)] == [PAGE]
    await submit(h, WORKER, units["HCM-Q7-MAY"], "Lắp cảm biến tắt máy nén khí khi chuyền dừng.")
    r = await h.send(SUPPORT, "/queue")
    assert "SK-" in r.last.text
    assert r.last.message.buttons[-1] == (Button("📊 Mở bảng điều khiển", web_app=PAGE),)
    group = ChatRef("telegram", "-100778", "group", "Tổ hỗ trợ")
    in_group = await h.feed(h.incoming(SUPPORT, text=f"/queue@{BOT}", chat=group))
    assert in_group.replies and not app_buttons(in_group)
