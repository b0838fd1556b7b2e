"""Reading the parameters of a Bot API call off the HTTP request.

The Bot API takes parameters from the query string and from the body, which may be JSON,
``application/x-www-form-urlencoded`` or ``multipart/form-data``. In form bodies every value is a
string (objects and arrays JSON-serialised, booleans ``"true"``/``"false"``); uploaded files are
multipart parts with a file name. aiogram names file parts at random and points at them with
``attach://<name>``; python-telegram-bot names the part after the parameter itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from standins.telegram.errors import bad_request


@dataclass(frozen=True)
class UploadedFile:
    """One multipart part that carried a file."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class WireCall:
    """Everything a Bot API call sent: plain values and uploaded files, both by name."""

    values: dict[str, Any]
    files: dict[str, UploadedFile]

    def loggable(self) -> dict[str, Any]:
        """The call's parameters for the call log: files replaced by a short description."""
        logged: dict[str, Any] = dict(self.values)
        for name, upload in self.files.items():
            logged[name] = {
                "upload": upload.filename,
                "size": len(upload.data),
                "content_type": upload.content_type,
            }
        return logged


async def read_call(request: web.Request) -> WireCall:
    values: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    _merge_strings(values, request.query)
    if request.method != "POST" or not request.body_exists:
        return WireCall(values, files)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError) as error:
            raise bad_request("can't parse JSON encoded request body") from error
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON encoded request body: expected an Object")
        values.update(body)
    elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, str):
                values[name] = value
            elif isinstance(value, web.FileField):
                files[name] = UploadedFile(
                    field=name,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            else:  # bytes for parts without a charset
                values[name] = bytes(value).decode("utf-8", errors="replace")
    else:
        # The real server ignores bodies it does not understand; so do we.
        await request.read()
    return WireCall(values, files)


def _merge_strings(target: dict[str, Any], source: MultiMapping[str]) -> None:
    for name in source:
        target[name] = source[name]
