"""What a flow gets while it handles one update, and how it answers."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.buttons import FlowPress
from handlers.council_policy import CouncilPolicy
from handlers.events import Button, CallbackAnswer, ChatRef, FileRef, Incoming, Keyboard, OutMessage
from handlers.i18n import Catalogue, Translator
from handlers.language import reply_language
from handlers.team_policy import TeamPolicy
from handlers.visibility import TEAMS_ACTIVE_SINCE
from storage.models import Person
from storage.uow import UnitOfWork

# Outbox priorities: the person typing first, then notifications, then bulk digests.
PRIORITY_REPLY = 0
PRIORITY_NOTIFY = 5
PRIORITY_BULK = 9


@dataclass(frozen=True, slots=True)
class BotInfo:
    """Facts about the bot itself the flows need to word their answers."""

    username: str
    # The dashboard's page (docs/DASHBOARD.md), "<web.base_url>/app/"; empty: the bot
    # serves no dashboard (no /dashboard links, no Mini App buttons).
    dashboard_url: str = ""
    # How long a /dashboard sign-in link works (web.sign_in_minutes).
    sign_in_minutes: int = 10
    # Several Telegram bots (issue #22): each route's @username, filled as its channel
    # starts, and the route serving each unit code of ``telegram.bots[].units`` (a unit
    # below one is served by the same bot; handlers.bots).
    usernames: dict[str, str] = field(default_factory=dict)
    unit_routes: dict[str, str] = field(default_factory=dict)

    @property
    def mini_app_url(self) -> str:
        return mini_app_url(self.dashboard_url)


def mini_app_url(dashboard_url: str) -> str:
    """The dashboard as a Telegram Mini App ("" for none): Telegram opens those over
    https only, so a local http address gets sign-in links but no Mini App buttons."""
    return dashboard_url if dashboard_url.startswith("https://") else ""


@dataclass(slots=True)
class FlowState:
    """The chat's current flow, its step and the flow's own data (JSON-safe)."""

    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def start(self, flow: str, step: str, **data: Any) -> None:
        self.flow = flow
        self.step = step
        # A fresh nonce per flow instance makes buttons of an earlier form stale.
        self.data = {"n": secrets.token_hex(3), **data}

    def clear(self) -> None:
        self.flow = None
        self.step = None
        self.data = {}

    @property
    def nonce(self) -> str:
        return str(self.data.get("n", "-"))


@dataclass(kw_only=True)
class Scope:
    """One transaction's worth of work: the unit of work, the texts and the time.

    Scheduled jobs (reminders, digests) work in a bare Scope; handling an update
    works in a :class:`Context`, which adds who is talking and where.
    """

    uow: UnitOfWork
    catalogue: Catalogue
    now: datetime
    notifications: int = 0
    # When queued messages become due; a pass run "as if" at another time
    # (``python -m bot reminders --now``) still sends at the real time.
    queue_time: datetime | None = None
    # The initiative council's criteria and quorum (config.yaml ``council:``).
    council: CouncilPolicy = field(default_factory=CouncilPolicy)
    # The support teams: when one counts as inactive, its invites (config.yaml ``team:``).
    team: TeamPolicy = field(default_factory=TeamPolicy)

    def __post_init__(self) -> None:
        # Every decision of this transaction on who serves a unit uses the same cut-off.
        TEAMS_ACTIVE_SINCE.set(self.team.active_since(self.now))

    @property
    def queue_at(self) -> datetime:
        return self.queue_time or self.now

    def translator_for(self, person: Person) -> Translator:
        return self.catalogue.for_lang(language_of(person))

    async def notify(
        self,
        person_ids: Sequence[int],
        render: Callable[[Translator], OutMessage | Sequence[OutMessage]],
        *,
        idea_id: int | None = None,
        purpose: str | None = None,
        priority: int = PRIORITY_NOTIFY,
    ) -> int:
        """Queue a message to other people, each in their own language; returns how many chats."""
        chats = await self.uow.people.private_chats(person_ids)
        count = 0
        for person_id, channel, chat_id in chats:
            person = await self.uow.people.get(person_id)
            if person is None:
                continue
            rendered = render(self.translator_for(person))
            messages = [rendered] if isinstance(rendered, OutMessage) else list(rendered)
            for message in messages:
                await self.uow.outbox.add(
                    channel=channel,
                    chat_id=chat_id,
                    payload=message.to_json(),
                    priority=priority,
                    now=self.queue_at,
                    person_id=person_id,
                    idea_id=idea_id,
                    purpose=purpose,
                )
            count += 1
        self.notifications += count
        return count


@dataclass(kw_only=True)
class Context(Scope):
    """Handling one update: the scope, plus who sent it, the chat's flow and the answers."""

    incoming: Incoming
    person: Person
    state: FlowState
    bot: BotInfo
    lang: str
    replies: list[OutMessage] = field(default_factory=list)
    callback_answer: CallbackAnswer | None = None

    @property
    def bot_name(self) -> str:
        """The @username (without the @) of the bot this update came through."""
        return self.bot.usernames.get(self.incoming.channel, self.bot.username)

    @property
    def t(self) -> Translator:
        return self.catalogue.for_lang(self.lang)

    @property
    def chat(self) -> ChatRef:
        return self.incoming.chat

    def reply(
        self,
        text: str,
        buttons: Keyboard | Sequence[Sequence[Button]] = (),
        *,
        file: FileRef | None = None,
        force_reply: bool = False,
    ) -> None:
        """Send a new message to the chat the update came from."""
        self.replies.append(
            OutMessage(
                text=text,
                buttons=_keyboard(buttons),
                file=file,
                force_reply=force_reply,
            )
        )

    def show(self, text: str, buttons: Keyboard | Sequence[Sequence[Button]] = ()) -> None:
        """Answer a button press by turning the pressed message into ``text``.

        Outside a button press this sends a new message instead.
        """
        message_id = self.incoming.message_id if self.incoming.button else None
        self.replies.append(
            OutMessage(text=text, buttons=_keyboard(buttons), edit_message_id=message_id)
        )

    def answer(self, text: str = "", *, alert: bool = False) -> None:
        self.callback_answer = CallbackAnswer(text=text, alert=alert)

    def button(self, label: str, step: str, action: str, value: str | int = "") -> Button:
        """A button of the current flow; pressing it later is checked against the flow."""
        press = FlowPress(self.state.flow or "g", self.state.nonce, step, action, str(value))
        return Button(label, press.pack())


def language_of(person: Person) -> str:
    return reply_language(
        chosen=person.language, telegram_language_code=person.platform_language, text=None
    )


def _keyboard(buttons: Keyboard | Sequence[Sequence[Button]]) -> Keyboard:
    return tuple(tuple(row) for row in buttons if row)
