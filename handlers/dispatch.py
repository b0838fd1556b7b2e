"""Handling one update: one transaction from the update id to the queued replies.

The conversation state, every row a flow writes, the outbox rows for replies and
notifications and the processed update id commit together or not at all, so a
crash at any point means the update is redelivered and handled as if for the
first time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import router
from handlers.context import PRIORITY_REPLY, BotInfo, Context, FlowState
from handlers.council_policy import CouncilPolicy
from handlers.events import CallbackAnswer, Incoming, Outcome, OutMessage, family_of
from handlers.i18n import Catalogue, Translator
from handlers.language import reply_language
from handlers.team_policy import TeamPolicy
from storage.instances import instance_name
from storage.models import OutboxMessage, Person
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

#: How long the instance that handled an update keeps its replies to itself.
REPLY_LEASE = timedelta(seconds=15)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Dispatcher:
    """Turns neutral updates into committed state and queued messages."""

    sessionmaker: async_sessionmaker[AsyncSession]
    catalogue: Catalogue
    bot: BotInfo
    clock: Callable[[], datetime] = utc_now
    # Replies are leased to this bot instance, which sends them straight after the
    # commit; if it cannot (a crash), any instance's drainer takes them after the lease.
    instance: str = field(default_factory=instance_name)
    reply_lease: timedelta = REPLY_LEASE
    council: CouncilPolicy = field(default_factory=CouncilPolicy)
    team: TeamPolicy = field(default_factory=TeamPolicy)

    async def handle(self, incoming: Incoming) -> Outcome:
        async with UnitOfWork(self.sessionmaker) as uow:
            # Another instance may hold an earlier update of this chat (a webhook
            # redelivered while the first try still runs): wait for it to finish.
            await uow.lock_chat(incoming.chat.key)
            now = self.clock()
            if not await uow.updates.claim(incoming.channel, incoming.update_id, now):
                log.info("update %s:%s already handled", incoming.channel, incoming.update_id)
                return Outcome(duplicate=True)
            if incoming.sender.is_bot:
                await uow.commit()
                return Outcome()
            sender = incoming.sender
            private = incoming.chat.kind == "private"
            # In a group each member has a conversation of their own with the bot.
            key = incoming.chat.key if private else f"{incoming.chat.key}:{sender.external_id}"
            person, saved = await uow.people.resolve(
                channel=sender.channel,
                external_id=sender.external_id,
                display_name=sender.display_name,
                platform_language=sender.language_code,
                private_chat_id=incoming.chat.external_id if private else None,
                now=now,
                conversation_key=key,
                # A bot may write to those who started it: a group says nothing of that.
                route=incoming.channel if private else None,
            )
            # The saved data was read as a fresh copy: the flows may change it in place.
            state = FlowState(saved.flow, saved.step, saved.data) if saved else FlowState()
            lang = reply_language(
                chosen=person.language,
                telegram_language_code=person.platform_language,
                text=incoming.text,
            )
            ctx = Context(
                uow=uow,
                incoming=incoming,
                person=person,
                state=state,
                catalogue=self.catalogue,
                bot=self.bot,
                now=now,
                lang=lang,
                council=self.council,
                team=self.team,
            )
            await router.route(ctx)
            if saved is not None or state.flow is not None:
                await uow.conversations.save(
                    key,
                    person_id=person.id,
                    flow=state.flow,
                    step=state.step,
                    data=state.data,
                    now=now,
                )
            replies = [
                await uow.outbox.add_row(
                    channel=incoming.channel,
                    chat_id=incoming.chat.external_id,
                    payload=message.to_json(),
                    priority=PRIORITY_REPLY,
                    now=now,
                    person_id=person.id if private else None,
                    claimed_by=self.instance,
                    claimed_until=now + self.reply_lease,
                )
                for message in ctx.replies
            ]
            await uow.commit()
            log.info(
                "update %s:%s handled: flow=%s step=%s replies=%d",
                incoming.channel,
                incoming.update_id,
                state.flow,
                state.step,
                len(ctx.replies),
            )
            return Outcome(
                outbox_ids=[row.id for row in replies],
                replies=replies,
                callback_answer=ctx.callback_answer,
                notifications=ctx.notifications,
            )

    async def set_aside(self, incoming: Incoming) -> Outcome:
        """Record an update that kept failing as handled, and apologise to its sender."""
        async with UnitOfWork(self.sessionmaker) as uow:
            await uow.lock_chat(incoming.chat.key)
            now = self.clock()
            if not await uow.updates.claim(incoming.channel, incoming.update_id, now):
                return Outcome(duplicate=True)
            lang = reply_language(
                chosen=None, telegram_language_code=incoming.sender.language_code, text=None
            )
            text = self.catalogue.for_lang(lang)("common.error")
            row = await uow.outbox.add_row(
                channel=incoming.channel,
                chat_id=incoming.chat.external_id,
                payload=OutMessage(text=text).to_json(),
                priority=PRIORITY_REPLY,
                now=now,
                claimed_by=self.instance,
                claimed_until=now + self.reply_lease,
            )
            await uow.commit()
        log.error(
            "update %s:%s set aside after repeated failures", incoming.channel, incoming.update_id
        )
        answer = CallbackAnswer() if incoming.callback_id else None
        return Outcome(outbox_ids=[row.id], replies=[row], callback_answer=answer)

    async def throttled(self, incoming: Incoming, *, warn: bool) -> Outcome:
        """Record an update from someone sending too fast as handled, without running a flow.

        ``warn``: the first such update of a burst; it queues one polite "slow down" in the
        person's language. The rest are only recorded, so that a redelivery is not handled.
        """
        async with UnitOfWork(self.sessionmaker) as uow:
            await uow.lock_chat(incoming.chat.key)
            now = self.clock()
            if not await uow.updates.claim(incoming.channel, incoming.update_id, now):
                return Outcome(duplicate=True)
            rows = []
            if warn and not incoming.sender.is_bot:
                text = (await self._texts_for(uow, incoming, now))("common.slow_down")
                rows.append(await self._reply_row(uow, incoming, incoming.chat.external_id, text))
            await uow.commit()
        log.info(
            "update %s:%s dropped: the sender is too fast%s",
            incoming.channel,
            incoming.update_id,
            " (told to slow down)" if rows else "",
        )
        answer = CallbackAnswer() if incoming.callback_id else None
        return Outcome(outbox_ids=[r.id for r in rows], replies=rows, callback_answer=answer)

    async def answer_late(self, incoming: Incoming, text: str) -> Outcome:
        """Say as a message what a button press's answer said, after the press was answered
        already (handling took long): in the presser's private chat when the press was in a
        group and that chat is known, else where the button was pressed."""
        async with UnitOfWork(self.sessionmaker) as uow:
            where = (incoming.channel, incoming.chat.external_id)
            if incoming.chat.kind != "private":
                person = await self._sender(uow, incoming, self.clock())
                chats = await uow.people.private_chats([person.id])
                family = family_of(incoming.channel)
                # Through the bot the presser wrote to last, maybe not the group's.
                where = next(((ch, c) for _, ch, c in chats if family_of(ch) == family), where)
            row = await self._reply_row(uow, incoming, where[1], text, channel=where[0])
            await uow.commit()
        return Outcome(outbox_ids=[row.id], replies=[row])

    async def _sender(self, uow: UnitOfWork, incoming: Incoming, now: datetime) -> Person:
        """The person who sent ``incoming`` (created on first contact), without their flow."""
        sender = incoming.sender
        person, _ = await uow.people.resolve(
            channel=sender.channel,
            external_id=sender.external_id,
            display_name=sender.display_name,
            platform_language=sender.language_code,
            private_chat_id=incoming.chat.external_id if incoming.chat.kind == "private" else None,
            now=now,
            conversation_key=incoming.chat.key,
            route=incoming.channel if incoming.chat.kind == "private" else None,
        )
        return person

    async def _texts_for(self, uow: UnitOfWork, incoming: Incoming, now: datetime) -> Translator:
        person = await self._sender(uow, incoming, now)
        lang = reply_language(
            chosen=person.language,
            telegram_language_code=person.platform_language,
            text=incoming.text,
        )
        return self.catalogue.for_lang(lang)

    async def _reply_row(
        self,
        uow: UnitOfWork,
        incoming: Incoming,
        chat_id: str,
        text: str,
        *,
        channel: str | None = None,
    ) -> OutboxMessage:
        now = self.clock()
        return await uow.outbox.add_row(
            channel=channel or incoming.channel,
            chat_id=chat_id,
            payload=OutMessage(text=text).to_json(),
            priority=PRIORITY_REPLY,
            now=now,
            claimed_by=self.instance,
            claimed_until=now + self.reply_lease,
        )
