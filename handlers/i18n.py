"""User-facing texts: one stable key per text, Vietnamese and English catalogues.

Texts live in gettext catalogues ``handlers/locales/<lang>/LC_MESSAGES/messages.po``;
the msgid is a stable key (``idea.ask_text``), the msgstr the text.  They are read with
babel at start-up, so no compile step is needed when installing.  Placeholders are
``{name}`` (``str.format`` style).

Every text is Telegram HTML (``parse_mode=HTML``).  Formatting is safe by construction:
parameter values are HTML-escaped unless wrapped in :class:`Html` ("this is already safe
markup", e.g. another translated fragment; :mod:`handlers.safe_html`), so a worker who types
``<b>`` into their idea cannot break or forge the bot's messages.

Vietnamese is the reference language: a key missing in another language falls back to
Vietnamese (with one warning); a key missing in Vietnamese is a bug and raises
``KeyError``.  :meth:`Catalogue.check` finds such problems in a test, before users do.
"""

from __future__ import annotations

import gettext
import logging
import re
import string
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel.core import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from handlers.language import DEFAULT_LANGUAGE
from handlers.safe_html import Html, escape, telegram_html_problems

log = logging.getLogger(__name__)

DOMAIN: Final = "messages"
DEFAULT_LOCALES_DIR: Final = Path(__file__).resolve().parent / "locales"

_KEY_PATTERN: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$")


# --- Formatting -------------------------------------------------------------------


class _HtmlFormatter(string.Formatter):
    """``str.format`` that escapes every value unless it is :class:`Html`.

    Only plain names are allowed as fields: ``{user.__class__}`` or ``{0}`` in a
    translation would otherwise reach into Python objects.
    """

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not field_name.isidentifier():
            raise ValueError(f"placeholder {{{field_name}}} must be a plain name")
        return super().get_field(field_name, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        formatted = format(value, format_spec)
        return formatted if isinstance(value, Html) else escape(formatted)


_FORMATTER: Final = _HtmlFormatter()


def _placeholders(text: str) -> frozenset[str]:
    """Names of the ``{fields}`` in ``text`` (also inside format specs); ValueError if malformed."""
    names: set[str] = set()
    for _, field, spec, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(field)
            if spec:
                names |= _placeholders(spec)
    return frozenset(names)


# --- Catalogue ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Message:
    """One text in one language: a single form, or the plural forms of a counted text."""

    forms: tuple[str, ...]
    plural: bool = False
    fuzzy: bool = False


@dataclass(frozen=True, slots=True)
class _Language:
    messages: Mapping[str, _Message]
    plural_index: Callable[[int], int]
    num_plurals: int


def _language_from_catalog(catalog: Catalog) -> _Language:
    messages: dict[str, _Message] = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        if isinstance(message.id, tuple):
            key = str(message.id[0])
            strings = message.string if isinstance(message.string, tuple | list) else ()
            forms = tuple(str(s or "") for s in strings)
            messages[key] = _Message(forms, plural=True, fuzzy=message.fuzzy)
        else:
            messages[str(message.id)] = _Message((str(message.string or ""),), fuzzy=message.fuzzy)
    return _Language(messages, gettext.c2py(catalog.plural_expr), catalog.num_plurals)


def _babel_locale(lang: str) -> str | None:
    """``lang`` as a babel locale identifier, or None if babel does not know it.

    The locale gives the plural rule when a catalogue has no ``Plural-Forms`` header.
    """
    identifier = lang.replace("-", "_")
    try:
        Locale.parse(identifier)
    except (UnknownLocaleError, ValueError):
        return None
    return identifier


_MSGID_LINE: Final = re.compile(r'^msgid\s+"(.+)"\s*$')


def _duplicate_keys(path: Path) -> list[str]:
    """Keys defined twice in one file; babel silently keeps one, so look for them here.

    Keys are short single-line msgids, so a line scan finds them.
    """
    seen: set[str] = set()
    duplicates: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _MSGID_LINE.match(line)
        if match:
            key = match.group(1)
            if key in seen and key not in duplicates:
                duplicates.append(key)
            seen.add(key)
    return duplicates


def _merge(parts: list[_Language], lang: str, problems: list[str]) -> _Language:
    """One language from its files: the first file's plural rule, every file's keys.

    A key in two files is a problem (the catalogue check fails on it), like a key
    defined twice in one file.
    """
    first = parts[0]
    messages = dict(first.messages)
    for part in parts[1:]:
        for key, message in part.messages.items():
            if key in messages:
                problems.append(f"{lang}: key {key!r} is defined in two files")
            messages[key] = message
    return replace(first, messages=messages)


def _read_catalog(path: Path, lang: str) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=_babel_locale(lang), charset="utf-8", abort_invalid=True)


