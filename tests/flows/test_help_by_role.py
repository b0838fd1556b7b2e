"""/help and the command menu follow the person's roles (issue 16, item 11)."""

from __future__ import annotations

import pytest

from handlers.events import ChatRef, OutMessage
from storage.models import RoleKind, Unit
from tests.flows.harness import Harness, Result
from tests.flows.test_worker_idea import invite, join_by_link

WORKER, ANH, CUONG, DUNG = 1001, 2001, 3001, 4001
WORKER_MENU = ["idea", "myideas", "help", "lang", "cancel", "join"]
SUPPORT_COMMANDS = ["/queue", "/team", "/announce"]
OFFICIAL_COMMANDS = ["/progress", "/export", "/subscribe", "/unsubscribe"]


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


def text_of(result: Result) -> str:
    return "\n".join(r.text for r in result.replies if r.message.menu is None)


def menus_in(result: Result) -> list[OutMessage]:
    return [r.message for r in result.replies if r.message.menu is not None]


def menu_of(message: OutMessage) -> list[str]:
    return [name for name, _ in pairs_of(message)]


def pairs_of(message: OutMessage) -> tuple[tuple[str, str], ...]:
    assert message.menu is not None
    return message.menu.commands


async def test_a_worker_sees_the_workers_help_only(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await h.send(WORKER, "/help")
    text = text_of(r)
    assert "/idea" in text and "/myideas" in text
    for command in SUPPORT_COMMANDS + OFFICIAL_COMMANDS:
        assert command not in text
    assert menus_in(r) == []  # the default menu (the workers') is theirs already


async def test_a_support_member_is_told_of_queue_and_gets_its_menu(
    h: Harness, units: dict[str, Unit]
) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    joined = await h.send(ANH, f"/start {token}")
    [menu] = menus_in(joined)
    assert menu_of(menu) == [*WORKER_MENU, "queue", "team", "announce", "dashboard"]
    assert ("queue", "Sáng kiến chờ xử lý (tổ hỗ trợ)") in pairs_of(menu)

    text = text_of(await h.send(ANH, "/help"))
    assert "/idea" in text and "/queue" in text and "Tổ hỗ trợ sáng kiến" in text
    for command in OFFICIAL_COMMANDS:
        assert command not in text


async def test_an_official_in_english_sees_every_command_of_their_roles(
    h: Harness, units: dict[str, Unit]
) -> None:
    official = await invite(h, units["HCM"], RoleKind.OFFICIAL)
    support = await invite(h, units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.send(CUONG, f"/start {official}", lang="en")
    joined = await h.send(CUONG, f"/start {support}", lang="en")
    [menu] = menus_in(joined)
    official_menu = [c[1:] for c in OFFICIAL_COMMANDS if c != "/announce"]
    # /announce is both roles' command: once, where the support team's commands put it.
    assert menu_of(menu) == [*WORKER_MENU, "queue", "team", "announce", "dashboard", *official_menu]
    assert ("progress", "Progress (officials)") in pairs_of(menu)

    r = await h.send(CUONG, "/help", lang="en")
    text = text_of(r)
    for command in ["/idea", *SUPPORT_COMMANDS, *OFFICIAL_COMMANDS]:
        assert command in text, command
    assert "Officials" in text and "Initiative support team" in text
    # Someone whose role came before menus followed roles gets theirs with /help.
    assert [menu_of(m) for m in menus_in(r)] == [menu_of(menu)]


async def test_choosing_a_language_sets_the_menu_in_it(h: Harness, units: dict[str, Unit]) -> None:
    token = await invite(h, units["HCM"], RoleKind.OFFICIAL)
    await h.send(CUONG, f"/start {token}")
    r = await h.send(CUONG, "/lang en")
    [menu] = menus_in(r)
    assert ("export", "Export the ideas (Excel)") in pairs_of(menu)


async def test_binding_a_group_sets_the_binders_private_menu_not_the_groups(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, DUNG, units["HCM-Q7-MAY"])  # the bot knows their private chat
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    group = ChatRef("telegram", "-100500", "group", "Tổ hỗ trợ SK")
    r = await h.feed(h.incoming(DUNG, text=f"/start@sangkien_bot {token}", chat=group))
    assert menus_in(r) == []
    [menu] = [m for m in await h.notifications(str(DUNG)) if m.menu is not None]
    assert menu_of(menu) == [*WORKER_MENU, "queue", "team", "announce", "dashboard"]
    assert not [m for m in await h.notifications("-100500") if m.menu is not None]


async def test_a_council_member_is_told_of_council_and_gets_its_menu(
    h: Harness, units: dict[str, Unit]
) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.COUNCIL)
    joined = await h.send(DUNG, f"/start {token}")
    [menu] = menus_in(joined)
    assert menu_of(menu) == [*WORKER_MENU, "council"]
    text = text_of(await h.send(DUNG, "/help"))
    assert "/council" in text and "Hội đồng sáng kiến" in text
    for command in SUPPORT_COMMANDS + OFFICIAL_COMMANDS:
        assert command not in text
    page2 = text_of(await h.send(DUNG, "/help 2"))
    assert "/mute" in page2 and "/unmute" in page2
