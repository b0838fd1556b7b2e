"""Telegram HTML that is safe by construction, and a check of what Telegram accepts.

:class:`Html` marks a string as already safe markup; :func:`escape` and :func:`html_join`
escape everything else, so text a worker typed can never break or forge a message.
:func:`telegram_html_problems` finds what Telegram's HTML parse mode would reject; the
catalogue check (:mod:`handlers.i18n`) runs it on every text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["ALLOWED_TAGS", "Html", "escape", "html_join", "telegram_html_problems"]

ALLOWED_TAGS: Final = frozenset(
    {"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"}
)
"""Tags our texts may use; all are understood by Telegram's HTML parse mode."""

_ALLOWED_ATTRIBUTES: Final[Mapping[str, frozenset[str]]] = {
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
}
_REQUIRED_ATTRIBUTES: Final[Mapping[str, frozenset[str]]] = {"a": frozenset({"href"})}
_NAMED_ENTITIES: Final = frozenset({"lt", "gt", "amp", "quot"})
"""The only named entities Telegram accepts; numeric ones (``&#8230;``) are all fine."""

_TAG: Final = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*?)?)\s*(/?)>")
_ATTRIBUTE: Final = re.compile(r"""([A-Za-z][\w-]*)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?""")
_ENTITY: Final = re.compile(r"&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


# --- Safe HTML --------------------------------------------------------------------


class Html(str):
    """A string that is already safe Telegram HTML and must not be escaped again.

    Texts returned by :meth:`handlers.i18n.Catalogue.text` are ``Html``, so a translated
    fragment can be passed as a parameter of another text.  Wrap anything else in ``Html``
    only if you built it from escaped parts yourself.  Adding or joining plain strings to an
    ``Html`` escapes them, so the result stays safe.
    """

    __slots__ = ()

    def __add__(self, other: str) -> Html:
        return Html(str.__add__(self, escape(other)))

    def __radd__(self, other: str) -> Html:
        return Html(str.__add__(escape(other), self))

    def join(self, parts: Iterable[str], /) -> Html:
        return Html(str.join(self, (escape(part) for part in parts)))

    def __repr__(self) -> str:
        return f"Html({str.__repr__(self)})"


def escape(value: object) -> Html:
    """Escape ``value`` for Telegram HTML (``&``, ``<``, ``>`` and quotes); ``Html`` passes as is.

    Quotes are escaped too so that a value is also safe inside ``href="..."``.
    """
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def html_join(parts: Iterable[object], sep: str = "\n") -> Html:
    """Join ``parts`` with ``sep``, escaping every part that is not ``Html`` (``sep`` is markup)."""
    return Html(sep.join(escape(part) for part in parts))


# --- Telegram HTML validation ---------------------------------------------------------


def _tag_problems(name: str, attributes: str, closing: bool) -> list[str]:
    problems: list[str] = []
    if name not in ALLOWED_TAGS:
        if closing:
            return []  # reported at the opening tag
        return [f"tag <{name}> is not allowed (allowed: {', '.join(sorted(ALLOWED_TAGS))})"]
    if closing:
        return ["attributes on a closing tag"] if attributes.strip() else []
    names = [m.group(1).lower() for m in _ATTRIBUTE.finditer(attributes)]
    allowed = _ALLOWED_ATTRIBUTES.get(name, frozenset())
    problems.extend(
        f"attribute {a!r} is not allowed on <{name}>" for a in names if a not in allowed
    )
    required = _REQUIRED_ATTRIBUTES.get(name, frozenset())
    problems.extend(f"<{name}> needs a {a!r} attribute" for a in sorted(required - set(names)))
    return problems


def telegram_html_problems(text: str) -> list[str]:
    """Problems that would make Telegram reject ``text`` in HTML parse mode, or ``[]``.

    Checks tags (only :data:`ALLOWED_TAGS`, with their few attributes), that they are
    closed and properly nested, that ``<``, ``>`` and ``&`` appear only as part of tags and
    entities, and that named entities are ones Telegram knows.  ``{placeholders}`` are fine:
    their values are escaped when formatting.
    """
    problems: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "<":
            match = _TAG.match(text, pos)
            if match is None:
                problems.append(f"bare '<' at position {pos}; write &lt;")
                pos += 1
                continue
            closing, name, attributes, self_closing = match.groups()
            name = name.lower()
            problems.extend(_tag_problems(name, attributes, bool(closing)))
            if self_closing:
                problems.append(f"self-closing tag <{name}/>")
            elif closing:
                if name in stack:
                    while stack and stack[-1] != name:
                        problems.append(f"<{stack.pop()}> is not closed before </{name}>")
                    stack.pop()
                else:
                    problems.append(f"</{name}> without a matching <{name}>")
            else:
                parent = stack[-1] if stack else None
                if name in {"pre", "code", "blockquote"} and name in stack:
                    problems.append(f"<{name}> inside <{name}>")
                elif parent == "code" or (parent == "pre" and name != "code"):
                    problems.append(f"<{name}> inside <{parent}>")
                stack.append(name)
            pos = match.end()
        elif ch == "&":
            match = _ENTITY.match(text, pos)
            if match is None:
                problems.append(f"bare '&' at position {pos}; write &amp;")
                pos += 1
                continue
            entity = match.group(1)
            if not entity.startswith("#") and entity not in _NAMED_ENTITIES:
                problems.append(f"entity &{entity}; is not supported by Telegram")
            pos = match.end()
        elif ch == ">":
            problems.append(f"bare '>' at position {pos}; write &gt;")
            pos += 1
        else:
            pos += 1
    problems.extend(f"<{name}> is not closed" for name in reversed(stack))
    return problems
