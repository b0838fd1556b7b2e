"""Telegram's HTML parse mode: markup in, plain text and MessageEntity list out.

A port of ``parse_html`` from tdlib (td/telegram/MessageEntity.cpp), which is what the Bot API
server runs for ``parse_mode=HTML``: the same supported tags, the same entity decoding, the same
error messages with the same byte offsets (into the UTF-8 text), and entity offsets and lengths
in UTF-16 code units. Like Telegram, a ``&`` that does not start a known entity is kept as a
literal character; ``strict_ampersand=True`` rejects it instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SPACES = frozenset(b" \t\r\n\x0b\x0c\x00")
_NAMED_ENTITIES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}
_USER_LINK = re.compile(r"tg://user\?id=(\d+)", re.IGNORECASE)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HOST_LIKE = re.compile(r"[^\s/]+\.[^\s/]+")


class HtmlParseError(ValueError):
    """Text that Telegram would refuse with "Bad Request: can't parse entities: …"."""


@dataclass(frozen=True)
class Entity:
    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    user_id: int | None = None
    custom_emoji_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            data["url"] = self.url
        if self.language is not None:
            data["language"] = self.language
        if self.custom_emoji_id is not None:
            data["custom_emoji_id"] = self.custom_emoji_id
        if self.user_id is not None:
            data["user"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        return data


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    result_pos: int


def parse_html(text: str, *, strict_ampersand: bool = False) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML. Returns the plain text and its entities, sorted as Telegram does."""
    return _HtmlParser(text, strict_ampersand).parse()


