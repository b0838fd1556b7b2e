"""Telegram's HTML parse mode: what it accepts, what it makes of it, how it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from standins.telegram.html import HtmlParseError, parse_html
from standins.telegram.text import format_text, utf16_length


def entities(text: str) -> list[dict[str, Any]]:
    return [entity.to_json() for entity in parse_html(text)[1]]


def test_every_supported_tag_becomes_its_entity() -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        "<strike>k</strike><del>d</del><tg-spoiler>p</tg-spoiler>"
        '<span class="tg-spoiler">q</span><code>c</code><pre>r</pre>'
        '<a href="https://example.org">a</a><blockquote>z</blockquote>'
        "<blockquote expandable>x</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    kinds = [entity["type"] for entity in entities(html)]
    assert kinds == [
        "bold",
        "bold",
        "italic",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "code",
        "pre",
        "text_link",
        "blockquote",
        "expandable_blockquote",
        "custom_emoji",
    ]


def test_offsets_and_lengths_count_utf16_code_units() -> None:
    text, found = parse_html("Ý tưởng 💡 <b>số 1 🚀</b> &lt;ok&gt;")
    assert text == "Ý tưởng 💡 số 1 🚀 <ok>"
    bold = found[0].to_json()
    # "Ý tưởng 💡 " is 11 UTF-16 units (the bulb is a surrogate pair); "số 1 🚀" is 7.
    assert bold == {"type": "bold", "offset": 11, "length": 7}
    assert utf16_length(text) == 23


def test_entities_and_numeric_references_are_decoded() -> None:
    text, _ = parse_html("a &amp; b &quot;c&quot; &#65;&#x42; &lt;/b&gt;")
    assert text == 'a & b "c" AB </b>'


def test_a_bare_ampersand_is_kept_like_telegram_does() -> None:
    assert parse_html("AT&T & co")[0] == "AT&T & co"
    with pytest.raises(HtmlParseError, match='Character "&" must be escaped at byte offset 2'):
        parse_html("AT&T", strict_ampersand=True)


def test_pre_with_code_language_is_one_pre_entity() -> None:
    found = entities('<pre><code class="language-python">print(1)</code></pre>')
    assert found == [{"type": "pre", "offset": 0, "length": 8, "language": "python"}]


def test_link_to_a_user_is_a_text_mention() -> None:
    found = entities('<a href="tg://user?id=1001">Lan</a>')
    assert found[0]["type"] == "text_mention"
    assert found[0]["user"]["id"] == 1001


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("Hello <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 6'),
        ("Xin chào <br>", 'Unsupported start tag "br" at byte offset 10'),
        ("<b>never closed", "Can't find end tag corresponding to start tag b"),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
    ],
)
def test_errors_say_what_telegram_says(html: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as raised:
        parse_html(html)
    assert str(raised.value).startswith(error)


def test_byte_offsets_count_utf8_bytes() -> None:
    # "Tiếng Việt " is 11 characters but 15 bytes: "ế" and "ệ" take three bytes each.
    with pytest.raises(HtmlParseError, match='"x" at byte offset 15'):
        parse_html("Tiếng Việt <x>")


def test_format_text_trims_and_finds_commands_links_and_mentions() -> None:
    formatted = format_text(
        "  <b>Gửi</b> /idea tới @sangkien_bot, xem https://t.me/x.  \n", "HTML", None
    )
    assert formatted.text == "Gửi /idea tới @sangkien_bot, xem https://t.me/x."
    kinds = {entity["type"]: entity for entity in formatted.entities}
    assert kinds["bold"] == {"type": "bold", "offset": 0, "length": 3}
    assert kinds["bot_command"] == {"type": "bot_command", "offset": 4, "length": 5}
    assert kinds["mention"]["length"] == len("@sangkien_bot")
    assert formatted.text[kinds["url"]["offset"] :].startswith("https://t.me/x")
