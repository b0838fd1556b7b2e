"""What a Bot API method implementation receives, and the registry of implementations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from standins.telegram.spec import FieldSpec, MethodSpec
from standins.telegram.state import World
from standins.telegram.wire import UploadedFile

JSONDict = dict[str, Any]


class Params:
    """A call's parameters after binding to the official types, with typed accessors."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def has(self, name: str) -> bool:
        return name in self._values

    def value(self, name: str) -> Any:
        return self._values.get(name)

    def integer(self, name: str) -> int | None:
        value = self._values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def number(self, name: str) -> float | None:
        value = self._values.get(name)
        return float(value) if isinstance(value, int | float) else None

    def string(self, name: str) -> str | None:
        value = self._values.get(name)
        return value if isinstance(value, str) else None

    def flag(self, name: str) -> bool:
        return self._values.get(name) is True

    def mapping(self, name: str) -> JSONDict | None:
        value = self._values.get(name)
        return value if isinstance(value, dict) else None

    def items(self, name: str) -> list[Any] | None:
        value = self._values.get(name)
        return value if isinstance(value, list) else None

    def file(self, name: str) -> UploadedFile | str | None:
        value = self._values.get(name)
        return value if isinstance(value, UploadedFile | str) else None

    def chat_ref(self, name: str = "chat_id") -> int | str | None:
        value = self._values.get(name)
        return value if isinstance(value, int | str) and not isinstance(value, bool) else None


@dataclass
class Call:
    world: World
    method: MethodSpec
    params: Params


Handler = Callable[[Call], Awaitable[Any]]

HANDLERS: dict[str, Handler] = {}
# Parameters that may be sent empty, where empty means something ("url" = no webhook).
EMPTY_ALLOWED: dict[str, frozenset[str]] = {"setWebhook": frozenset({"url"})}

# Parameters gone from the official list that Telegram still honours, by method.
_REPLY_LEGACY = (
    FieldSpec("reply_to_message_id", ("Integer",), False, "Superseded by reply_parameters"),
    FieldSpec("allow_sending_without_reply", ("Boolean",), False, "Superseded"),
)
LEGACY_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    name: _REPLY_LEGACY
    for name in ("sendMessage", "sendPhoto", "sendDocument", "sendVoice", "copyMessage")
}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = handler
        return handler

    return register
