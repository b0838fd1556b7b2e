"""Who is asking the dashboard (docs/DASHBOARD.md, Credentials).

Two credentials: a Telegram Mini App's signed launch data (``Authorization: tma
<initData>``, checked on every request exactly as Telegram documents it), or the
``sk_session`` cookie of a browser that redeemed a one-time ``/dashboard`` link. Only
SHA-256 hashes of tokens reach the database; nothing here logs a token, initData or
a name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.dashboard import create_sign_in, token_hash
from handlers.language import reply_language
from storage.uow import UnitOfWork

__all__ = ["Auth", "Credential", "Unauthorized", "Unknown", "Visitor", "create_sign_in"]

SESSION_COOKIE = "sk_session"
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "sangkien"
TMA_SCHEME = "tma "
TELEGRAM = "telegram"
# Telegram's clock and ours may differ a little; more than this ahead is forged.
FUTURE_SKEW = timedelta(minutes=1)
SESSION_BYTES = 32  # 256 bits


class Unauthorized(Exception):
    """No credential, or a forged, expired or unknown one: HTTP 401."""


class Unknown(Exception):
    """Genuine initData of a Telegram user the bot does not know: HTTP 403 (signing in
    again would not help; the person has no rights here)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request carries, checked as far as it can be without the database.

    ``key``: whom the request's rate is counted against (a Telegram user, a session).
    """

    key: str
    telegram_user: int | None = None
    session_hash: bytes | None = None

    @property
    def cookie(self) -> bool:
        return self.session_hash is not None


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person and the language their answers are in."""

    person_id: int
    lang: str


def telegram_user_of(init_data: str, bot_token: str, *, now: datetime, max_age: timedelta) -> int:
    """The Telegram user id in valid ``initData``; raises :class:`Unauthorized`.

    secret = HMAC-SHA-256(key="WebAppData", bot token); the hash is the hex HMAC-SHA-256
    (secret, every field but ``hash``, sorted by key, as ``key=value`` lines).
    """
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise Unauthorized from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:  # one value per field, or the check would read another
            raise Unauthorized
        fields[key] = value
    received = fields.pop("hash", "")
    if not received or not bot_token:
        raise Unauthorized
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise Unauthorized
    try:
        signed_at = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        user_id = user["id"]
    except (KeyError, ValueError, TypeError, OverflowError, OSError):
        raise Unauthorized from None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise Unauthorized
    if signed_at > now + FUTURE_SKEW or now - signed_at > max_age:
        raise Unauthorized
    return user_id


class Auth:
    """Checks credentials and turns sign-in links into sessions."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        reader: async_sessionmaker[AsyncSession],
        bot_token: str,
        other_bot_tokens: Sequence[str] = (),
        init_data_max_age: timedelta = timedelta(minutes=60),
        session_lifetime: timedelta = timedelta(hours=8),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessionmaker = sessionmaker  # redeeming links and making sessions: writes
        self.reader = reader  # who a credential belongs to: reads
        # The main bot's token and the deployment's further bots' (telegram.bots): a Mini
        # App opened from any of them is signed with that bot's token. Telegram's user
        # ids are the same on all.
        self.bot_tokens = (bot_token, *other_bot_tokens)
        self.init_data_max_age = init_data_max_age
        self.session_lifetime = session_lifetime
        self.clock = clock

    def credential(self, authorization: str | None, cookie: str | None) -> Credential:
        """The request's credential, checked without the database (the Mini App's
        signature and freshness); raises :class:`Unauthorized`."""
        if authorization is not None:
            if not authorization.startswith(TMA_SCHEME):
                raise Unauthorized
            init_data = authorization.removeprefix(TMA_SCHEME)
            for token in self.bot_tokens:
                try:
                    user = telegram_user_of(
                        init_data, token, now=self.clock(), max_age=self.init_data_max_age
                    )
                except Unauthorized:
                    continue
                return Credential(f"tg:{user}", telegram_user=user)
            raise Unauthorized
        if cookie:
            hashed = token_hash(cookie)
            return Credential(f"s:{hashed.hex()[:32]}", session_hash=hashed)
        raise Unauthorized

    async def visitor(self, credential: Credential) -> Visitor:
        """Whose credential it is; raises :class:`Unauthorized` (an unknown or expired
        session) or :class:`Unknown` (a Telegram user the bot does not know)."""
        async with UnitOfWork(self.reader) as uow:
            if credential.telegram_user is not None:
                # A Telegram user's private chat with the bot has the user's id.
                person = await uow.people.by_private_chat(TELEGRAM, str(credential.telegram_user))
                if person is None:
                    raise Unknown
            else:
                assert credential.session_hash is not None
                person_id = await uow.web.session_person(credential.session_hash, now=self.clock())
                person = await uow.people.get(person_id) if person_id is not None else None
                if person is None:
                    raise Unauthorized
            lang = reply_language(
                chosen=person.language, telegram_language_code=person.platform_language, text=None
            )
            return Visitor(person.id, lang)

    async def create_sign_in(self, person_id: int, *, minutes: int) -> str:
        """A one-time sign-in token for the person (the try-it-out mode makes one)."""
        async with UnitOfWork(self.sessionmaker) as uow:
            token = await create_sign_in(uow, person_id, now=self.clock(), minutes=minutes)
            await uow.commit()
        return token

    async def redeem(self, token: str) -> str:
        """Use a sign-in link once; a new session's token. Raises :class:`Unauthorized`
        for a used, expired or unknown link (of two redemptions at once, one wins)."""
        if not token:
            raise Unauthorized
        now = self.clock()
        async with UnitOfWork(self.sessionmaker) as uow:
            person_id = await uow.web.redeem_sign_in(token_hash(token), now=now)
            if person_id is None:
                raise Unauthorized
            session = secrets.token_urlsafe(SESSION_BYTES)
            expires_at = now + self.session_lifetime
            hashed = token_hash(session)
            await uow.web.add_session(hashed, person_id, now=now, expires_at=expires_at)
            await uow.commit()
        return session
