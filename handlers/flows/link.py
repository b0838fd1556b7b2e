"""Linking a person's accounts on two messengers (Telegram and Zalo) with a one-time code.

``/link`` gives a six-digit code, good for ten minutes and one use; sending
``/link CODE`` from the account on the other messenger makes both accounts one
person: the newer person's ideas, roles and unit move to the older one, in the
update's own transaction. Only the code's SHA-256 is stored, and wrong codes are
rationed per person, so codes cannot be guessed one after another.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from handlers.context import PRIORITY_NOTIFY, Context
from handlers.events import OutMessage, family_of
from storage.models import Person

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=30)
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}
PURPOSE = "link_done"


def code_hash(code: str) -> str:
    return hashlib.sha256(f"link:{code}".encode()).hexdigest()


def normalise_code(raw: str) -> str | None:
    """The code as typed ("123 456", "123-456" too), or None if it cannot be one."""
    digits = "".join(ch for ch in raw if not ch.isspace() and ch != "-")
    if len(digits) != CODE_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    return digits


def channel_name(channel: str) -> str:
    family = family_of(channel)
    return CHANNEL_NAMES.get(family, family.capitalize())


async def command(ctx: Context) -> None:
    """``/link``: a new code; ``/link CODE``: attach this account to the code's owner."""
    raw = ctx.incoming.command_args.strip()
    if not raw:
        await issue(ctx)
        return
    await redeem(ctx, raw)


async def issue(ctx: Context) -> None:
    for _ in range(20):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if not await ctx.uow.links.code_in_use(code_hash(code), ctx.now):
            break
    else:  # pragma: no cover - a million codes in use at once
        ctx.reply(ctx.t("common.error"))
        return
    await ctx.uow.links.add_code(
        person_id=ctx.person.id,
        channel=ctx.incoming.channel,
        code_hash=code_hash(code),
        now=ctx.now,
        expires_at=ctx.now + CODE_TTL,
    )
    minutes = int(CODE_TTL.total_seconds() // 60)
    ctx.reply(ctx.t("link.code", code=code, minutes=minutes))


async def redeem(ctx: Context, raw: str) -> None:
    links = ctx.uow.links
    window = int(FAILURE_WINDOW.total_seconds() // 60)
    if await links.failures_since(ctx.person.id, ctx.now - FAILURE_WINDOW) >= MAX_FAILURES:
        ctx.reply(ctx.t("link.too_many", minutes=window))
        return
    code = normalise_code(raw)
    found = await links.usable_code(code_hash(code), ctx.now) if code else None
    if found is None:
        links.record_attempt(ctx.person.id, ctx.now, ok=False)
        ctx.reply(ctx.t("link.bad_code"))
        return
    if found.person_id == ctx.person.id:
        ctx.reply(ctx.t("link.own_code"))
        return
    if family_of(found.channel) == family_of(ctx.incoming.channel):
        # Someone else's code, typed on the messenger it was made on: never a link.
        links.record_attempt(ctx.person.id, ctx.now, ok=False)
        ctx.reply(ctx.t("link.other_app"))
        return
    owner = await ctx.uow.people.get(found.person_id)
    if owner is None:
        ctx.reply(ctx.t("link.bad_code"))
        return
    shared = await links.channels_of(owner.id) & await links.channels_of(ctx.person.id)
    if shared:
        ctx.reply(ctx.t("link.conflict", channel=channel_name(sorted(shared)[0])))
        return
    found.used_at = ctx.now
    links.record_attempt(ctx.person.id, ctx.now, ok=True)
    keep, gone = _older_first(owner, ctx.person)
    # The person of this update is written to again after the flow (its conversation,
    # the reply): if it is the one merged away, its row stays as an empty shell.
    await links.merge(keep, gone, delete_gone=gone.id != ctx.person.id)
    log.info("person %s linked into person %s", gone.id, keep.id)
    ctx.reply(ctx.t("link.done", other=channel_name(found.channel)))
    await _tell_other_accounts(ctx, keep)


def _older_first(a: Person, b: Person) -> tuple[Person, Person]:
    return (a, b) if (a.created_at, a.id) <= (b.created_at, b.id) else (b, a)


async def _tell_other_accounts(ctx: Context, person: Person) -> None:
    """The accounts on the other messengers hear of the link too."""
    here = family_of(ctx.incoming.channel)
    t = ctx.translator_for(person)
    for person_id, channel, chat_id in await ctx.uow.people.private_chats([person.id]):
        if family_of(channel) == here:
            continue
        message = OutMessage(t("link.done", other=channel_name(here)))
        await ctx.uow.outbox.add(
            channel=channel,
            chat_id=chat_id,
            payload=message.to_json(),
            priority=PRIORITY_NOTIFY,
            now=ctx.queue_at,
            person_id=person_id,
            purpose=PURPOSE,
        )
        ctx.notifications += 1
