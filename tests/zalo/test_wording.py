"""What a Zalo worker reads speaks of numbers and words, never of buttons or a menu."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.render import html_to_plain
from bot.zalo.wording import ZaloWording
from handlers.i18n import Catalogue
from standins.zalo import ZaloStandinClient, ZaloStandinServer
from storage.models import RoleKind, Unit
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import invite
from tests.zalo.test_channel import USER, run_channel, zalo_settings

# Texts only the support team or an official reads (they are on Telegram), and the
# command menu's descriptions (Zalo has no menu, so it never shows them).
TEAM_ONLY = (
    "card.",
    "chart.",
    "commands.",
    "decline.",
    "digest.",
    "group.",
    "history.",
    "invite.",
    "progress.",
    "queue.",
    "reminder.",
    "sheet.",
    "team.",
    "triage.",
    "zalo.",
)
BUTTON_WORDS = re.compile(
    r"\b(bấm|nhấn|nút|chạm|menu|tap|press|pressed|button|buttons|click)\b", re.IGNORECASE
)


def rendered(catalogue: Catalogue, lang: str, key: str) -> str:
    """The text of ``key`` with a stand-in value for each of its placeholders."""
    params: dict[str, object] = {}
    for _ in range(20):
        try:
            return catalogue.text(lang, key, **params)
        except TypeError:
            params["count"] = 2
        except KeyError as exc:
            name = re.search(r"needs parameter '(\w+)'", str(exc))
            assert name is not None, exc
            params[name.group(1)] = f"«{name.group(1)}»"
    raise AssertionError(key)


def test_no_text_a_zalo_worker_meets_speaks_of_buttons(catalogue: Catalogue) -> None:
    wording = ZaloWording.load()
    spoken: list[tuple[str, str, str]] = []
    for key in catalogue:
        if key.startswith(TEAM_ONLY):
            continue
        for lang in ("vi", "en"):
            text = html_to_plain(wording.apply(rendered(catalogue, lang, key)))
            if BUTTON_WORDS.search(text):
                spoken.append((lang, key, text))
    assert spoken == []


def _po(path: Path, language: str, texts: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f'msgid ""\nmsgstr ""\n"Language: {language}\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n'
    )
    body = "".join(f'\nmsgid "{key}"\nmsgstr "{text}"\n' for key, text in texts.items())
    path.write_text(header + body, encoding="utf-8")


def test_a_variant_may_live_in_another_file_of_the_language(tmp_path: Path) -> None:
    vi = tmp_path / "vi" / "LC_MESSAGES"
    _po(vi / "messages.po", "vi", {"a.ask": "Bấm «Xong» cho {ref}.", "zalo.b.ask": "Gõ Gửi ({n})."})
    _po(
        vi / "area.po", "vi", {"zalo.a.ask": "Gõ <b>Xong</b> cho {ref}.", "b.ask": "Bấm Gửi ({n})."}
    )
    en = tmp_path / "en" / "LC_MESSAGES"
    _po(en / "messages.po", "en", {"a.ask": "Press «Done» for {ref}."})
    _po(en / "zalo_area.po", "en", {"zalo.a.ask": "Type <b>Done</b> for {ref}."})

    wording = ZaloWording.load(tmp_path)

    assert wording.keys == {"a.ask", "b.ask"}
    assert wording.apply("Bấm «Xong» cho SK-1.") == "Gõ <b>Xong</b> cho SK-1."
    assert wording.apply("Bấm Gửi (3).") == "Gõ Gửi (3)."
    assert wording.apply("Press «Done» for SK-2.") == "Type <b>Done</b> for SK-2."


def test_a_variant_keeps_the_values_and_the_rest_of_the_message(catalogue: Catalogue) -> None:
    wording = ZaloWording.load()
    t = catalogue.for_lang("vi")
    text = f"Trước.\n{t('answer.received', ref='SK-2026-000007')}\nSau."
    zalo = wording.apply(text)
    assert zalo.startswith("Trước.\n") and zalo.endswith("\nSau.")
    assert "SK-2026-000007" in zalo and not BUTTON_WORDS.search(zalo)
    assert wording.apply("Một sáng kiến về nút bấm máy ép.") == "Một sáng kiến về nút bấm máy ép."


async def test_help_and_a_bad_choice_on_zalo_speak_of_numbers(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    tmp_path: Path,
    h: Harness,
    units: dict[str, Unit],
) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.MEMBER)
    async for _channel, _ in run_channel(zalo_settings(server, tmp_path), db, catalogue):
        sent = await people.send_text(USER, f"/start {token}")
        await people.wait_reply(sent)
        sent = await people.send_text(USER, "/help")
        [page1] = await people.wait_reply(sent)
        assert "Gửi sáng kiến" in page1["text"]
        assert not BUTTON_WORDS.search(page1["text"]), page1["text"]
        sent = await people.send_text(USER, "/idea")
        await people.wait_reply(sent)
        sent = await people.send_text(USER, "Lắp cảm biến tắt máy nén khí khi chuyền dừng.")
        await people.wait_reply(sent)
        sent = await people.send_text(USER, "xong")
        await people.wait_reply(sent)  # the category question
        sent = await people.send_text(USER, "không biết nữa")
        replies = await people.wait_messages(USER, 2, after_seq=sent["message"]["seq"])
        texts = "\n".join(r["text"] for r in replies)
        assert not BUTTON_WORDS.search(texts), texts
        assert "số" in replies[0]["text"]
