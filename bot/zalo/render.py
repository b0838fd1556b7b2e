"""An ``OutMessage`` as Zalo shows it: plain text, numbered choices, parts of ≤ 2,000.

The flows write Telegram HTML; Zalo has no markup, so the tags go and their text
stays (a link keeps its address in brackets). Buttons become a numbered list under
the text ("1. Xong\\n2. Hủy"). A text longer than Zalo's 2,000 characters is split
at paragraph, line or sentence ends (never inside a word, unless one word is longer
than a whole message), and the choices go with the last part. Lengths are counted
in UTF-16 code units, as JavaScript counts them: never less than Zalo's own count.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.zalo.api import MAX_TEXT_CHARS
from handlers.events import Keyboard, OutMessage

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…;:](?=\s)")
_SPACES_AT_LINE_END = re.compile(r"[ \t]+\n")
# Where a long text may be cut, best first: a paragraph, a line, a sentence, a word.
_BOUNDARIES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    _SENTENCE_END,
    re.compile(r"\s"),
)
# A boundary this far into the budget or later is good enough; earlier ones waste space.
_GOOD_ENOUGH = 0.5

Choice = tuple[str, str]  # (label, callback data)


@dataclass(frozen=True, slots=True)
class Rendered:
    parts: list[str]  # the texts to send, in order (at least one unless ``empty``)
    choices: list[Choice]

    @property
    def empty(self) -> bool:
        return not any(p.strip() for p in self.parts)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def html_to_plain(text: str) -> str:
    """Telegram HTML as plain text: tags dropped, entities decoded, link targets kept."""
    out: list[str] = []
    links: list[tuple[str, int]] = []  # (target, where the label starts in ``out``)
    position = 0
    for match in _TAG.finditer(text):
        out.append(html.unescape(text[position : match.start()]))
        position = match.end()
        if match.group(2).lower() != "a":
            continue
        if match.group(1) != "/":
            href = _HREF.search(match.group(3) or "")
            target = next((g for g in href.groups() if g is not None), "") if href else ""
            links.append((html.unescape(target), len(out)))
        elif links:
            target, start = links.pop()
            label = "".join(out[start:]).strip()
            if target.startswith(("http://", "https://")) and target != label:
                out.append(f" ({target})")
    out.append(html.unescape(text[position:]))
    return "".join(out)


def choice_list(choices: Sequence[Choice]) -> str:
    return "\n".join(f"{number}. {label}" for number, (label, _) in enumerate(choices, 1))


def flatten(buttons: Keyboard) -> list[Choice]:
    # Zalo has no Mini Apps: a button that would open one is left out.
    return [(b.text, b.data) for row in buttons for b in row if not b.web_app]


def render(message: OutMessage, *, limit: int = MAX_TEXT_CHARS) -> Rendered:
    """The texts to send for ``message`` (its file is the transport's business)."""
    text = tidy(html_to_plain(message.text))
    choices = flatten(message.buttons)
    block = choice_list(choices)
    if not block:
        return Rendered(split_text(text, limit), [])
    if not text:
        return Rendered(split_text(block, limit), choices)
    joiner = "\n\n"
    if utf16_len(block) + utf16_len(joiner) < limit:
        parts = split_text(text, limit, last_reserve=utf16_len(joiner + block))
        parts[-1] = parts[-1] + joiner + block
        return Rendered(parts, choices)
    # More choices than one message holds (never in practice): the list follows on its own.
    return Rendered(split_text(text, limit) + split_text(block, limit), choices)


def tidy(text: str) -> str:
    return _SPACES_AT_LINE_END.sub("\n", text).strip()


def split_text(text: str, limit: int = MAX_TEXT_CHARS, *, last_reserve: int = 0) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 units; the last leaves ``last_reserve``."""
    if limit < 2 or last_reserve >= limit:
        raise ValueError("the limit must leave room for text")
    rest = text.strip()
    parts: list[str] = []
    while utf16_len(rest) > limit - last_reserve:
        budget = limit if utf16_len(rest) > limit else limit - last_reserve
        cut = _cut(rest, _fitting(rest, budget))
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            parts.append(head)
    parts.append(rest)
    return parts


def _fitting(text: str, units: int) -> int:
    """The longest prefix of ``text`` (in characters) that fits ``units`` UTF-16 units."""
    count = 0
    for index, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > units:
            return index
    return len(text)


def _cut(text: str, end: int) -> int:
    """Where to cut ``text`` so the head fits in ``text[:end]``: the best boundary."""
    window = text[: end + 1]  # a boundary right after the last fitting character counts
    fallback = 0
    for pattern in _BOUNDARIES:
        after = pattern is _SENTENCE_END  # a sentence keeps its full stop
        found = (m.end() if after else m.start() for m in pattern.finditer(window))
        positions = [p for p in found if 0 < p <= end]
        if not positions:
            continue
        best = positions[-1]
        if best >= end * _GOOD_ENOUGH:
            return best
        fallback = max(fallback, best)
    if fallback:
        return fallback
    # One word longer than a whole message: cut it, but not between a letter and its marks.
    cut = end
    while cut > 1 and unicodedata.combining(text[cut]):
        cut -= 1
    return cut
