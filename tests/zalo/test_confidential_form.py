"""A Zalo worker sends a confidential idea by typing only: numbers, words, then the title.

Zalo has no buttons: each reply is read against the numbered choices of the newest message
that offered some (``bot.zalo.choices.match_choice``), else as a command or as text. The
confidential path's title question offers choices too (shareable instead, cancel), so a
typed title must stay a title.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.zalo.choices import match_choice, parse_command
from handlers.events import ChatRef, Incoming, Sender
from storage.models import Idea, RoleKind, Unit
from tests.flows.harness import Harness, Result
from tests.flows.test_worker_idea import invite

LAN = "zl-8001"


class ZaloChat:
    """One Zalo person's chat: what they type is read as the Zalo adapter reads it."""

    def __init__(self, h: Harness, user: str) -> None:
        self.h, self.user = h, user
        self.choices: list[tuple[str, str]] = []
        self.choices_message = ""

    async def say(self, text: str) -> Result:
        base = {
            "update_id": next(self.h._update_ids),
            "sender": Sender("zalo", self.user, "Nguyễn Thị Lan", None),
            "chat": ChatRef("zalo", self.user, "private"),
            "message_id": f"m{next(self.h._message_ids)}",
        }
        command = parse_command(text) if text.lstrip().startswith("/") else None
        picked = None if command else match_choice(text, self.choices)
        if picked is not None:
            # A pick answers the message that offered the choices, as a press would.
            base["message_id"] = self.choices_message
            incoming = Incoming(
                **base,  # type: ignore[arg-type]
                button=self.choices[picked][1],
                callback_id=self.user,
            )
        else:
            command = command or parse_command(text)
            incoming = Incoming(
                **base,  # type: ignore[arg-type]
                text=None if command else text,
                command=command[0] if command else None,
                command_args=command[1] if command else "",
            )
        result = await self.h.feed(incoming)
        for reply in result.replies:
            if reply.message.buttons:
                self.choices = [(b.text, b.data) for row in reply.message.buttons for b in row]
                self.choices_message = reply.message_id
        return result


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def ideas(h: Harness) -> list[Idea]:
    async with h.sessionmaker() as session:
        return list((await session.execute(select(Idea))).scalars())


async def test_confidential_idea_typed_on_zalo(h: Harness, units: dict[str, Unit]) -> None:
    lan = ZaloChat(h, LAN)
    await lan.say(f"/start {await invite(h, units['HCM-Q7-MAY'], RoleKind.MEMBER)}")
    await lan.say("gửi sáng kiến")
    await lan.say("Thay dao cat o may so 3 moi tuan, goi anh Hung 0912345678 de lay dao")
    await lan.say("xong")
    await lan.say("1")  # a technical solution
    await lan.say("tang nang suat")
    r = await lan.say("bo qua")
    assert "Bảo mật" in r.last.labels[0]
    r = await lan.say("một")  # confidential
    assert "tiêu đề ngắn" in r.last.text and "chỉ có tiêu đề" in r.last.text
    # Typed without diacritics, and not read as one of the two choices offered.
    r = await lan.say("Dao cat may so 3")
    assert "<b>Tiêu đề:</b> Dao cat may so 3" in r.last.text and "chỉ có tiêu đề" in r.last.text
    await lan.say("1")  # Submit
    [idea] = await ideas(h)
    assert idea.confidential and idea.title == "Dao cat may so 3" and idea.title_given


async def test_on_zalo_a_number_at_the_title_question_picks_shareable(
    h: Harness, units: dict[str, Unit]
) -> None:
    lan = ZaloChat(h, LAN)
    await lan.say(f"/start {await invite(h, units['HCM-Q7-MAY'], RoleKind.MEMBER)}")
    await lan.say("/idea")
    await lan.say("Lap den LED o nha an ca de tiet kiem dien")
    for answer in ("xong", "2", "1", "bo qua", "1"):
        r = await lan.say(answer)
    assert "tiêu đề ngắn" in r.last.text
    r = await lan.say("🔒")  # only a symbol: no title, and no choice either
    assert "Tiêu đề cần có chữ" in r.last.text
    r = await lan.say("1")  # the first choice: shareable instead
    assert "🌐 Có thể chia sẻ" in r.last.text and "chỉ có tiêu đề" not in r.last.text
    await lan.say("gui")
    [idea] = await ideas(h)
    assert not idea.confidential and not idea.title_given
