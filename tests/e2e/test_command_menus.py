"""The command menu follows the person's roles, through the real bot and the stand-in
(issue 16, item 11), on both frameworks."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import World
from tests.e2e.harness import Person, link_token, text_of

SUPPORT, OFFICIAL, WORKER = 8101, 8102, 8103
UNIT = "HCM-Q7-CTYMAY"
WORKER_MENU = ["idea", "myideas", "help", "lang", "cancel", "join"]


async def menus(world: World) -> list[dict[str, Any]]:
    menus: list[dict[str, Any]] = (await world.client.commands())["menus"]
    return menus


async def chat_menu(world: World, chat: int) -> list[str] | None:
    """The commands of ``chat``'s own menu, once the bot has set it (None: it has none)."""
    for _ in range(50):
        for menu in await menus(world):
            if menu["scope"] == {"type": "chat", "chat_id": chat}:
                return [c["command"] for c in menu["commands"]]
        await world.client.wait_quiet(0.1)
    return None


async def test_each_role_gets_its_commands_in_its_private_chat(world: World) -> None:
    c = world.client
    for user, name, lang in (
        (SUPPORT, "Anh", "vi"),
        (OFFICIAL, "Cường", "en"),
        (WORKER, "Lan", "vi"),
    ):
        await c.upsert_user(user, name, language_code=lang)

    # At start: the workers' menu for everyone, in Vietnamese and English.
    every = await menus(world)
    defaults = {m["language_code"]: m for m in every if m["scope"]["type"] == "default"}
    assert set(defaults) >= {"", "vi", "en"}
    for menu in defaults.values():
        assert [x["command"] for x in menu["commands"]] == WORKER_MENU

    await Person(c, WORKER).start(link_token(world.invite(UNIT)))
    [joined] = await Person(c, SUPPORT).start(link_token(world.invite(UNIT, "support")))
    assert "tổ hỗ trợ" in text_of(joined)
    await Person(c, OFFICIAL).start(link_token(world.invite("HCM", "official")))

    assert await chat_menu(world, SUPPORT) == [
        *WORKER_MENU,
        "queue",
        "team",
        "announce",
        "dashboard",
    ]
    assert await chat_menu(world, OFFICIAL) == [
        *WORKER_MENU,
        *("progress", "export", "announce", "subscribe", "unsubscribe", "dashboard"),
    ]
    english = next(m for m in await menus(world) if m["scope"].get("chat_id") == OFFICIAL)
    assert {"command": "export", "description": "Export the ideas (Excel)"} in english["commands"]
    assert await chat_menu(world, WORKER) is None  # the default menu is a worker's

    [help_text] = await Person(c, SUPPORT).say("/help")
    assert "/queue" in text_of(help_text)
