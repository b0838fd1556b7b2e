"""Folding text for search that ignores diacritics and case ("Đà Nẵng" -> "da nang").

Unit names (``units.name_folded``) and ideas' titles and texts (``idea_search``) are
stored folded; search input is folded the same way before it is compared.
"""

from __future__ import annotations

import unicodedata
from typing import Final


class _FoldTable(dict[int, str]):
    """Code point -> folded text, computed on first use (for str.translate)."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        if char in "đĐ":
            folded = "d"
        else:
            decomposed = unicodedata.normalize("NFD", char)
            folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
        self[codepoint] = folded
        return folded


_FOLD: Final = _FoldTable()


def fold_name(name: str) -> str:
    """Lower-case ``name`` without diacritics ("Đà Nẵng" -> "da nang") for search.

    Runs of whitespace become single spaces. Search input must be folded the same
    way before it is compared with ``Unit.name_folded``.
    """
    return " ".join(unicodedata.normalize("NFC", name.translate(_FOLD)).split())
