"""Message text as Telegram stores it: parse mode applied, trimmed, entities found.

Telegram measures text in UTF-16 code units (the 4096-character limit of a message, the
1024-character limit of a caption, every entity offset and length), so this module does too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from standins.telegram.errors import bad_request
from standins.telegram.html import HtmlParseError, parse_html

JSONDict = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
# Entities that only style text; found entities (links, commands …) may lie inside them.
_STYLE_TYPES = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
    }
)
_TRIMMED = " \t\r\n"
_TRAILING_PUNCTUATION = ".,;:!?)]'\""
_FOUND = (
    ("url", re.compile(r"(?<![\w@/.])(?:https?://|www\.|t\.me/)[^\s<>\"]+", re.IGNORECASE)),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("bot_command", re.compile(r"(?<![^\s(\[])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{3,8}(?![\w$])")),
)


@dataclass
class FormattedText:
    text: str
    entities: list[JSONDict] = field(default_factory=list)

    @property
    def length(self) -> int:
        return utf16_length(self.text)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def format_text(
    raw: str,
    parse_mode: str | None,
    entities: Iterable[JSONDict] | None,
    *,
    strict_ampersand: bool = False,
) -> FormattedText:
    """What Telegram makes of ``text``/``caption`` with ``parse_mode`` or explicit entities."""
    mode = (parse_mode or "").strip().lower()
    if not raw or mode in {"", "none"}:
        formatted = FormattedText(raw, _clean_entities(raw, entities or []))
    elif mode == "html":
        try:
            text, parsed = parse_html(raw, strict_ampersand=strict_ampersand)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error}") from error
        formatted = FormattedText(text, [entity.to_json() for entity in parsed])
    elif mode in {"markdown", "markdownv2"}:
        raise bad_request(
            f"parse_mode {parse_mode} is not supported by the Telegram stand-in; "
            "use HTML or entities"
        )
    else:
        raise bad_request("unsupported parse_mode")
    formatted = _trim(formatted)
    formatted.entities = _with_found_entities(formatted.text, formatted.entities)
    return formatted


def plain_text(text: str) -> FormattedText:
    """Text a person typed: trimmed, with links, commands, mentions and hashtags found."""
    trimmed = _trim(FormattedText(text))
    return FormattedText(trimmed.text, _with_found_entities(trimmed.text, []))


def _clean_entities(text: str, entities: Iterable[JSONDict]) -> list[JSONDict]:
    length = utf16_length(text)
    cleaned: list[JSONDict] = []
    for entity in entities:
        kind = entity.get("type")
        if kind not in ENTITY_TYPES:
            raise bad_request("can't parse MessageEntity: unsupported type specified")
        offset = int(entity.get("offset", 0))
        end = min(offset + int(entity.get("length", 0)), length)
        if offset < 0 or end <= offset:
            continue  # Telegram drops entities that cover no text
        cleaned.append({**entity, "offset": offset, "length": end - offset})
    return sorted(cleaned, key=_entity_order)


def _trim(formatted: FormattedText) -> FormattedText:
    text = formatted.text
    stripped_left = text.lstrip(_TRIMMED)
    removed = utf16_length(text) - utf16_length(stripped_left)
    result = stripped_left.rstrip(_TRIMMED)
    length = utf16_length(result)
    entities: list[JSONDict] = []
    for entity in formatted.entities:
        start = max(entity["offset"] - removed, 0)
        end = min(entity["offset"] + entity["length"] - removed, length)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(result, entities)


def _with_found_entities(text: str, entities: list[JSONDict]) -> list[JSONDict]:
    """Add the entities Telegram finds by itself (links, e-mails, commands, mentions, tags)."""
    taken = [
        (entity["offset"], entity["offset"] + entity["length"])
        for entity in entities
        if entity["type"] not in _STYLE_TYPES
    ]
    found: list[JSONDict] = []
    for kind, pattern in _FOUND:
        for match in pattern.finditer(text):
            value = match.group(0)
            if kind == "url":
                value = value.rstrip(_TRAILING_PUNCTUATION)
            start = utf16_length(text[: match.start()])
            end = start + utf16_length(value)
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return sorted(entities + found, key=_entity_order)


def _entity_order(entity: JSONDict) -> tuple[int, int]:
    return (int(entity["offset"]), -int(entity["length"]))
