"""An async client of the Zalo stand-in's control API (tests, terminal chats)."""

from __future__ import annotations

import base64
from typing import ClassVar

from standins.core.client import ControlClient, ControlClientError, JSONDict


class ZaloStandinError(ControlClientError):
    """The control API refused a request."""


class ZaloStandinTimeout(ZaloStandinError):
    """A wait ran out before what it waited for happened."""


class ZaloStandinClient(ControlClient):
    """health, reset, state, wait_calls, wait_quiet and the faults: see ControlClient."""

    error: ClassVar[type[ControlClientError]] = ZaloStandinError
    timeout_error: ClassVar[type[ControlClientError]] = ZaloStandinTimeout

    async def _request(
        self,
        verb: str,
        path: str,
        body: JSONDict | None = None,
        *,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> JSONDict:
        """The client allows what the request asks the server to wait (10 s unsaid) + 30 s."""
        if timeout is None:
            timeout = float((body or {}).get("timeout", 10))
        return await super()._request(verb, path, body, params=params, timeout=timeout)

    # ------------------------------------------------------------ people

    async def upsert_user(self, user_id: str, display_name: str | None = None) -> JSONDict:
        body = {"display_name": display_name} if display_name else {}
        return await self._request("PUT", f"/users/{user_id}", body)

    async def set_blocked(self, user_id: str, blocked: bool = True) -> JSONDict:
        return await self._request("POST", f"/users/{user_id}/blocked", {"blocked": blocked})

    async def send_text(self, user_id: str, text: str) -> JSONDict:
        return await self._request("POST", "/messages", {"user_id": user_id, "text": text})

    async def send_photo(
        self,
        user_id: str,
        *,
        caption: str | None = None,
        data: bytes | None = None,
        width: int = 640,
        height: int = 480,
        seed: int = 0,
    ) -> JSONDict:
        photo: JSONDict = (
            {"base64": base64.b64encode(data).decode()}
            if data is not None
            else {"width": width, "height": height, "seed": seed}
        )
        body: JSONDict = {"user_id": user_id, "photo": photo}
        if caption is not None:
            body["caption"] = caption
        return await self._request("POST", "/messages", body)

    async def send_sticker(self, user_id: str, sticker: str = "sticker-1") -> JSONDict:
        body = {"user_id": user_id, "sticker": sticker}
        return await self._request("POST", "/messages", body)

    async def send_unsupported(self, user_id: str) -> JSONDict:
        body = {"user_id": user_id, "unsupported": True}
        return await self._request("POST", "/messages", body)

    # ------------------------------------------------------------ reading and waiting

    async def messages(self, chat_id: str, *, sender: str = "bot") -> list[JSONDict]:
        data = await self._request("GET", f"/chats/{chat_id}/messages?sender={sender}")
        return list(data["messages"])

    async def wait_messages(
        self, chat_id: str, count: int = 1, timeout: float = 10.0, *, after_seq: int = 0
    ) -> list[JSONDict]:
        body = {"chat_id": chat_id, "count": count, "after_seq": after_seq, "timeout": timeout}
        return list((await self._request("POST", "/wait/messages", body))["messages"])

    async def wait_reply(
        self, sent: JSONDict, count: int = 1, timeout: float = 10.0
    ) -> list[JSONDict]:
        """The bot's next ``count`` messages in the chat of ``sent`` (what send_* returned)."""
        message = sent["message"]
        return await self.wait_messages(
            message["chat_id"], count, timeout, after_seq=message["seq"]
        )

    async def calls(
        self, method: str | None = None, *, chat_id: str | None = None, since: int = 0
    ) -> list[JSONDict]:
        query = [f"since={since}"]
        if method:
            query.append(f"method={method}")
        if chat_id:
            query.append(f"chat_id={chat_id}")
        return list((await self._request("GET", "/calls?" + "&".join(query)))["calls"])

    async def updates(self) -> JSONDict:
        return await self._request("GET", "/updates")

    async def media(self, url: str) -> bytes:
        async with self._client_session().get(url) as response:
            response.raise_for_status()
            return await response.read()
