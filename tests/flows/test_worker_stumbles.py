"""What a worker stumbled on in the idea form (issue 16, items 4-7)."""

from __future__ import annotations

import pytest

from handlers.limits import MAX_IDEA_BODY_CHARS
from storage.models import Person, Unit
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import join_by_link

WORKER = 1001


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


# ---------------------------------------------------------------- 7: amounts and the limit


async def test_approximate_amounts_are_taken_in_both_languages(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    await h.send(WORKER, "/idea")
    r = await h.send(WORKER, "Đổi lịch bảo trì máy dệt sang cuối tuần")
    r = await h.press(WORKER, r.last.button("Xong"))
    r = await h.press(WORKER, r.last.button("Quản lý"))
    r = await h.press(WORKER, r.last.button("Tiết kiệm chi phí"))
    r = await h.send(WORKER, "khoang 20 trieu")
    assert "Bảo mật" in r.last.labels[0], r.last.text
    r = await h.press(WORKER, r.last.button("Có thể chia sẻ"))
    assert "20.000.000 đ" in r.last.text


async def test_over_the_limit_counts_what_is_left(h: Harness, units: dict[str, Unit]) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"], lang="en")
    await h.send(WORKER, "/idea", lang="en")
    r = await h.send(WORKER, "x" * (MAX_IDEA_BODY_CHARS + 1), lang="en")
    assert f"only {MAX_IDEA_BODY_CHARS} more fit" in r.last.text, r.last.text
    first = "y" * (MAX_IDEA_BODY_CHARS - 10)
    await h.send(WORKER, first, lang="en")
    r = await h.send(WORKER, "z" * 23, lang="en")
    # 2990 kept, a blank line between parts: 8 more fit, and the message says 23 is too many.
    assert "has 23 characters, but only 8 more fit" in r.last.text, r.last.text
    r = await h.send(WORKER, "z" * 8, lang="en")
    assert "3000 characters" in r.last.text, r.last.text


# ------------------------------------------------ 4: a question while a draft is open


DRAFT = "Sáng kiến thứ hai: dùng lại nước làm mát cho máy ép"


async def _draft_then_question(h: Harness, units: dict[str, Unit]) -> tuple[str, int]:
    """An idea submitted, a second one in draft, then the team asks about the first."""
    from tests.flows.test_triage import ANH, card_of, submit, support

    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    await h.send(WORKER, "/idea")
    await h.send(WORKER, DRAFT)
    await h.click(ANH, card_of(h, ANH, idea.ref_code), "Hỏi thêm")
    await h.send(ANH, "Máy nén nào, ở xưởng nào?", name="Anh")
    return idea.ref_code, idea.id


async def test_typing_after_a_question_asks_which_is_meant_then_answers_the_team(
    h: Harness, units: dict[str, Unit]
) -> None:
    from tests.flows.test_triage import ANH, card_of, events

    ref, idea_id = await _draft_then_question(h, units)
    r = await h.send(WORKER, "May nen so 2 o xuong det, canh cua kho")
    assert ref in r.last.text and "Đã nhận" not in r.last.text
    assert len(r.last.labels) == 2 and ref in r.last.labels[0]
    r = await h.click(WORKER, r.last, ref)
    assert "Đã nhận phần trả lời" in r.last.text
    r = await h.click(WORKER, r.last, "Gửi trả lời")
    assert "Đã gửi câu trả lời" in r.texts[0]
    assert "May nen so 2" in card_of(h, ANH, ref).text
    assert [k for k, _ in await events(h, idea_id)][-1] == "info_added"
    # The draft is back as it was: the answer did not go into it.
    assert "Đã nhận" in r.last.text and "Xong" in r.last.labels
    assert "May nen" not in r.last.text
    r = await h.click(WORKER, r.last, "Xong")
    assert "loại nào" in r.last.text


async def test_typing_after_a_question_can_go_into_the_draft(
    h: Harness, units: dict[str, Unit]
) -> None:
    from tests.flows.test_triage import idea_now

    _, idea_id = await _draft_then_question(h, units)
    more, again = "Thêm: lắp bồn chứa 2 khối cạnh xưởng", "Và một van một chiều"
    r = await h.send(WORKER, more)
    r = await h.click(WORKER, r.last, "sáng kiến mới")
    chars = len(DRAFT) + 2 + len(more)
    assert f"({chars} ký tự" in r.last.text, r.last.text  # the message joined the draft
    # Asked once per question: the next message goes straight into the draft.
    r = await h.send(WORKER, again)
    assert f"({chars + 2 + len(again)} ký tự" in r.last.text, r.last.text
    assert (await idea_now(h, idea_id)).status == "info_requested"  # still for the Answer button


async def test_a_question_asked_before_the_draft_was_opened_holds_nothing(
    h: Harness, units: dict[str, Unit]
) -> None:
    """Only a question that came while the draft was open holds a message: one asked
    before goes to the Answer button (and a message outside the form), as the worker was
    told when it was asked."""
    from tests.flows.test_triage import ANH, card_of, idea_now, submit, support

    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    await h.click(ANH, card_of(h, ANH, idea.ref_code), "Hỏi thêm")
    await h.send(ANH, "Máy nén nào, ở xưởng nào?", name="Anh")
    async with h.sessionmaker() as session:
        author = await session.get(Person, idea.author_id)
        assert author is not None and author.questions_at is not None
    await h.send(WORKER, "/idea")
    r = await h.send(WORKER, DRAFT)
    assert f"({len(DRAFT)} ký tự" in r.last.text, r.last.text  # straight into the draft
    assert (await idea_now(h, idea.id)).status == "info_requested"


# ---------------------------------------------------------------- 5: Cancel asks first


async def test_cancel_on_the_review_asks_before_discarding(
    h: Harness, units: dict[str, Unit]
) -> None:
    from storage.models import Idea
    from tests.flows.test_worker_idea import count, fill_form

    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await fill_form(h, WORKER, "Thay bóng đèn cũ bằng đèn LED ở nhà ăn ca")
    r = await h.click(WORKER, r.last, "Hủy")
    assert "Bỏ bản nháp này?" in r.last.text and len(r.last.labels) == 2
    r = await h.click(WORKER, r.last, "Giữ lại")  # a mis-tap costs nothing
    assert "Xem lại sáng kiến" in r.last.text and r.last.labels == ["Gửi", "Sửa", "Hủy"]
    r = await h.click(WORKER, r.last, "Hủy")
    r = await h.click(WORKER, r.last, "Bỏ bản nháp")
    assert "Đã hủy" in r.last.text and not r.last.labels
    r = await h.send(WORKER, "/idea")
    assert "Sáng kiến của bạn là gì" in r.last.text  # a fresh form, nothing left of the old
    assert await count(h, Idea) == 0


async def test_cancel_with_typed_text_asks_but_an_empty_form_just_closes(
    h: Harness, units: dict[str, Unit]
) -> None:
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"], lang="en")
    r = await h.send(WORKER, "/idea", lang="en")
    r = await h.click(WORKER, r.last, "Cancel", lang="en")
    assert "Cancelled" in r.last.text, r.last.text
    await h.send(WORKER, "/idea", lang="en")
    r = await h.send(WORKER, "Put the spare parts shelf next to line 3", lang="en")
    r = await h.click(WORKER, r.last, "Cancel", lang="en")
    assert "Discard this draft?" in r.last.text
    r = await h.click(WORKER, r.last, "Keep it", lang="en")
    assert r.last.labels == ["Done", "Cancel"] and "40 characters" in r.last.text
    r = await h.click(WORKER, r.last, "Done", lang="en")
    assert any("Management" in label for label in r.last.labels)


# ---------------------------------------------------------------- 6: the title


async def test_a_derived_title_says_so_and_an_edit_of_the_text_says_it_changed(
    h: Harness, units: dict[str, Unit]
) -> None:
    from tests.flows.test_worker_idea import fill_form

    await join_by_link(h, WORKER, units["HCM-Q7-MAY"])
    r = await fill_form(h, WORKER, "Lắp quạt hút bụi ở xưởng cắt vải")
    assert "<b>Tiêu đề:</b> Lắp quạt hút bụi ở xưởng cắt vải" in r.last.text
    assert "lấy từ dòng đầu" in r.last.text  # derived, and the worker is told
    r = await h.click(WORKER, r.last, "Sửa")
    r = await h.click(WORKER, r.last, "Nội dung")
    r = await h.send(WORKER, "quat\nLắp quạt hút bụi ở xưởng cắt, đặt cạnh máy cắt số 2")
    r = await h.click(WORKER, r.last, "Xong")
    assert "<b>Tiêu đề:</b> quat" in r.last.text
    assert "Tiêu đề đã đổi theo nội dung mới" in r.last.text
    assert "Lắp quạt hút bụi ở xưởng cắt vải" in r.last.text  # the old title, named
    r = await h.click(WORKER, r.last, "Sửa")
    r = await h.click(WORKER, r.last, "Tiêu đề")
    r = await h.send(WORKER, "Quạt hút bụi xưởng cắt")
    assert "<b>Tiêu đề:</b> Quạt hút bụi xưởng cắt" in r.last.text
    assert "lấy từ dòng đầu" not in r.last.text and "đã đổi theo" not in r.last.text


@pytest.mark.parametrize(
    ("lang", "short", "says"),
    [("vi", "ab", "ít nhất 5 ký tự"), ("vi", "12345", "có chữ"), ("en", "Fan", "at least 5")],
)
async def test_a_typed_title_needs_a_few_letters(
    h: Harness, units: dict[str, Unit], lang: str, short: str, says: str
) -> None:
    from tests.flows.test_worker_idea import fill_form

    labels = {"vi": ("Sửa", "Tiêu đề"), "en": ("Edit", "Title")}[lang]
    await join_by_link(h, WORKER, units["HCM-Q7-MAY"], lang=lang)
    r = await fill_form(h, WORKER, "Lắp quạt hút bụi ở xưởng cắt vải", lang=lang)
    r = await h.click(WORKER, r.last, labels[0], lang=lang)
    r = await h.click(WORKER, r.last, labels[1], lang=lang)
    r = await h.send(WORKER, short, lang=lang)
    assert says in r.last.text, r.last.text
    r = await h.send(WORKER, "Quạt hút", lang=lang)
    assert "Quạt hút" in r.last.text and len(r.last.labels) == 3