class Catalogue:
    """All texts in all languages, loaded once at start-up.

    ``catalogue.text("en", "idea.ask_text", code="SK-2026-000001")`` or, bound to one
    language, ``tr = catalogue.for_lang("en"); tr("idea.ask_text", code=...)``.
    """

    def __init__(
        self,
        languages: Mapping[str, _Language],
        *,
        default_language: str = DEFAULT_LANGUAGE,
        load_problems: Iterable[str] = (),
    ) -> None:
        if default_language not in languages:
            raise ValueError(f"no catalogue for the default language {default_language!r}")
        self._default = default_language
        self._languages = dict(languages)
        self._load_problems = list(load_problems)
        self._warned: set[tuple[str, str]] = set()
        self._warned_lock = threading.Lock()

    # -- construction -----------------------------------------------------------------

    @classmethod
    def load(
        cls, directory: Path | None = None, *, default_language: str = DEFAULT_LANGUAGE
    ) -> Catalogue:
        """Read ``<directory>/<lang>/LC_MESSAGES/messages.po`` for every language present,
        with every other ``*.po`` file beside it (one per area: ``council.po``, …).

        ``directory`` defaults to ``handlers/locales``.  Raises ``FileNotFoundError`` if
        there is no catalogue for the default language and babel's ``PoFileError`` for a
        malformed file: better not to start than to show users broken texts.
        """
        root = DEFAULT_LOCALES_DIR if directory is None else directory
        languages: dict[str, _Language] = {}
        problems: list[str] = []
        if root.is_dir():
            for sub in sorted(root.iterdir()):
                main = sub / "LC_MESSAGES" / f"{DOMAIN}.po"
                if not main.is_file():
                    continue
                # messages.po first (its header gives the plural rule), then one file
                # per area of the product (council.po, …) merged into it.
                paths = [main, *sorted(p for p in main.parent.glob("*.po") if p != main)]
                parts = [_language_from_catalog(_read_catalog(p, sub.name)) for p in paths]
                languages[sub.name] = _merge(parts, sub.name, problems)
                problems.extend(
                    f"{sub.name}: key {key!r} is defined more than once"
                    for path in paths
                    for key in _duplicate_keys(path)
                )
        if default_language not in languages:
            raise FileNotFoundError(
                f"no {DOMAIN}.po for {default_language!r} under {root}"
                f" (expected {root / default_language / 'LC_MESSAGES' / (DOMAIN + '.po')})"
            )
        return cls(languages, default_language=default_language, load_problems=problems)

    @classmethod
    def from_mapping(
        cls,
        texts: Mapping[str, Mapping[str, str | Sequence[str]]],
        *,
        default_language: str = DEFAULT_LANGUAGE,
    ) -> Catalogue:
        """Build a catalogue in memory: ``{lang: {key: text or [plural forms]}}``.

        For tests of code that sends texts; plural rules come from babel's locale data.
        """
        languages: dict[str, _Language] = {}
        for lang, entries in texts.items():
            catalog = Catalog(locale=_babel_locale(lang))
            for key, value in entries.items():
                if isinstance(value, str):
                    catalog.add(key, value)
                else:
                    catalog.add((key, key), tuple(value))
            languages[lang] = _language_from_catalog(catalog)
        return cls(languages, default_language=default_language)

    # -- queries ----------------------------------------------------------------------

    @property
    def default_language(self) -> str:
        return self._default

    @property
    def languages(self) -> tuple[str, ...]:
        """Loaded languages, the default first."""
        return (self._default, *sorted(lang for lang in self._languages if lang != self._default))

    def keys(self) -> tuple[str, ...]:
        """Every key present in any language, sorted."""
        return tuple(sorted({key for lang in self._languages.values() for key in lang.messages}))

    def templates(self, lang: str | None, prefix: str) -> dict[str, str]:
        """Every text whose key starts with ``prefix``, unformatted (its ``{placeholders}``
        kept), in ``lang`` or else the default language; a counted text's last form.
        For a page that fills the placeholders itself (the dashboard's ``web.*``)."""
        resolved = self.resolve_language(lang)
        found: dict[str, str] = {}
        for language in (self._languages[self._default], self._languages[resolved]):
            for key, message in language.messages.items():
                if key.startswith(prefix) and message.forms and message.forms[-1]:
                    found[key] = message.forms[-1]
        return dict(sorted(found.items()))

    def __contains__(self, key: object) -> bool:
        return any(key in lang.messages for lang in self._languages.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def resolve_language(self, lang: str | None) -> str:
        """Map ``"en"``, ``"en-US"``, ``"EN"`` to a loaded language; others to the default."""
        if not lang:
            return self._default
        code = lang.strip().replace("_", "-")
        for candidate in (code, code.lower(), code.split("-")[0].lower()):
            if candidate in self._languages:
                return candidate
        return self._default

    def for_lang(self, lang: str | None) -> Translator:
        """A :class:`Translator` bound to ``lang`` (resolved as in :meth:`resolve_language`)."""
        return Translator(self, self.resolve_language(lang))

    def text(self, lang: str | None, key: str, /, **params: object) -> Html:
        """The text for ``key`` in ``lang`` with ``params`` filled in and HTML-escaped.

        Falls back to the default language (warning once per language and key) if the key
        is missing in ``lang``; raises ``KeyError`` if it is missing there too, and
        ``KeyError``/``ValueError`` if the text needs a parameter that was not given.
        For a plural text, ``count`` (an ``int``) selects the form and may be used as
        ``{count}`` in it.
        """
        resolved = self.resolve_language(lang)
        message = self._languages[resolved].messages.get(key)
        if message is None and resolved != self._default:
            self._warn_missing(resolved, key)
            resolved = self._default
            message = self._languages[resolved].messages.get(key)
        if message is None:
            raise KeyError(f"no text for key {key!r} in {resolved!r}")
        template = self._pick_form(resolved, key, message, params)
        try:
            return Html(_FORMATTER.vformat(template, (), params))
        except KeyError as exc:
            raise KeyError(f"text {key!r} ({resolved}) needs parameter {exc.args[0]!r}") from None

    def _pick_form(
        self, lang: str, key: str, message: _Message, params: Mapping[str, object]
    ) -> str:
        if not message.plural:
            return message.forms[0]
        count = params.get("count")
        if not isinstance(count, int):
            raise TypeError(f"text {key!r} has plural forms: pass count=<int>")
        index = self._languages[lang].plural_index(count)
        return message.forms[min(index, len(message.forms) - 1)]

    def _warn_missing(self, lang: str, key: str) -> None:
        with self._warned_lock:
            if (lang, key) in self._warned:
                return
            self._warned.add((lang, key))
        log.warning("text %r missing in %r, using %r", key, lang, self._default)

    # -- consistency -----------------------------------------------------------------

    def check(self) -> list[str]:
        """Every problem in the catalogues, as readable sentences; ``[]`` if all is well.

        Finds keys missing in a language or defined twice, empty or fuzzy translations,
        placeholders that differ between languages or are malformed, plural forms that do
        not match, keys that look like text rather than keys, and Telegram HTML that would
        be rejected.
        Meant for a test over the real catalogues.
        """
        problems = list(self._load_problems)
        for key in self.keys():
            if not _KEY_PATTERN.match(key):
                problems.append(
                    f"{key!r}: not a stable key (use dotted names like 'idea.ask_text')"
                )
            placeholders: dict[str, frozenset[str]] = {}
            plural_in: dict[str, bool] = {}
            for lang in self.languages:
                language = self._languages[lang]
                message = language.messages.get(key)
                if message is None:
                    present = [
                        other for other in self.languages if key in self._languages[other].messages
                    ]
                    problems.append(
                        f"{lang}: missing key {key!r} (present in {', '.join(present)})"
                    )
                    continue
                plural_in[lang] = message.plural
                names = self._check_message(lang, key, message, language.num_plurals, problems)
                if names is not None:
                    placeholders[lang] = names
            if len(set(plural_in.values())) > 1:
                problems.append(
                    f"{key!r}: plural in {', '.join(k for k, v in plural_in.items() if v)}"
                    f" but not in {', '.join(k for k, v in plural_in.items() if not v)}"
                )
            if len(set(placeholders.values())) > 1:
                detail = "; ".join(
                    f"{lang}: {{{', '.join(sorted(names))}}}"
                    for lang, names in placeholders.items()
                )
                problems.append(f"{key!r}: placeholders differ between languages ({detail})")
        return problems

    @staticmethod
    def _check_message(
        lang: str, key: str, message: _Message, num_plurals: int, problems: list[str]
    ) -> frozenset[str] | None:
        """Append problems of one message; return its placeholder names (None if malformed)."""
        where = f"{lang}: {key!r}"
        if message.fuzzy:
            problems.append(f"{where} is marked fuzzy")
        if any(not form.strip() for form in message.forms):
            problems.append(f"{where} has an empty translation")
        if message.plural and len(message.forms) != num_plurals:
            problems.append(
                f"{where} has {len(message.forms)} plural forms, expected {num_plurals}"
            )
        names: set[str] = set()
        for form in message.forms:
            try:
                form_names = _placeholders(form)
            except ValueError as exc:
                problems.append(f"{where}: malformed placeholder ({exc}); write {{{{ for a brace")
                return None
            bad = sorted(n for n in form_names if not n.isidentifier())
            if bad:
                problems.append(f"{where}: placeholders must be plain names, not {bad}")
            names |= form_names
            problems.extend(f"{where}: {p}" for p in telegram_html_problems(form))
        return frozenset(names)


class Translator:
    """The texts of one language: ``tr("idea.ask_text", code="SK-2026-000001")``."""

    __slots__ = ("catalogue", "lang")

    def __init__(self, catalogue: Catalogue, lang: str) -> None:
        self.catalogue = catalogue
        self.lang = lang

    def __call__(self, key: str, /, **params: object) -> Html:
        return self.catalogue.text(self.lang, key, **params)

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"


@cache
def get_catalogue() -> Catalogue:
    """The application's catalogue from ``handlers/locales``, loaded on first use."""
    return Catalogue.load()
