"""Tests for handlers.i18n (with the fixture catalogues in tests/unit/fixtures/locales) and
handlers.safe_html."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import PoFileError

import handlers
from handlers.i18n import DEFAULT_LOCALES_DIR, Catalogue, Translator
from handlers.safe_html import Html, escape, html_join, telegram_html_problems

FIXTURES = Path(__file__).parent / "fixtures" / "locales"


@pytest.fixture(scope="module")
def good() -> Catalogue:
    return Catalogue.load(FIXTURES / "good")


@pytest.fixture
def broken() -> Catalogue:
    # Function scope: each test sees a fresh "warned once" state.
    return Catalogue.load(FIXTURES / "broken")


# --- loading and lookup --------------------------------------------------------------


def test_languages_default_first(good: Catalogue) -> None:
    assert good.languages == ("vi", "en")
    assert good.default_language == "vi"


def test_keys(good: Catalogue) -> None:
    assert good.keys() == (
        "common.link",
        "common.wrapper",
        "greeting",
        "idea.ask_text",
        "ideas.count",
        "stats.percent",
    )
    assert "greeting" in good
    assert "nope" not in good
    assert list(good) == list(good.keys())


def test_good_catalogue_has_no_problems(good: Catalogue) -> None:
    assert good.check() == []


def test_lookup(good: Catalogue) -> None:
    assert good.text("vi", "idea.ask_text", code="SK-2026-000001") == (
        "Hãy mô tả sáng kiến của bạn. Mã: <b>SK-2026-000001</b>"
    )
    assert good.text("en", "idea.ask_text", code="SK-2026-000001") == (
        "Please describe your idea. Code: <b>SK-2026-000001</b>"
    )


def test_translator(good: Catalogue) -> None:
    tr = good.for_lang("en")
    assert isinstance(tr, Translator)
    assert tr.lang == "en"
    assert tr("greeting", name="Lan") == "Hello, Lan!"
    assert good.for_lang("vi")("greeting", name="Lan") == "Xin chào, Lan!"


@pytest.mark.parametrize(
    ("requested", "resolved"),
    [("en", "en"), ("EN", "en"), ("en-US", "en"), ("en_GB", "en"), ("vi-VN", "vi"),
     ("fr", "vi"), ("", "vi"), (None, "vi"), ("zz-ZZ", "vi")],
)  # fmt: skip
def test_unknown_language_is_vietnamese(
    good: Catalogue, requested: str | None, resolved: str
) -> None:
    assert good.resolve_language(requested) == resolved
    assert good.for_lang(requested).lang == resolved
    expected = "Hello, A!" if resolved == "en" else "Xin chào, A!"
    assert good.text(requested, "greeting", name="A") == expected


def test_result_is_html(good: Catalogue) -> None:
    assert isinstance(good.text("vi", "greeting", name="A"), Html)


def test_extra_params_are_ignored(good: Catalogue) -> None:
    assert good.text("en", "greeting", name="A", unused="<x>") == "Hello, A!"


def test_missing_param_raises(good: Catalogue) -> None:
    with pytest.raises(KeyError, match="name"):
        good.text("en", "greeting")


def test_format_spec_applies_to_value(good: Catalogue) -> None:
    assert good.text("en", "stats.percent", ratio=0.256) == "Rate: 26%"


# --- escaping ------------------------------------------------------------------------


def test_params_are_escaped(good: Catalogue) -> None:
    assert good.text("en", "greeting", name="<b>x</b>") == "Hello, &lt;b&gt;x&lt;/b&gt;!"
    assert good.text("en", "greeting", name="Tom & Jerry") == "Hello, Tom &amp; Jerry!"


def test_html_params_are_not_escaped(good: Catalogue) -> None:
    assert good.text("en", "greeting", name=Html("<b>x</b>")) == "Hello, <b>x</b>!"


def test_nested_translation_is_not_escaped_twice(good: Catalogue) -> None:
    tr = good.for_lang("en")
    inner = tr("greeting", name="<Bob>")
    assert tr("common.wrapper", inner=inner) == "<i>Hello, &lt;Bob&gt;!</i>"


def test_quotes_escaped_inside_attribute(good: Catalogue) -> None:
    text = good.text("en", "common.link", url='https://x.vn/?a=1&b="2"', label="<i>")
    assert text == '<a href="https://x.vn/?a=1&amp;b=&quot;2&quot;">&lt;i&gt;</a> &amp; &#8230;'
    assert telegram_html_problems(text) == []


def test_escape() -> None:
    assert escape("<a href='x'>&</a>") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;"
    assert escape(42) == "42"
    assert isinstance(escape("x"), Html)
    trusted = Html("<b>ok</b>")
    assert escape(trusted) is trusted


def test_html_concatenation_stays_safe() -> None:
    assert Html("<b>") + "<x>" == "<b>&lt;x&gt;"
    assert isinstance(Html("<b>") + "x", Html)
    assert "<x>" + Html("<b>") == "&lt;x&gt;<b>"
    assert isinstance("x" + Html("<b>"), Html)
    assert Html("<br>") + Html("<b>") == "<br><b>"
    assert Html("\n").join(["<a>", Html("<b>")]) == "&lt;a&gt;\n<b>"
    assert html_join(["1 < 2", Html("<i>ok</i>")], sep=", ") == "1 &lt; 2, <i>ok</i>"
    assert repr(Html("x")) == "Html('x')"


def test_attribute_access_in_template_is_refused() -> None:
    catalogue = Catalogue.from_mapping({"vi": {"evil": "{x.__class__}", "pos": "{0}"}})
    with pytest.raises(ValueError, match="plain name"):
        catalogue.text("vi", "evil", x="a")
    with pytest.raises(ValueError, match="plain name"):
        catalogue.text("vi", "pos")


# --- plurals ---------------------------------------------------------------------------


def test_plural_forms(good: Catalogue) -> None:
    assert good.text("en", "ideas.count", count=1) == "You have 1 idea"
    assert good.text("en", "ideas.count", count=0) == "You have 0 ideas"
    assert good.text("en", "ideas.count", count=5) == "You have 5 ideas"
    assert good.text("vi", "ideas.count", count=1) == "Bạn có 1 sáng kiến"
    assert good.text("vi", "ideas.count", count=5) == "Bạn có 5 sáng kiến"


def test_plural_needs_count(good: Catalogue) -> None:
    with pytest.raises(TypeError, match="count"):
        good.text("en", "ideas.count")


def test_from_mapping() -> None:
    catalogue = Catalogue.from_mapping(
        {
            "vi": {"a.b": "Xin chào {name}", "n": ["{count} cái"]},
            "en": {"a.b": "Hello {name}", "n": ["{count} item", "{count} items"]},
        }
    )
    assert catalogue.languages == ("vi", "en")
    assert catalogue.text("en", "a.b", name="<x>") == "Hello &lt;x&gt;"
    assert catalogue.text("en", "n", count=2) == "2 items"
    assert catalogue.text("vi", "n", count=2) == "2 cái"
    assert catalogue.check() == []


# --- fallback ---------------------------------------------------------------------------


def test_missing_key_falls_back_to_vietnamese_and_warns_once(
    broken: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="handlers.i18n"):
        first = broken.text("en", "missing.in.en", name="An")
        second = broken.for_lang("en")("missing.in.en", name="Bình")
    assert first == "Chỉ có tiếng Việt, An"
    assert second == "Chỉ có tiếng Việt, Bình"
    warnings = [r for r in caplog.records if "missing.in.en" in r.getMessage()]
    assert len(warnings) == 1


def test_missing_everywhere_raises(broken: Catalogue) -> None:
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        broken.text("en", "no.such.key")
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        broken.text("vi", "no.such.key")


def test_missing_in_vietnamese_raises_for_vietnamese(broken: Catalogue) -> None:
    assert broken.text("en", "missing.in.vi") == "English only"
    with pytest.raises(KeyError):
        broken.text("vi", "missing.in.vi")


# --- check() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expected",
    [
        "en: missing key 'missing.in.en' (present in vi)",
        "vi: missing key 'missing.in.vi' (present in en)",
        "'placeholders.differ': placeholders differ between languages (vi: {name}; en: {user})",
        "en: 'empty.text' has an empty translation",
        "en: 'html.bad_tag': tag <div> is not allowed",
        "en: 'html.unclosed': <b> is not closed",
        "en: 'html.bare_amp': bare '&'",
        "en: 'fuzzy.text' is marked fuzzy",
        "en: 'brace.malformed': malformed placeholder",
        "en: 'brace.positional': placeholders must be plain names",
        "'Hello world': not a stable key",
        "'plural.mismatch': plural in vi but not in en",
        "en: key 'greeting' is defined more than once",
    ],
)
def test_check_finds_each_problem(broken: Catalogue, expected: str) -> None:
    problems = broken.check()
    assert any(p.startswith(expected) for p in problems), problems


def test_check_reports_nothing_for_healthy_keys(broken: Catalogue) -> None:
    assert not [p for p in broken.check() if "'greeting'" in p and "more than once" not in p]


def test_check_wrong_number_of_plural_forms() -> None:
    catalogue = Catalogue.from_mapping({"vi": {"n": ["{count} cái"]}, "en": {"n": ["{count}"]}})
    assert catalogue.check() == ["en: 'n' has 1 plural forms, expected 2"]


# --- loading errors -----------------------------------------------------------------


def test_default_directory() -> None:
    assert Path(handlers.__file__).resolve().parent / "locales" == DEFAULT_LOCALES_DIR


def test_missing_default_language(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "good" / "en", tmp_path / "en")
    with pytest.raises(FileNotFoundError, match="'vi'"):
        Catalogue.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        Catalogue.load(tmp_path / "does-not-exist")


def test_malformed_po_file(tmp_path: Path) -> None:
    po = tmp_path / "vi" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "a"\nmsgstr "x"\ngarbage\n', encoding="utf-8")
    with pytest.raises(PoFileError):
        Catalogue.load(tmp_path)


def test_language_unknown_to_babel_uses_its_header(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "good" / "vi", tmp_path / "vi")
    shutil.copytree(FIXTURES / "good" / "en", tmp_path / "xx")
    catalogue = Catalogue.load(tmp_path)
    assert catalogue.languages == ("vi", "xx")
    assert catalogue.text("xx", "ideas.count", count=2) == "You have 2 ideas"


# --- Telegram HTML -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "<b>bold <i>italic <u>under</u></i></b> <s>x</s>",
        '<a href="https://example.com/?a=1&amp;b=2">link</a>',
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre>',
        "<blockquote expandable>quote</blockquote>",
        "<tg-spoiler>secret</tg-spoiler> &lt;3 &gt; &quot; &#8230; &#x1F600;",
        "{name} – {count}",
        "<B>upper-case tags are fine</B>",
    ],
)
def test_valid_telegram_html(text: str) -> None:
    assert telegram_html_problems(text) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<span>x</span>", "tag <span> is not allowed"),
        ("<br/>", "tag <br> is not allowed"),
        ("1 < 2", "bare '<'"),
        ("2 > 1", "bare '>'"),
        ("R&D", "bare '&'"),
        ("a&nbsp;b", "entity &nbsp; is not supported"),
        ("<a>x</a>", "<a> needs a 'href' attribute"),
        ('<b class="x">x</b>', "attribute 'class' is not allowed on <b>"),
        ("<b><i>x</b></i>", "<i> is not closed before </b>"),
        ("x</b>", "</b> without a matching <b>"),
        ("<b>x", "<b> is not closed"),
        ("<code><b>x</b></code>", "<b> inside <code>"),
        ("<pre><i>x</i></pre>", "<i> inside <pre>"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "<blockquote> inside <blockquote>"),
    ],
)
def test_invalid_telegram_html(text: str, problem: str) -> None:
    problems = telegram_html_problems(text)
    assert any(problem in p for p in problems), problems