class _HtmlParser:
    def __init__(self, text: str, strict_ampersand: bool) -> None:
        try:
            self.data = text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise HtmlParseError("Strings must be encoded in UTF-8") from error
        self.strict_ampersand = strict_ampersand
        self.result = bytearray()
        self.utf16_offset = 0
        self.entities: list[Entity] = []
        self.open_tags: list[_OpenTag] = []

    def at(self, index: int) -> int:
        return self.data[index] if index < len(self.data) else 0

    def parse(self) -> tuple[str, list[Entity]]:
        i = 0
        size = len(self.data)
        while i < size:
            c = self.data[i]
            if c == ord("&"):
                decoded = _decode_entity(self.data, i)
                if decoded is not None:
                    code, i = decoded
                    self._append_code_point(code)
                    continue
                if self.strict_ampersand:
                    raise HtmlParseError(f'Character "&" must be escaped at byte offset {i}')
            if c != ord("<"):
                if c & 0xC0 != 0x80:
                    self.utf16_offset += 2 if c >= 0xF0 else 1
                self.result.append(c)
                i += 1
                continue
            i = self._end_tag(i) if self.at(i + 1) == ord("/") else self._start_tag(i)
        if self.open_tags:
            raise HtmlParseError(
                f"Can't find end tag corresponding to start tag {self.open_tags[-1].name}"
            )
        # A language only survives on ``pre``; a bare ``code`` loses it.
        entities = [
            Entity("code", entity.offset, entity.length) if entity.type == "code" else entity
            for entity in self.entities
        ]
        entities.sort(key=lambda entity: (entity.offset, -entity.length))
        return self.result.decode("utf-8"), entities

    def _append_code_point(self, code: int) -> None:
        if 0xD800 <= code <= 0xDFFF:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, check for "
                "unmatched surrogate code units"
            )
        self.utf16_offset += 2 if code > 0xFFFF else 1
        self.result += chr(code).encode("utf-8")

    def _start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != ord(">"):
            i += 1
        if i >= len(self.data):
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
        tag = _lower(self.data[begin + 1 : i])
        if tag not in SUPPORTED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while self.at(i) != ord(">"):
            while i < len(self.data) and self.at(i) in _SPACES:
                i += 1
            if self.at(i) == ord(">"):
                break
            if i >= len(self.data):
                raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            attribute_begin = i
            while self.at(i) not in _SPACES and self.at(i) not in (ord("="), ord(">")):
                i += 1
            attribute = self.data[attribute_begin:i].decode("utf-8", errors="replace")
            if not attribute:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                )
            while i < len(self.data) and self.at(i) in _SPACES:
                i += 1
            if self.at(i) != ord("="):
                if tag == "blockquote" and attribute == "expandable":
                    argument = "expandable"
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {begin}'
                )
            i += 1
            while i < len(self.data) and self.at(i) in _SPACES:
                i += 1
            if i >= len(self.data):
                raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            value, i = self._attribute_value(i)
            if i >= len(self.data):
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            argument = _tag_argument(tag, attribute, value, argument)
        if tag == "span" and argument != "spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.open_tags.append(_OpenTag(tag, argument, self.utf16_offset, len(self.result)))
        return i + 1

    def _attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in (ord("'"), ord('"')):
            # A name token: letters, digits, periods and hyphens, not case sensitive.
            token_begin = i
            while chr(self.at(i)).isascii() and (
                chr(self.at(i)).isalnum() or self.at(i) in (ord("."), ord("-"))
            ):
                i += 1
            if self.at(i) not in _SPACES and self.at(i) != ord(">"):
                raise HtmlParseError(f"Unexpected end of name token at byte offset {token_begin}")
            return _lower(self.data[token_begin:i]), i
        i += 1
        value = bytearray()
        while i < len(self.data) and self.data[i] != quote:
            if self.data[i] == ord("&"):
                decoded = _decode_entity(self.data, i)
                if decoded is not None:
                    code, i = decoded
                    value += chr(code).encode("utf-8", errors="surrogatepass")
                    continue
            value.append(self.data[i])
            i += 1
        if i < len(self.data):
            i += 1
        return value.decode("utf-8", errors="replace"), i

    def _end_tag(self, begin: int) -> int:
        if not self.open_tags:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        i = begin + 2
        while self.at(i) not in _SPACES and self.at(i) != ord(">"):
            i += 1
        end_name = _lower(self.data[begin + 2 : i])
        while i < len(self.data) and self.at(i) in _SPACES:
            i += 1
        if self.at(i) != ord(">"):
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        open_tag = self.open_tags[-1]
        if end_name and end_name != open_tag.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {begin}, expected "
                f'"</{open_tag.name}>", found "</{end_name}>"'
            )
        if self.utf16_offset > open_tag.utf16_offset:
            self._close_entity(open_tag)
        self.open_tags.pop()
        return i + 1

    def _close_entity(self, tag: _OpenTag) -> None:
        offset = tag.utf16_offset
        length = self.utf16_offset - offset
        simple = _SIMPLE_TAGS.get(tag.name)
        if simple is not None:
            self.entities.append(Entity(simple, offset, length))
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            self.entities.append(
                Entity("custom_emoji", offset, length, custom_emoji_id=tag.argument)
            )
        elif tag.name == "a":
            url = tag.argument or self.result[tag.result_pos :].decode("utf-8", errors="replace")
            entity = _link_entity(url, offset, length)
            if entity is not None:
                self.entities.append(entity)
        elif tag.name == "pre":
            last = self.entities[-1] if self.entities else None
            if (
                last is not None
                and last.type == "code"
                and (last.offset, last.length) == (offset, length)
                and last.language
            ):
                self.entities[-1] = Entity("pre", offset, length, language=last.language)
            else:
                self.entities.append(Entity("pre", offset, length))
        elif tag.name == "code":
            last = self.entities[-1] if self.entities else None
            if (
                last is not None
                and last.type == "pre"
                and (last.offset, last.length) == (offset, length)
                and tag.argument
            ):
                self.entities[-1] = Entity("pre", offset, length, language=tag.argument)
            else:
                self.entities.append(Entity("code", offset, length, language=tag.argument or None))
        elif tag.name == "blockquote":
            kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
            self.entities.append(Entity(kind, offset, length))


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    return current


def _link_entity(url: str, offset: int, length: int) -> Entity | None:
    user = _USER_LINK.fullmatch(url.strip())
    if user is not None:
        return Entity("text_mention", offset, length, user_id=int(user.group(1)))
    url = url.strip()
    if _SCHEME.match(url):
        return Entity("text_link", offset, length, url=url)
    if _HOST_LIKE.match(url):
        return Entity("text_link", offset, length, url=f"http://{url}")
    return None  # Telegram silently drops links it cannot make sense of


def _decode_entity(data: bytes, pos: int) -> tuple[int, int] | None:
    """Decode ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;``, ``&#NN;`` or ``&#xHH;`` at ``pos``.

    Returns the code point and the position after the entity (the ``;`` is optional, as in
    tdlib), or None when there is no entity there.
    """
    end = pos + 1
    size = len(data)
    if end < size and data[end] == ord("#"):
        end += 1
        code = 0
        if end < size and data[end] == ord("x"):
            end += 1
            while end < size and chr(data[end]) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while end < size and chr(data[end]).isdigit() and data[end] < 0x80:
                code = code * 10 + data[end] - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while end < size and data[end] < 0x80 and chr(data[end]).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(data[pos + 1 : end])
        if named is None:
            return None
        code = named
    if end < size and data[end] == ord(";"):
        end += 1
    return code, end


def _lower(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").lower()
