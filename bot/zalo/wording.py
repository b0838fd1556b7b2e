"""Zalo's own words for texts that speak of Telegram's buttons and menu.

Zalo has no buttons and no command menu: a choice is made by typing its number or
its words. The flows stay messenger-neutral and write every text once; a catalogue
key ``K`` that tells people to tap or press has a variant ``zalo.K`` with the same
placeholders, and :class:`ZaloWording` puts the variant in place of each rendered
``K`` in a message about to go to Zalo (in every language, wherever in the message
it stands, with the values it was given). It reads the templates from the same
catalogue files as :class:`handlers.i18n.Catalogue`: every ``*.po`` in each
language's ``LC_MESSAGES``, so a variant may live in another file than its key.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from babel.messages.pofile import read_po

from handlers.i18n import DEFAULT_LOCALES_DIR, DOMAIN

PREFIX = "zalo."
_FIELD = string.Formatter()


@dataclass(frozen=True, slots=True)
class _Variant:
    key: str
    pattern: re.Pattern[str]
    replacement: str  # a str.format template: the Zalo text


def _forms(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple | list):
        return tuple(str(v or "") for v in value)
    return (str(value or ""),)


def _pattern(template: str) -> re.Pattern[str] | None:
    """``template`` as rendered, any value in place of each placeholder (named groups)."""
    parts: list[str] = []
    seen: set[str] = set()
    try:
        parsed = list(_FIELD.parse(template))
    except ValueError:
        return None
    for literal, field, _spec, _conversion in parsed:
        parts.append(re.escape(literal.replace("{{", "{").replace("}}", "}")))
        if field is None:
            continue
        if not field.isidentifier():
            return None
        parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>(?s:.+?))")
        seen.add(field)
    if not "".join(p for p in parts if not p.startswith("(?P")).strip():
        return None  # nothing but placeholders: it would match anything
    return re.compile("".join(parts))


class ZaloWording:
    """Puts ``zalo.K`` in place of every rendered ``K`` that has such a variant."""

    def __init__(self, variants: Iterable[_Variant]) -> None:
        # Longer texts first, so a whole help page is replaced before any phrase in it.
        self._variants = sorted(variants, key=lambda v: -len(v.pattern.pattern))

    @classmethod
    def load(cls, directory: Path | None = None) -> ZaloWording:
        root = DEFAULT_LOCALES_DIR if directory is None else directory
        variants: list[_Variant] = []
        for main in sorted(root.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            # As Catalogue.load: messages.po, then each area's file beside it
            # (zalo_lifecycle.po holds the variants of council.po's texts, …).
            paths = [main, *sorted(p for p in main.parent.glob("*.po") if p != main)]
            texts: dict[str, tuple[str, ...]] = {}
            for path in paths:
                with path.open("rb") as f:
                    catalog = read_po(f, charset="utf-8")
                for message in catalog:
                    if not message.id:
                        continue
                    key = str(message.id[0] if isinstance(message.id, tuple) else message.id)
                    texts[key] = _forms(message.string)
            variants.extend(_variants(texts))
        return cls(variants)

    @property
    def keys(self) -> frozenset[str]:
        """The keys that have a Zalo variant."""
        return frozenset(v.key for v in self._variants)

    def apply(self, text: str) -> str:
        for variant in self._variants:
            if variant.pattern.search(text) is not None:
                text = variant.pattern.sub(partial(_fill, variant), text)
        return text


def _variants(texts: dict[str, tuple[str, ...]]) -> Iterable[_Variant]:
    for key, zalo_forms in texts.items():
        if not key.startswith(PREFIX):
            continue
        telegram_forms = texts.get(key[len(PREFIX) :])
        if telegram_forms is None:
            continue  # a Zalo-only text (zalo.file_elsewhere), not a variant
        for index, form in enumerate(telegram_forms):
            pattern = _pattern(form) if form.strip() else None
            if pattern is not None:
                zalo = zalo_forms[min(index, len(zalo_forms) - 1)]
                yield _Variant(key[len(PREFIX) :], pattern, zalo)


def _fill(variant: _Variant, match: re.Match[str]) -> str:
    # The values are already escaped HTML, as the Telegram text carried them.
    return variant.replacement.format(**match.groupdict())
