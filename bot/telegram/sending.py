"""An :class:`~handlers.events.OutMessage` as the Bot API call that sends it.

Written once against :class:`~bot.telegram.botapi.TgBotApi` and the framework's own
classes (:class:`~bot.telegram.botapi.TgClasses`); what goes wrong is left to the
caller to map (:mod:`bot.telegram.failures`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.runtime.errors import PermanentSendError
from bot.telegram.botapi import TgBotApi, TgClasses
from handlers.events import AttachmentKind, Button, CommandMenu, OutMessage, Upload

PARSE_MODE = "HTML"


async def send(
    api: TgBotApi, classes: TgClasses, chat_id: str, message: OutMessage, *, mini_app: str = ""
) -> str:
    """Send (or edit) ``message``; returns its message id. ``mini_app``: the dashboard's
    https address, which the menu button of a chat whose menu offers it opens."""
    if message.menu is not None:
        return await set_chat_menu(api, classes, chat_id, message.menu, mini_app=mini_app)
    if message.upload is not None:
        return await send_upload(api, classes, chat_id, message, message.upload)
    file = message.file
    no_preview = classes.link_preview_options(is_disabled=True)
    if message.edit_message_id is not None and file is None:
        await api.edit_message_text(
            text=message.text,
            chat_id=chat_id,
            message_id=int(message.edit_message_id),
            parse_mode=PARSE_MODE,
            # an edit keeps (or changes) inline buttons only; it cannot force a reply
            reply_markup=None if message.force_reply else reply_markup(message, classes),
            link_preview_options=no_preview,
        )
        return message.edit_message_id
    if file is None:
        sent = await api.send_message(
            chat_id=chat_id,
            text=message.text,
            parse_mode=PARSE_MODE,
            reply_markup=reply_markup(message, classes),
            link_preview_options=no_preview,
            allow_paid_broadcast=message.paid_broadcast or None,
        )
        return str(sent.message_id)
    # A file is always sent anew, even with edit_message_id: a text can't become one.
    common = _with_file(chat_id, message, classes)
    if file.kind is AttachmentKind.PHOTO:
        sent = await api.send_photo(photo=file.file_id, **common)
    elif file.kind is AttachmentKind.VOICE:
        sent = await api.send_voice(voice=file.file_id, **common)
    elif file.kind is AttachmentKind.AUDIO:
        sent = await api.send_audio(audio=file.file_id, **common)
    elif file.kind is AttachmentKind.VIDEO:
        sent = await api.send_video(video=file.file_id, **common)
    else:
        sent = await api.send_document(document=file.file_id, **common)
    return str(sent.message_id)


async def send_upload(
    api: TgBotApi, classes: TgClasses, chat_id: str, message: OutMessage, upload: Upload
) -> str:
    """A file the bot made (progress reports, issue #4), uploaded as a new message."""
    try:
        data = await asyncio.to_thread(Path(upload.path).read_bytes)
    except OSError as exc:
        raise PermanentSendError("upload_missing", type(exc).__name__) from exc
    file = classes.input_file(data, filename=upload.file_name)
    common = _with_file(chat_id, message, classes)
    if upload.kind is AttachmentKind.PHOTO:
        sent = await api.send_photo(photo=file, **common)
    else:
        sent = await api.send_document(document=file, **common)
    return str(sent.message_id)


def _with_file(chat_id: str, message: OutMessage, classes: TgClasses) -> dict[str, Any]:
    """What every sendPhoto, sendDocument, ... call carries beside its file."""
    return {
        "chat_id": chat_id,
        "caption": message.text or None,
        "parse_mode": PARSE_MODE,
        "reply_markup": reply_markup(message, classes),
        # An announcement with Telegram Stars paid broadcasting (issue #19).
        "allow_paid_broadcast": message.paid_broadcast or None,
    }


async def set_chat_menu(
    api: TgBotApi, classes: TgClasses, chat_id: str, menu: CommandMenu, *, mini_app: str = ""
) -> str:
    """This chat's own command menu (a person's roles), shown whatever their app's
    language; the default menu (set at start) stays for every other chat. Where the bot
    has a Mini App, the chat's menu button opens it for an official or a support member
    and is Telegram's default for everyone else. Not a message: no message id."""
    await api.set_my_commands(
        commands=bot_commands(classes, menu.commands),
        scope=classes.bot_command_scope_chat(chat_id=int(chat_id)),
        language_code=None,
    )
    if mini_app:
        button = (
            classes.menu_button_web_app(
                text=menu.app_label, web_app=classes.web_app_info(url=mini_app)
            )
            if menu.app_label
            else classes.menu_button_default()
        )
        await api.set_chat_menu_button(chat_id=int(chat_id), menu_button=button)
    return ""


def bot_commands(classes: TgClasses, commands: Sequence[tuple[str, str]]) -> list[object]:
    """(name, description) pairs as the framework's BotCommand objects."""
    make = classes.bot_command
    return [make(command=name, description=text) for name, text in commands]


def reply_markup(message: OutMessage, classes: TgClasses) -> object | None:
    """A forced reply wins over buttons; no buttons, no markup."""
    if message.force_reply:
        return classes.force_reply(selective=True)
    if not message.buttons:
        return None
    return classes.inline_keyboard_markup(
        inline_keyboard=[[_inline_button(b, classes) for b in row] for row in message.buttons]
    )


def _inline_button(button: Button, classes: TgClasses) -> object:
    if button.web_app:  # a Mini App (the dashboard); Telegram allows them in private chats
        return classes.inline_keyboard_button(
            text=button.text, web_app=classes.web_app_info(url=button.web_app)
        )
    return classes.inline_keyboard_button(text=button.text, callback_data=button.data)
