"""Who is signed in: name, language, roles, the views they have, the page's texts."""

from __future__ import annotations

from handlers.dashboard.base import JSON, Deps
from handlers.dashboard.reading import OFFICIAL, SUPPORT, reading

WEB_TEXTS = "web."


async def me(deps: Deps, person_id: int) -> JSON:
    """``views``: tree, ideas and export for an official role, queue for a support role;
    someone with neither is refused (Denied)."""
    async with reading(deps, person_id) as r:
        roles = await r.uow.roles.roles_of(person_id)
        person, lang = r.person, r.t.lang
    units: dict[str, list[JSON]] = {OFFICIAL: [], SUPPORT: []}
    for role, unit in roles:  # highest unit first
        if role.role in units:
            units[role.role].append({"id": unit.id, "name": unit.name})
    official, support = bool(units[OFFICIAL]), bool(units[SUPPORT])
    views = [
        view for view, has in (("tree", official), ("ideas", official), ("queue", support)) if has
    ]
    if official:
        views.append("export")
    return {
        "person_id": person.id,
        "name": person.display_name,
        "lang": lang,
        "views": views,
        "units": units,
        "texts": deps.catalogue.templates(lang, WEB_TEXTS),
    }
