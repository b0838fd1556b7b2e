"""Files the stand-in knows: their ids, their bytes and their download paths.

Every file gets a stable ``file_id`` (what bots send back to reuse a file) and
``file_unique_id`` (the same for every copy of a file), and a ``file_path`` under which getFile
lets bots download it. A file sent by URL keeps only its URL: the stand-in never fetches it.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]

# Leading bytes of real file ids, by kind, so ids look like Telegram's.
_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "video_note": "DQACAgIAAxkBAAI",
}
_FOLDER = {
    "photo": "photos",
    "document": "documents",
    "voice": "voice",
    "audio": "music",
    "video": "videos",
    "animation": "animations",
    "sticker": "stickers",
    "video_note": "video_notes",
}
_DEFAULT_EXTENSION = {"photo": ".jpg", "voice": ".oga", "sticker": ".webp", "video": ".mp4"}
# The longest side of each size Telegram keeps of a photo; the largest is capped at 2560.
_PHOTO_SIDES = (90, 320, 800, 1280)
_PHOTO_MAX_SIDE = 2560


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes | None
    url: str | None
    file_name: str | None
    mime_type: str | None
    file_path: str
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def size(self) -> int | None:
        return len(self.data) if self.data is not None else None

    def photo_size_json(self) -> JSONDict:
        data: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width or 0,
            "height": self.height or 0,
        }
        if self.size is not None:
            data["file_size"] = self.size
        return data

    def media_json(self) -> JSONDict:
        """The object (Document, Voice, Sticker …) that describes this file in a Message."""
        data: JSONDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.kind == "voice":
            data["duration"] = self.duration or 1
        if self.kind == "document" and self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type and self.kind != "sticker":  # a Sticker has no mime_type
            data["mime_type"] = self.mime_type
        if self.size is not None:
            data["file_size"] = self.size
        return data

    def file_json(self) -> JSONDict:
        """The File object getFile returns."""
        data: JSONDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.size is not None:
            data["file_size"] = self.size
        data["file_path"] = self.file_path
        return data


class FileStore:
    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[StoredFile]] = {}
        self._counter = 0

    def add_photo(
        self, width: int, height: int, *, data: bytes | None = None, url: str | None = None
    ) -> list[StoredFile]:
        """A photo as Telegram keeps it: several sizes, smallest first, each its own file.

        The stand-in does not resize: every size downloads as the original bytes.
        """
        longest = max(width, height)
        sides = [side for side in _PHOTO_SIDES if side < longest]
        sides.append(min(longest, _PHOTO_MAX_SIDE))
        sizes = []
        for side in sides:
            scale = side / longest
            sizes.append(
                self.add(
                    "photo",
                    data=data,
                    url=url,
                    width=max(1, round(width * scale)),
                    height=max(1, round(height * scale)),
                )
            )
        for size in sizes:
            self._photo_sets[size.file_id] = sizes
        return sizes

    def photo_set(self, file_id: str) -> list[StoredFile] | None:
        """All sizes of the photo one of whose sizes has ``file_id``."""
        return self._photo_sets.get(file_id)

    def add(
        self,
        kind: str,
        *,
        data: bytes | None = None,
        url: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        """Register a file. The same bytes (or URL) at the same size share a file_unique_id."""
        self._counter += 1
        number = self._counter
        content = data if data is not None else (url or str(number)).encode()
        digest = hashlib.sha256(f"{kind}:{width}x{height}:".encode() + content).digest()
        unique = "AQAD" + _b64(digest[:9])
        file_id = _ID_PREFIX.get(kind, _ID_PREFIX["document"]) + _b64(
            digest[9:15] + number.to_bytes(4, "big") + digest[15:29]
        )
        extension = _extension(kind, file_name, mime_type)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            data=data,
            url=url,
            file_name=file_name,
            mime_type=mime_type,
            file_path=f"{_FOLDER.get(kind, 'documents')}/file_{number}{extension}",
            width=width,
            height=height,
            duration=duration,
        )
        self._by_id[file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        return self._by_path.get(path)

    def all(self) -> list[StoredFile]:
        return list(self._by_id.values())


def guess_mime_type(file_name: str | None) -> str | None:
    if not file_name:
        return None
    guessed, _ = mimetypes.guess_type(file_name)
    return guessed


def _extension(kind: str, file_name: str | None, mime_type: str | None) -> str:
    if file_name and "." in file_name:
        return "." + file_name.rsplit(".", 1)[1].lower()
    if kind in _DEFAULT_EXTENSION:
        return _DEFAULT_EXTENSION[kind]
    if mime_type:
        return mimetypes.guess_extension(mime_type) or ""
    return ""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
