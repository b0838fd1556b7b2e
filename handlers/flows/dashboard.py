"""/dashboard: a personal sign-in link to the dashboard, and its Mini App buttons.

The dashboard (docs/DASHBOARD.md) is for officials and support teams. In a private
chat ``/dashboard`` makes a one-time sign-in link (a 256-bit token; only its SHA-256
is stored) that opens the page in any browser, Zalo's and a desk's included; on
Telegram the answer also carries a button that opens the page as a Mini App.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from handlers import menus
from handlers.context import Context
from handlers.events import Button, family_of
from handlers.safe_html import Html, escape
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

#: The roles the dashboard serves.
ROLES = (menus.OFFICIAL, menus.SUPPORT)
TOKEN_BYTES = 32  # 256 bits
SIGN_IN_PATH = "sign-in?t="


def token_hash(token: str) -> bytes:
    """What is stored of a sign-in or session token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).digest()


async def create_sign_in(uow: UnitOfWork, person_id: int, *, now: datetime, minutes: int) -> str:
    """A new one-time sign-in token for the person, stored hashed; the token itself."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + timedelta(minutes=minutes)
    await uow.web.add_sign_in(token_hash(token), person_id, now=now, expires_at=expires_at)
    return token


def sign_in_link(dashboard_url: str, token: str) -> str:
    """``<web.base_url>/app/sign-in?t=<token>``; the token is URL-safe as it is."""
    return dashboard_url + SIGN_IN_PATH + token


def app_buttons(ctx: Context) -> list[list[Button]]:
    """An "Open the dashboard" Mini App button, in a private Telegram chat of a bot that
    serves the dashboard over https (Telegram allows Mini App buttons nowhere else)."""
    url = ctx.bot.mini_app_url
    if not url or ctx.chat.kind != "private" or family_of(ctx.incoming.channel) != "telegram":
        return []
    return [[Button(ctx.t("dashboard.open"), web_app=url)]]


async def dashboard_command(ctx: Context) -> None:
    if not ctx.bot.dashboard_url:
        ctx.reply(ctx.t("dashboard.unavailable"))
        return
    if ctx.chat.kind != "private":
        ctx.reply(ctx.t("dashboard.private_only", bot=ctx.bot_name))
        return
    roles = await menus.roles_of(ctx.uow, ctx.person)
    if not any(role in roles for role in ROLES):
        ctx.reply(ctx.t("dashboard.not_for_you"))
        return
    minutes = ctx.bot.sign_in_minutes
    token = await create_sign_in(ctx.uow, ctx.person.id, now=ctx.now, minutes=minutes)
    link = sign_in_link(ctx.bot.dashboard_url, token)
    log.info("dashboard sign-in link made for person %s", ctx.person.id)
    anchor = Html(f'<a href="{escape(link)}">{escape(link)}</a>')
    ctx.reply(ctx.t("dashboard.link", link=anchor, minutes=minutes), app_buttons(ctx))
