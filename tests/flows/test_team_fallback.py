"""An empty or idle support team never leaves ideas waiting unseen (issue #19).

A unit whose team is empty, or none of whose members joined or acted on one of its
ideas for ``team.inactive_days`` (30 by default), is served by the nearest active team
above: its new ideas' cards and its reminders go there, with why, and that team
decides them. A team that comes back to life (a new member) serves again.
"""

from __future__ import annotations

from datetime import timedelta

from handlers.reminders import ReminderPolicy, run_reminders
from storage.models import Unit
from tests.flows.harness import Harness
from tests.flows.test_triage import ANH, DUNG, card_of, idea_now, submit, support

CUONG = 2003


def told(h: Harness, chat: int, ref: str) -> list[str]:
    return [m.text for m in h.screen(chat) if ref in m.text and m.text.startswith("ℹ️")]


async def test_an_idle_teams_new_ideas_go_to_the_active_team_above_which_decides(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    may, q7 = units["HCM-Q7-MAY"], units["HCM-Q7"]
    await support(h, ANH, may, "Anh")
    joined = h.now
    h.now += timedelta(days=31)
    await support(h, DUNG, q7, "Dũng")
    idea = await submit(h, may)
    await h.deliver()
    assert not [m for m in h.screen(ANH) if idea.ref_code in m.text], "not to the idle team"
    why = told(h, DUNG, idea.ref_code)
    assert why and "không có thành viên nào hoạt động từ" in why[0]
    assert joined.strftime("%d/%m/%Y") in why[0] and "Công ty May Phú Mỹ" in why[0]
    r = await h.click(DUNG, card_of(h, DUNG, idea.ref_code), "Duyệt")
    await h.click(DUNG, r.last, "Đúng, duyệt")
    assert (await idea_now(h, idea.id)).status == "approved"
    # A new colleague joins the idle team: it serves its unit again, nobody else is told.
    await support(h, CUONG, may, "Cường")
    fresh = await submit(h, may, "Gom vải vụn để tái chế làm giẻ lau máy")
    assert card_of(h, ANH, fresh.ref_code) and card_of(h, CUONG, fresh.ref_code)
    assert not [m for m in h.screen(DUNG) if fresh.ref_code in m.text]


async def test_a_team_that_went_quiet_has_its_reminders_sent_above_with_why(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    may, q7 = units["HCM-Q7-MAY"], units["HCM-Q7"]
    await support(h, ANH, may, "Anh")
    idea = await submit(h, may)
    assert card_of(h, ANH, idea.ref_code)
    await h.deliver()
    anh_before = len(h.screen(ANH))
    h.now += timedelta(days=33)  # Anh never acted; the district's team joins meanwhile
    await support(h, DUNG, q7, "Dũng")
    await run_reminders(h.sessionmaker, h.dispatcher.catalogue, h.now, ReminderPolicy())
    await h.deliver()
    reminders = [m for m in h.screen(DUNG) if idea.ref_code in m.text and m.message.buttons]
    assert reminders, [m.text[:60] for m in h.screen(DUNG)]
    why = told(h, DUNG, idea.ref_code)
    assert why and "không có thành viên nào hoạt động từ" in why[0]
    assert len(h.screen(ANH)) == anh_before, "the quiet team is not the one reminded"
    # The reminder's Open gives the team above the card with the decision buttons.
    await h.click(DUNG, reminders[0], "SK-")
    await h.deliver()
    card = card_of(h, DUNG, idea.ref_code)
    assert card.message_id == reminders[0].message_id and "✅ Duyệt" in card.labels


async def test_a_grassroots_union_with_no_team_is_served_above_with_why(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, DUNG, units["HCM-Q7"], "Dũng")
    idea = await submit(h, units["HCM-Q7-DIEN"])
    assert card_of(h, DUNG, idea.ref_code)
    await h.deliver()
    why = told(h, DUNG, idea.ref_code)
    assert why and "chưa có tổ hỗ trợ sáng kiến" in why[0] and "Điện tử Tân Thuận" in why[0]


async def test_an_idle_team_with_nobody_active_above_still_gets_its_ideas(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    may = units["HCM-Q7-MAY"]
    await support(h, ANH, may, "Anh")
    h.now += timedelta(days=45)
    idea = await submit(h, may)
    card = card_of(h, ANH, idea.ref_code)  # an idle team is better than none
    r = await h.click(ANH, card, "Duyệt")
    await h.click(ANH, r.last, "Đúng, duyệt")
    assert (await idea_now(h, idea.id)).status == "approved"
    assert not told(h, ANH, idea.ref_code)


async def test_the_team_above_finds_the_ideas_it_serves_in_its_queue(
    harness: Harness, units: dict[str, Unit]
) -> None:
    """/queue of the district's team lists the ideas of a unit below without a team (it
    decides them), never those of a unit below whose own team serves them."""
    h = harness
    q7, dien, may = units["HCM-Q7"], units["HCM-Q7-DIEN"], units["HCM-Q7-MAY"]
    await support(h, DUNG, q7, "Dũng")
    await support(h, ANH, may, "Anh")
    served = await submit(h, dien, "Thay bóng đèn sợi đốt ở kho bằng đèn LED cảm biến")
    own = await submit(h, may, "Gom vải vụn để tái chế làm giẻ lau máy")
    queue = (await h.send(DUNG, "/queue")).last
    assert served.ref_code in queue.text and own.ref_code not in queue.text
    anh_queue = (await h.send(ANH, "/queue")).last
    assert own.ref_code in anh_queue.text and served.ref_code not in anh_queue.text
    # Opened from the list, the card decides: the district's team is the deciding one.
    await h.click(DUNG, queue, served.ref_code)
    await h.deliver()
    r = await h.click(DUNG, card_of(h, DUNG, served.ref_code), "Duyệt")
    await h.click(DUNG, r.last, "Đúng, duyệt")
    assert (await idea_now(h, served.id)).status == "approved"
