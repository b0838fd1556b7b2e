"""Which of the deployment's Telegram bots serves a unit (issue #22, docs/BOTS.md).

A deployment may serve several bot tokens beside the main one (``telegram.bots`` in
config.yaml), for example one per province: each names the unit codes it serves, and a
unit below one of them is served by the same bot (the nearest named unit wins). Invite
links and QR posters carry the username of the bot that serves their unit; everything
else (people, roles, ideas) is shared by all of them.
"""

from __future__ import annotations

from typing import Protocol

from handlers.context import BotInfo
from storage.models import Unit

#: The main bot's route (``telegram.token``); a further bot's is "telegram.<name>".
MAIN_ROUTE = "telegram"


class Ancestry(Protocol):
    async def ancestors(self, unit: Unit) -> list[Unit]: ...


async def serving_route(units: Ancestry, unit_routes: dict[str, str], unit: Unit) -> str:
    """The route of the bot that serves ``unit``: the nearest unit up the tree named in
    ``unit_routes`` (unit code -> route), else the main bot's."""
    if not unit_routes:
        return MAIN_ROUTE
    if unit.code in unit_routes:
        return unit_routes[unit.code]
    for above in await units.ancestors(unit):  # nearest first
        if above.code in unit_routes:
            return unit_routes[above.code]
    return MAIN_ROUTE


async def username_for(units: Ancestry, bot: BotInfo, unit: Unit) -> str:
    """The @username (without the @) of the bot that serves ``unit``."""
    route = await serving_route(units, bot.unit_routes, unit)
    return bot.usernames.get(route, bot.username)
