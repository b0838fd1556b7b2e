"""The confidential path asks for a short title and says what travels above the unit.

A confidential idea's text, author and files stay with the author's grassroots unit; above it
only the title the worker typed and the benefit travel. A title derived from the text would
carry the text (a phone number included) up the tree, so a confidential idea is never
submitted without a typed title.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from handlers.events import OtherContent
from handlers.flows.idea_draft import title_carries_text
from handlers.limits import MAX_IDEA_TITLE_CHARS
from storage.models import Conversation, Idea, RoleKind, Unit
from tests.flows.harness import Harness, Result, photo
from tests.flows.test_worker_idea import invite, join_by_link

WORKER = 1001
DISTRICT_SUPPORT = 2002
TEXT = "Thay dao cắt ở máy số 3 mỗi tuần, gọi anh Hùng 0912 345 678 để lấy dao"
# What the title question says (Vietnamese, the default), and its English twin.
ASKS = "tiêu đề ngắn"
TRAVELS = "chỉ có tiêu đề"
NO_PHONE = "số điện thoại"
EN_ASKS, EN_TRAVELS = "short title", "go to higher levels"


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def up_to_confidential(h: Harness, text: str = TEXT, lang: str = "vi") -> Result:
    """From /idea to the confidential-or-shareable question (amount skipped)."""
    labels = {
        "vi": ("Xong", "Giải pháp kỹ thuật", "Tăng năng suất", "Bỏ qua"),
        "en": ("Done", "Technical solution", "Raises productivity", "Skip"),
    }[lang]
    await h.send(WORKER, "/idea", lang=lang)
    r = await h.send(WORKER, text, lang=lang)
    for label in labels:
        r = await h.press(WORKER, r.last.button(label), lang=lang)
    return r


async def stored_ideas(h: Harness) -> list[Idea]:
    async with h.sessionmaker() as session:
        return list((await session.execute(select(Idea).order_by(Idea.id))).scalars())


async def conversation(h: Harness) -> tuple[str | None, str | None, dict[str, Any]]:
    async with h.sessionmaker() as session:
        row = await session.get(Conversation, f"telegram:{WORKER}")
        assert row is not None
        return row.flow, row.step, dict(row.data)


async def test_confidential_asks_for_a_title_and_stores_it_as_typed(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h)
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    question = r.last
    assert ASKS in question.text and TRAVELS in question.text and NO_PHONE in question.text
    assert str(MAX_IDEA_TITLE_CHARS) in question.text
    assert "Gửi" not in question.labels, "no way to submit before a title is typed"
    r = await h.send(WORKER, "Lich thay dao cat may so 3")  # typed without diacritics
    review = r.last
    assert "<b>Tiêu đề:</b> Lich thay dao cat may so 3" in review.text
    assert TRAVELS in review.text, "the review says again what travels"
    assert review.labels == ["Gửi", "Sửa", "Hủy"]
    await h.press(WORKER, review.button("Gửi"))
    [idea] = await stored_ideas(h)
    assert idea.confidential is True
    assert idea.title == "Lich thay dao cat may so 3" and idea.title_given is True
    assert idea.body == TEXT


async def test_the_question_and_review_in_english(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"], lang="en")
    r = await up_to_confidential(h, "Change the cutter blades of machine 3 every week", "en")
    r = await h.press(WORKER, r.last.button("Confidential"), lang="en")
    assert EN_ASKS in r.last.text and EN_TRAVELS in r.last.text and "phone" in r.last.text
    r = await h.send(WORKER, "Weekly blade change", lang="en")
    assert EN_TRAVELS in r.last.text and "Weekly blade change" in r.last.text


async def test_a_confidential_idea_cannot_be_submitted_without_a_typed_title(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h)
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    nonce = r.last.message.buttons[0][0].data.split(":")[1]
    # A forged Submit of this very form, at the title question: refused.
    r = await h.press(WORKER, f"idea:{nonce}:review:submit")
    assert r.answer is not None and "cũ" in r.answer.text
    assert ASKS in r.last.text, "the title question is asked again"
    assert await stored_ideas(h) == []
    _, step, data = await conversation(h)
    assert step == "title" and "title" not in data


async def test_a_form_saved_before_the_change_asks_for_the_title_at_submit(
    h: Harness, units: dict[str, Unit]
) -> None:
    """A conversation stored at the review, confidential, with no typed title (as before)."""
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h)
    r = await h.press(WORKER, r.last.button("Có thể chia sẻ"))
    submit = r.last.button("Gửi")
    _, _, data = await conversation(h)
    data["confidential"] = True
    async with h.sessionmaker() as session:
        key = f"telegram:{WORKER}"
        await session.execute(
            update(Conversation).where(Conversation.chat_key == key).values(data=data)
        )
        await session.commit()
    r = await h.press(WORKER, submit)
    assert ASKS in r.last.text and TRAVELS in r.last.text
    assert await stored_ideas(h) == []
    r = await h.send(WORKER, "Lịch thay dao cắt")
    r = await h.press(WORKER, r.last.button("Gửi"))
    [idea] = await stored_ideas(h)
    assert idea.title == "Lịch thay dao cắt" and idea.title_given and idea.confidential


async def test_shareable_idea_keeps_a_derived_title(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h, "Lắp thêm đèn chiếu sáng ở cầu thang kho số 2")
    r = await h.press(WORKER, r.last.button("Có thể chia sẻ"))
    assert r.last.labels == ["Gửi", "Sửa", "Hủy"] and TRAVELS not in r.last.text
    await h.press(WORKER, r.last.button("Gửi"))
    [idea] = await stored_ideas(h)
    assert idea.confidential is False and idea.title_given is False
    assert idea.title == "Lắp thêm đèn chiếu sáng ở cầu thang kho số 2"


async def test_a_shareable_idea_with_a_typed_title_says_so(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h, "Lắp thêm đèn chiếu sáng ở cầu thang kho số 2")
    r = await h.press(WORKER, r.last.button("Có thể chia sẻ"))
    r = await h.press(WORKER, r.last.button("Sửa"))
    r = await h.press(WORKER, r.last.button("Tiêu đề"))
    assert TRAVELS not in r.last.text, "a shareable idea's title question stays short"
    r = await h.send(WORKER, "Đèn cầu thang kho")
    await h.press(WORKER, r.last.button("Gửi"))
    [idea] = await stored_ideas(h)
    assert idea.title == "Đèn cầu thang kho" and idea.title_given is True


async def test_bad_titles_get_polite_answers_and_change_nothing(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h)
    await h.press(WORKER, r.last.button("Bảo mật"))
    before = await conversation(h)
    r = await h.send(WORKER, "   \u200b  ")
    assert "Tiêu đề cần có chữ" in r.last.text
    r = await h.send(WORKER, "🔒🔒 ✨")
    assert "Tiêu đề cần có chữ" in r.last.text
    r = await h.send(WORKER, "x" * (MAX_IDEA_TITLE_CHARS + 1))
    assert f"tối đa là {MAX_IDEA_TITLE_CHARS}" in r.last.text
    r = await h.send(WORKER, "/foo")
    assert "/foo" in r.last.text and "/help" in r.last.text
    r = await h.send(WORKER, None, files=(photo(),))
    assert "Tiêu đề cần có chữ" in r.last.text
    r = await h.send(WORKER, None, other=OtherContent.STICKER)
    assert "Tiêu đề cần có chữ" in r.last.text
    assert await conversation(h) == before
    assert await stored_ideas(h) == []


async def test_bad_titles_in_english(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"], lang="en")
    r = await up_to_confidential(h, "Change the cutter blades of machine 3 every week", "en")
    await h.press(WORKER, r.last.button("Confidential"), lang="en")
    r = await h.send(WORKER, "🙂🙂", lang="en")
    assert "A title needs letters or numbers" in r.last.text
    r = await h.send(WORKER, "y" * (MAX_IDEA_TITLE_CHARS + 5), lang="en")
    assert "That title is" in r.last.text
    _, step, data = await conversation(h)
    assert step == "title" and "title" not in data


async def test_switching_to_shareable_and_back(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h)
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    # Changed their mind at the title question: shareable, with the derived title.
    r = await h.press(WORKER, r.last.button("chia sẻ"))
    assert "<b>Bảo mật:</b> 🌐 Có thể chia sẻ" in r.last.text and TRAVELS not in r.last.text
    # And back to confidential from the review's edit menu: the same title question.
    r = await h.press(WORKER, r.last.button("Sửa"))
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    assert ASKS in r.last.text and TRAVELS in r.last.text
    assert "« Quay lại" not in r.last.labels, "back would leave a confidential idea untitled"
    r = await h.send(WORKER, "Dao cắt máy số 3")
    assert TRAVELS in r.last.text
    # Shareable again, then confidential again: the typed title is kept, no new question.
    r = await h.press(WORKER, r.last.button("Sửa"))
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    r = await h.press(WORKER, r.last.button("Có thể chia sẻ"))
    assert "<b>Tiêu đề:</b> Dao cắt máy số 3" in r.last.text and TRAVELS not in r.last.text
    r = await h.press(WORKER, r.last.button("Sửa"))
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    assert r.last.labels == ["Gửi", "Sửa", "Hủy"] and TRAVELS in r.last.text
    await h.press(WORKER, r.last.button("Gửi"))
    [idea] = await stored_ideas(h)
    assert idea.confidential and idea.title == "Dao cắt máy số 3" and idea.title_given


async def test_editing_the_text_keeps_the_typed_title(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h)
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    r = await h.send(WORKER, "Dao cắt máy số 3")
    r = await h.press(WORKER, r.last.button("Sửa"))
    r = await h.press(WORKER, r.last.button("Nội dung"))
    r = await h.send(WORKER, "Thay dao cắt ở máy số 3 mỗi tuần thay vì mỗi tháng")
    r = await h.press(WORKER, r.last.button("Xong"))
    assert "<b>Tiêu đề:</b> Dao cắt máy số 3" in r.last.text and TRAVELS in r.last.text
    # The title question from the edit menu, for a confidential idea: what travels, and Back.
    r = await h.press(WORKER, r.last.button("Sửa"))
    r = await h.press(WORKER, r.last.button("Tiêu đề"))
    assert TRAVELS in r.last.text and NO_PHONE in r.last.text
    r = await h.press(WORKER, r.last.button("Quay lại"))
    await h.press(WORKER, r.last.button("Gửi"))
    [idea] = await stored_ideas(h)
    assert idea.title == "Dao cắt máy số 3" and idea.body.endswith("thay vì mỗi tháng")


async def test_cancel_at_the_title_question(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await up_to_confidential(h)
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    r = await h.press(WORKER, r.last.button("Hủy"))
    assert "Bỏ bản nháp này?" in r.last.text  # the text typed so far is not lost on one tap
    r = await h.press(WORKER, r.last.button("Bỏ bản nháp"))
    assert "Đã hủy" in r.last.text
    assert await stored_ideas(h) == []
    flow, _, _ = await conversation(h)
    assert flow is None


async def test_a_title_that_carries_the_text_is_the_workers_choice_but_warned(
    h: Harness, units: dict[str, Unit]
) -> None:
    district_token = await invite(h, units["HCM-Q7"], RoleKind.SUPPORT)
    await h.send(DISTRICT_SUPPORT, f"/start {district_token}")
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    short = "Gọi anh Hùng 0912 345 678 để lấy dao cắt mới"
    r = await up_to_confidential(h, short)
    r = await h.press(WORKER, r.last.button("Bảo mật"))
    r = await h.send(WORKER, short)
    assert TRAVELS in r.last.text and "⚠️" in r.last.text, "the review warns about the title"
    r = await h.press(WORKER, r.last.button("Sửa"))
    r = await h.press(WORKER, r.last.button("Tiêu đề"))
    r = await h.send(WORKER, "Dao cắt mới")
    assert TRAVELS in r.last.text and "⚠️" not in r.last.text
    await h.press(WORKER, r.last.button("Gửi"))
    [idea] = await stored_ideas(h)
    assert idea.title == "Dao cắt mới" and idea.title_given


@pytest.mark.parametrize(
    ("title", "carries"),
    [
        ("Gọi anh Hùng 0912 345 678", True),
        ("Liên hệ +84 912.345.678", True),
        ("Dao cắt máy số 3", False),
        ("Tiết kiệm 20.000.000 đồng mỗi năm", False),  # an amount, not a phone number
        ("Thay dao cat o may so 3 moi tuan, goi anh", True),  # the text itself, unaccented
        ("Thay dao cắt", False),  # a few words of the text make a fair title
    ],
)
def test_what_looks_like_the_text_in_a_title(title: str, carries: bool) -> None:
    assert title_carries_text(title, TEXT) is carries
