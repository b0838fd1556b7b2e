"""An async client for the stand-in's control API, for tests and the terminal chat.

Every method is one control request (see docs/STANDIN.md); results are the JSON the server
returns. A refused request raises StandinError; a wait that runs out raises StandinTimeout.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from standins.core.client import ControlClient, ControlClientError, JSONDict


class StandinError(ControlClientError):
    """The control API refused a request."""


class StandinTimeout(StandinError):
    """A wait ended before what it waited for happened."""


class StandinClient(ControlClient):
    """health, reset, state, wait_calls, wait_quiet and the faults: see ControlClient."""

    error: ClassVar[type[ControlClientError]] = StandinError
    timeout_error: ClassVar[type[ControlClientError]] = StandinTimeout

    # People and groups --------------------------------------------------------------------

    async def upsert_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> JSONDict:
        fields = {
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "is_premium": is_premium,
        }
        body = {key: value for key, value in fields.items() if value is not None}
        return await self._request("PUT", f"/users/{user_id}", body)

    async def user(self, user_id: int) -> JSONDict:
        return await self._request("GET", f"/users/{user_id}")

    async def set_blocked(self, user_id: int, blocked: bool = True) -> JSONDict:
        return await self._request("POST", f"/users/{user_id}/blocked", {"blocked": blocked})

    async def create_group(
        self,
        title: str,
        members: list[int] | list[JSONDict],
        *,
        chat_id: int | None = None,
        privacy_mode: bool = True,
        type: str = "group",
        username: str | None = None,
    ) -> JSONDict:
        body: JSONDict = {
            "title": title,
            "members": members,
            "privacy_mode": privacy_mode,
            "type": type,
        }
        if chat_id is not None:
            body["id"] = chat_id
        if username is not None:
            body["username"] = username
        return await self._request("POST", "/groups", body)

    async def update_group(self, chat_id: int, **changes: Any) -> JSONDict:
        return await self._request("PATCH", f"/groups/{chat_id}", changes)

    async def set_member(self, chat_id: int, user_id: int, status: str = "member") -> JSONDict:
        return await self._request(
            "PUT", f"/groups/{chat_id}/members/{user_id}", {"status": status}
        )

    async def set_bot_status(self, chat_id: int, by_user_id: int, status: str) -> JSONDict:
        """Add ("member"), promote ("administrator") or remove ("left"/"kicked") the bot."""
        return await self._request(
            "POST", f"/groups/{chat_id}/bot", {"by_user_id": by_user_id, "status": status}
        )

    async def remove_bot(self, chat_id: int, by_user_id: int) -> JSONDict:
        return await self.set_bot_status(chat_id, by_user_id, "kicked")

    # What people send ---------------------------------------------------------------------

    async def start(self, user_id: int, payload: str | None = None) -> JSONDict:
        """``t.me/<bot>?start=PAYLOAD``: the user sends ``/start PAYLOAD`` privately."""
        return await self._request("POST", "/start", {"user_id": user_id, "payload": payload})

    async def startgroup(self, user_id: int, chat_id: int, payload: str | None = None) -> JSONDict:
        """``t.me/<bot>?startgroup=PAYLOAD``: the user adds the bot to a group."""
        return await self._request(
            "POST", "/startgroup", {"user_id": user_id, "chat_id": chat_id, "payload": payload}
        )

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        return await self._send(user_id, chat_id, reply_to, {"text": text})

    async def send_photo(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        caption: str | None = None,
        data: bytes | None = None,
        width: int = 1280,
        height: int = 960,
        image_format: str = "jpeg",
        reply_to: int | None = None,
    ) -> JSONDict:
        photo: JSONDict = {"width": width, "height": height, "format": image_format}
        if data is not None:
            photo = {"base64": base64.b64encode(data).decode()}
        return await self._send(user_id, chat_id, reply_to, {"photo": photo}, caption)

    async def send_document(
        self,
        user_id: int,
        file_name: str,
        data: bytes,
        *,
        mime_type: str | None = None,
        chat_id: int | None = None,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        document: JSONDict = {"file_name": file_name, "base64": base64.b64encode(data).decode()}
        if mime_type is not None:
            document["mime_type"] = mime_type
        return await self._send(user_id, chat_id, reply_to, {"document": document}, caption)

    async def send_voice(
        self,
        user_id: int,
        *,
        duration: int = 3,
        data: bytes | None = None,
        chat_id: int | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        voice: JSONDict = {"duration": duration}
        if data is not None:
            voice["base64"] = base64.b64encode(data).decode()
        return await self._send(user_id, chat_id, None, {"voice": voice}, caption)

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        *,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        contact: JSONDict = {"phone_number": phone_number, "first_name": first_name}
        if last_name is not None:
            contact["last_name"] = last_name
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return await self._send(user_id, chat_id, None, {"contact": contact})

    async def send_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> JSONDict:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send(user_id, chat_id, None, {"location": location})

    async def send_sticker(
        self, user_id: int, emoji: str = "👍", *, chat_id: int | None = None
    ) -> JSONDict:
        return await self._send(user_id, chat_id, None, {"sticker": {"emoji": emoji}})

    async def edit_text(self, user_id: int, chat_id: int, message_id: int, text: str) -> JSONDict:
        body = {"user_id": user_id, "chat_id": chat_id, "message_id": message_id, "text": text}
        return await self._request("POST", "/edits", body)

    async def press(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        *,
        text: str | None = None,
        data: str | None = None,
        forge: bool = False,
    ) -> JSONDict:
        """Press the inline button with this text or callback data; ``forge`` sends any data."""
        body: JSONDict = {"user_id": user_id, "chat_id": chat_id, "message_id": message_id}
        if text is not None:
            body["text"] = text
        if data is not None:
            body["data"] = data
        if forge:
            body["forge"] = True
        return await self._request("POST", "/press", body)

    # What the bot did ---------------------------------------------------------------------

    async def messages(
        self, chat_id: int, *, sender: str = "bot", include_deleted: bool = False
    ) -> list[JSONDict]:
        query = {"sender": sender, "include_deleted": str(include_deleted).lower()}
        result = await self._request("GET", f"/chats/{chat_id}/messages", params=query)
        return list(result["messages"])

    async def message(self, chat_id: int, message_id: int) -> JSONDict:
        return await self._request("GET", f"/chats/{chat_id}/messages/{message_id}")

    async def chat_actions(self, chat_id: int) -> list[JSONDict]:
        return list((await self._request("GET", f"/chats/{chat_id}/actions"))["actions"])

    async def callback_answers(self, callback_query_id: str | None = None) -> list[JSONDict]:
        params = {"callback_query_id": callback_query_id} if callback_query_id else None
        result = await self._request("GET", "/callback-answers", params=params)
        return list(result["answers"])

    async def commands(self) -> JSONDict:
        return await self._request("GET", "/commands")

    async def calls(
        self, method: str | None = None, *, chat_id: int | None = None, since: int = 0
    ) -> list[JSONDict]:
        params: dict[str, str] = {"since": str(since)}
        if method is not None:
            params["method"] = method
        if chat_id is not None:
            params["chat_id"] = str(chat_id)
        return list((await self._request("GET", "/calls", params=params))["calls"])

    async def pending_updates(self) -> list[JSONDict]:
        return list((await self._request("GET", "/updates"))["pending"])

    async def file_info(self, file_id: str) -> JSONDict:
        return await self._request("GET", f"/files/{file_id}")

    async def file_content(self, file_id: str) -> bytes:
        session = self._client_session()
        async with session.get(f"{self._control}/files/{file_id}/content") as response:
            if response.status != 200:
                raise StandinError(response.status, (await response.json())["error"])
            return await response.read()

    # Waiting ------------------------------------------------------------------------------

    async def wait_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 10.0,
        *,
        after_message_id: int = 0,
    ) -> list[JSONDict]:
        """Wait until the bot has sent ``count`` messages to the chat (after a message id)."""
        body = {
            "chat_id": chat_id,
            "count": count,
            "timeout": timeout,
            "after_message_id": after_message_id,
        }
        result = await self._request("POST", "/wait/messages", body, timeout=timeout)
        return list(result["messages"])

    async def wait_reply(
        self, sent: JSONDict, count: int = 1, timeout: float = 10.0
    ) -> list[JSONDict]:
        """Wait for the bot's answer to what ``send_*``/``start`` returned."""
        message = sent["message"]
        return await self.wait_messages(
            message["chat_id"], count, timeout, after_message_id=message["message_id"]
        )

    async def wait_deliveries(
        self,
        count: int = 1,
        *,
        since: int = 0,
        update_id: int | None = None,
        chat_id: int | None = None,
        target: str | None = None,
        ok: bool | None = None,
        timeout: float = 10.0,
    ) -> list[JSONDict]:
        """Wait until ``count`` finished webhook requests match (``ok``: answered 2xx or not)."""
        body: JSONDict = {"count": count, "since": since, "timeout": timeout}
        filters = {"update_id": update_id, "chat_id": chat_id, "target": target, "ok": ok}
        body.update({key: value for key, value in filters.items() if value is not None})
        result = await self._request("POST", "/wait/deliveries", body, timeout=timeout)
        return list(result["deliveries"])

    # Webhook delivery ---------------------------------------------------------------------

    async def webhook(self) -> JSONDict:
        """The webhook, its load-balancer targets, timing, pending and in-flight counts."""
        return await self._request("GET", "/webhook")

    async def set_webhook_targets(self, urls: list[str]) -> JSONDict:
        """Deliver through a load balancer to these backends (an empty list: to the URL itself)."""
        return await self._request("POST", "/webhook/targets", {"urls": list(urls)})

    async def set_webhook_timing(
        self,
        *,
        timeout: float | None = None,
        retry_delay: float | None = None,
        retry_max_delay: float | None = None,
        target_cooldown: float | None = None,
    ) -> JSONDict:
        fields = {
            "timeout": timeout,
            "retry_delay": retry_delay,
            "retry_max_delay": retry_max_delay,
            "target_cooldown": target_cooldown,
        }
        body = {key: value for key, value in fields.items() if value is not None}
        return await self._request("PATCH", "/webhook", body)

    async def deliveries(
        self,
        *,
        since: int = 0,
        update_id: int | None = None,
        chat_id: int | None = None,
        target: str | None = None,
        ok: bool | None = None,
    ) -> list[JSONDict]:
        """Every webhook request so far (or those matching), oldest first."""
        params = {"since": str(since)}
        filters = {"update_id": update_id, "chat_id": chat_id, "target": target, "ok": ok}
        for key, value in filters.items():
            if value is not None:
                params[key] = str(value).lower() if isinstance(value, bool) else str(value)
        result = await self._request("GET", "/webhook/deliveries", params=params)
        return list(result["deliveries"])

    # Limits -------------------------------------------------------------------------------

    async def set_limits(self, enabled: bool = True, **settings: float) -> JSONDict:
        return await self._request("PUT", "/limits", {"enabled": enabled, **settings})

    async def limits(self) -> JSONDict:
        return await self._request("GET", "/limits")

    # Sending ------------------------------------------------------------------------------

    async def _send(
        self,
        user_id: int,
        chat_id: int | None,
        reply_to: int | None,
        content: JSONDict,
        caption: str | None = None,
    ) -> JSONDict:
        body: JSONDict = {"user_id": user_id, **content}
        if chat_id is not None:
            body["chat_id"] = chat_id
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        if caption is not None:
            body["caption"] = caption
        return await self._request("POST", "/messages", body)
