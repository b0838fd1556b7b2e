"""Issue #21, the worker's side: the review lists the ideas like theirs already sent.

Only ideas the worker may see are listed (their own, and their unit's shareable ones);
the unit's and the unit above's are still recorded for the team at Submit, which stays
one tap and looks nothing up.
"""

from __future__ import annotations

import itertools
import logging
import re

import pytest
from sqlalchemy import func, select

from bot.runtime.input_rate import InputRate, Verdict
from storage.models import Conversation, Idea, IdeaStatus, Identity, RoleKind, Unit, UnitKind
from storage.repositories.ideas import IdeaRepository
from tests.flows.harness import Harness, Reply, Result
from tests.flows.test_progress import add_unit
from tests.flows.test_worker_idea import fill_form, invite, join_by_link

WORKER, OTHER, SIBLING, FAR = 1001, 1002, 1003, 1004
REF = re.compile(r"SK-2026-\d{6}")

ORIGINAL_TITLE = "Lắp thêm quạt hút bụi ở xưởng cắt vải"
ORIGINAL = "Lắp thêm quạt hút bụi ở xưởng cắt vải để công nhân không bị ho và vải không bị bám bụi"
# The same idea as workers type it: no diacritics, "ko" and "dc".
TYPED = "lap them quat hut bui o xuong cat vai de cong nhan ko bi ho, vai ko bam bui dc"
# Another idea about the same machine.
NEAR_TITLE = "Thay lưỡi dao máy cắt vải"
NEAR = "Thay lưỡi dao máy cắt vải ở xưởng cắt mỗi tuần để mép vải không bị sờn"
NEAR_TYPED = "thay luoi dao may cat vai o xuong cat moi tuan de mep vai ko bi son"
UNRELATED = "Đổi giờ ăn ca cho ca đêm sớm hơn nửa tiếng để công nhân đỡ mệt"

HEADING_VI = "Ý tưởng giống của bạn đã được gửi ở đơn vị bạn"
HEADING_EN = "Ideas like yours already sent in your unit"

_numbers = itertools.count(1)


@pytest.fixture
async def h(harness: Harness) -> Harness:
    u = harness.units
    hn = await add_unit(harness, "HN", "Liên đoàn Lao động TP. Hà Nội", UnitKind.PROVINCE, u["VN"])
    await add_unit(harness, "HN-X", "CĐCS Công ty Xi măng Hồng Hà", UnitKind.GRASSROOTS, hn)
    await join_by_link(harness, WORKER, u["HCM-Q7-MAY"])
    await join_by_link(harness, OTHER, u["HCM-Q7-MAY"])
    await join_by_link(harness, SIBLING, u["HCM-Q7-DIEN"])
    await join_by_link(harness, FAR, u["HN-X"])
    return harness


async def person_id(h: Harness, user: int) -> int:
    async with h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())


async def stored_idea(
    h: Harness,
    author: int,
    unit: Unit,
    title: str,
    body: str,
    *,
    confidential: bool = False,
    status: IdeaStatus = IdeaStatus.SUBMITTED,
    language: str = "vi",
) -> Idea:
    """An idea sent earlier, stored as the form stores it (its matching words too)."""
    async with h.sessionmaker() as session:
        idea = await IdeaRepository(session).add(
            Idea(
                ref_code=f"SK-2025-{next(_numbers):06d}",
                author_id=await person_id(h, author),
                unit_id=unit.id,
                holder_unit_id=unit.id,
                title=title,
                title_given=True,
                body=body,
                category="safety",
                benefit="cost",
                confidential=confidential,
                language=language,
                status=status.value,
                created_at=h.now,
                updated_at=h.now,
                waiting_since=h.now,
            )
        )
        await session.commit()
        return idea


async def recorded(h: Harness, ref: str) -> dict[int, float]:
    """The ideas recorded like the idea ``ref`` at its submission (for the team)."""
    async with h.sessionmaker() as session:
        pairs = (
            await session.execute(select(Idea.similar).where(Idea.ref_code == ref))
        ).scalar_one()
        return {other: score for other, score in pairs or []}


async def submit(h: Harness, review: Result, label: str = "Gửi") -> str:
    """One tap on Submit; the reference the worker is given."""
    assert review.last.labels[0] == label, "Submit stays the first button"
    r = await h.press(WORKER, review.last.button(label), lang="en" if label == "Submit" else "vi")
    assert len(r.replies) == 1, "exactly one confirmation"
    ref = REF.search(r.last.text)
    assert ref is not None, r.last.text
    return ref.group()


async def test_the_same_idea_typed_without_diacritics_is_listed(h: Harness) -> None:
    u = h.units
    original = await stored_idea(
        h, OTHER, u["HCM-Q7-MAY"], ORIGINAL_TITLE, ORIGINAL, status=IdeaStatus.APPROVED
    )
    r = await fill_form(h, WORKER, TYPED)
    review = r.last.text
    assert "Xem lại sáng kiến" in review
    assert HEADING_VI in review
    assert f"• {original.ref_code} — {ORIGINAL_TITLE} (✅ Đã duyệt" in review
    assert "Nếu ý tưởng của bạn khác, bấm <b>Gửi</b>." in review
    assert review.index("Xem lại sáng kiến") < review.index(HEADING_VI), "under the review"
    ref = await submit(h, r)
    found = await recorded(h, ref)
    assert list(found) == [original.id] and found[original.id] >= 0.45


async def test_what_the_worker_may_not_see_is_not_listed_but_recorded_for_the_team(
    h: Harness,
) -> None:
    u = h.units
    secret = await stored_idea(
        h, OTHER, u["HCM-Q7-MAY"], "Quạt xưởng cắt", ORIGINAL, confidential=True
    )
    sibling = await stored_idea(h, SIBLING, u["HCM-Q7-DIEN"], ORIGINAL_TITLE, ORIGINAL)
    far = await stored_idea(h, FAR, u["HN-X"], ORIGINAL_TITLE, ORIGINAL)
    parent = await stored_idea(h, OTHER, u["HCM-Q7"], ORIGINAL_TITLE, ORIGINAL)
    r = await fill_form(h, WORKER, TYPED)
    review = r.last.text
    assert "Xem lại sáng kiến" in review and HEADING_VI not in review
    for idea in (secret, sibling, far, parent):
        assert idea.ref_code not in review
    assert "Quạt xưởng cắt" not in review
    ref = await submit(h, r)
    assert set(await recorded(h, ref)) == {secret.id, parent.id}


async def test_the_workers_own_confidential_idea_is_listed_escaped(h: Harness) -> None:
    own = await stored_idea(
        h, WORKER, h.units["HCM-Q7-MAY"], "Quạt hút <b>xưởng cắt</b>", ORIGINAL, confidential=True
    )
    r = await fill_form(h, WORKER, TYPED)
    assert HEADING_VI in r.last.text
    assert f"{own.ref_code} — Quạt hút &lt;b&gt;xưởng cắt&lt;/b&gt; (📨" in r.last.text
    assert "<b>xưởng" not in r.last.text


async def test_a_support_role_in_a_sibling_unit_lists_nothing_of_it(h: Harness) -> None:
    u = h.units
    token = await invite(h, u["HCM-Q7-DIEN"], RoleKind.SUPPORT)
    r = await h.send(WORKER, f"/start {token}")
    assert "tổ hỗ trợ sáng kiến" in r.last.text  # the role was granted
    sibling = await stored_idea(h, SIBLING, u["HCM-Q7-DIEN"], ORIGINAL_TITLE, ORIGINAL)
    r = await fill_form(h, WORKER, TYPED)
    assert "Xem lại sáng kiến" in r.last.text
    assert HEADING_VI not in r.last.text and sibling.ref_code not in r.last.text
    ref = await submit(h, r)
    assert await recorded(h, ref) == {}, "a sibling unit is not the team's to compare"


async def test_a_different_idea_about_the_same_machine_is_not_listed(h: Harness) -> None:
    unit = h.units["HCM-Q7-MAY"]
    original = await stored_idea(h, OTHER, unit, ORIGINAL_TITLE, ORIGINAL)
    near = await stored_idea(h, OTHER, unit, NEAR_TITLE, NEAR)
    r = await fill_form(h, WORKER, TYPED)
    assert original.ref_code in r.last.text and near.ref_code not in r.last.text
    r = await h.click(WORKER, r.last, "Hủy")
    await h.click(WORKER, r.last, "Bỏ bản nháp")
    r = await fill_form(h, WORKER, NEAR_TYPED)
    assert near.ref_code in r.last.text and original.ref_code not in r.last.text


async def test_editing_the_text_looks_again(h: Harness) -> None:
    original = await stored_idea(h, OTHER, h.units["HCM-Q7-MAY"], ORIGINAL_TITLE, ORIGINAL)
    r = await fill_form(h, WORKER, TYPED)
    assert original.ref_code in r.last.text

    async def new_text(text: str) -> Reply:
        screen = h.screen(WORKER)[-1]
        await h.click(WORKER, screen, "Sửa")
        await h.click(WORKER, h.screen(WORKER)[-1], "Nội dung")
        await h.send(WORKER, text)
        await h.click(WORKER, h.screen(WORKER)[-1], "Xong")
        return h.screen(WORKER)[-1]

    review = await new_text(UNRELATED)
    assert "Xem lại sáng kiến" in review.text and "giờ ăn ca" in review.text
    assert HEADING_VI not in review.text and original.ref_code not in review.text
    review = await new_text(TYPED)
    assert HEADING_VI in review.text and original.ref_code in review.text
    # A restart re-prompts the saved form: the list is shown again from what was stored.
    r = await h.send(WORKER, "/idea")
    assert original.ref_code in r.last.text


async def test_an_english_draft_matches_an_english_idea(h: Harness) -> None:
    await h.send(WORKER, "/lang", lang="en")
    english = await stored_idea(
        h,
        OTHER,
        h.units["HCM-Q7-MAY"],
        "Dust extractor fan in the fabric cutting workshop",
        "Install a dust extractor fan in the fabric cutting workshop so workers stop coughing"
        " and the fabric stays clean",
        language="en",
    )
    vietnamese = await stored_idea(h, OTHER, h.units["HCM-Q7-MAY"], NEAR_TITLE, NEAR)
    typed = "Put extra dust extraction fans in the fabric cutting workshop so workers do not cough"
    r = await fill_form(h, WORKER, typed, lang="en")
    review = r.last.text
    assert "Review your idea" in review and HEADING_EN in review
    assert f"{english.ref_code} — Dust extractor fan in the fabric cutting workshop" in review
    assert "If yours is different, tap <b>Submit</b>." in review
    assert vietnamese.ref_code not in review
    ref = await submit(h, r, label="Submit")
    assert list(await recorded(h, ref)) == [english.id]


async def test_a_flood_of_edits_and_reviews_stays_polite(h: Harness) -> None:
    """30 quick Edit / Back rounds through the bot's own input rate: the review keeps its
    list while admitted, one "slow down" answers the rest, and nothing is sent or recorded."""
    original = await stored_idea(h, OTHER, h.units["HCM-Q7-MAY"], ORIGINAL_TITLE, ORIGINAL)
    r = await fill_form(h, WORKER, TYPED)
    review = r.last
    edit, back = review.button("Sửa"), ""
    rate = InputRate(burst=20, per_second=1.0)
    clock = itertools.count(0.0, 0.1)  # ten presses a second
    replies: list[Reply] = []
    for n in range(60):
        if n == 1:
            back = h.screen(WORKER)[-1].button("Quay lại")
        incoming = h.incoming(WORKER, button=back if n % 2 else edit, message_id=review.message_id)
        verdict = rate.admit(f"telegram:{WORKER}", next(clock))
        if verdict is Verdict.ADMIT:
            result = await h.feed(incoming)
            replies += result.replies
        else:
            await h.dispatcher.throttled(incoming, warn=verdict is Verdict.WARN)
            replies += (await h.deliver()).values()
    slow = [m for m in replies if "Bạn gửi nhanh quá" in m.text]
    assert len(slow) == 1, "one polite slow-down for the burst"
    reviews = [m for m in replies if "Gửi" in m.labels]
    assert len(reviews) >= 5 and all(original.ref_code in m.text for m in reviews)
    async with h.sessionmaker() as session:
        assert await session.scalar(select(func.count(Idea.id))) == 1
        assert await session.scalar(select(func.count()).where(Idea.similar.is_not(None))) == 0
    # Quiet again: the form still goes on, Submit is still one tap and records the original.
    shown = next(m for m in reversed(h.screen(WORKER)) if m.labels)
    if "Gửi" not in shown.labels:
        shown = (await h.click(WORKER, shown, "Quay lại")).last
    r = await h.click(WORKER, shown, "Gửi")
    ref = REF.search(r.last.text)
    assert ref is not None and list(await recorded(h, ref.group())) == [original.id]


async def test_no_idea_text_or_names_in_the_logs(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await stored_idea(h, OTHER, h.units["HCM-Q7-MAY"], ORIGINAL_TITLE, ORIGINAL)
    caplog.set_level(logging.DEBUG, logger="handlers")
    r = await fill_form(h, WORKER, TYPED)
    assert HEADING_VI in r.last.text
    await submit(h, r)
    ours = "\n".join(rec.getMessage() for rec in caplog.records if rec.name.startswith("handlers"))
    assert "similar ideas: 1 listed" in ours  # the lookup is logged, by counts only
    for private in ("quat hut", "quạt hút", "Nguyễn Văn An", ORIGINAL_TITLE):
        assert private not in ours


async def test_submit_keeps_the_teams_list_only_for_the_unit_it_was_looked_up_in(
    h: Harness,
) -> None:
    """The team's list is kept in the form's data with the unit it was looked up for:
    Submit keeps it on the new idea, each idea once, and keeps nothing if the worker has
    joined another unit since (its ideas were not compared)."""
    u = h.units
    original = await stored_idea(h, OTHER, u["HCM-Q7-MAY"], ORIGINAL_TITLE, ORIGINAL)
    r = await fill_form(h, WORKER, TYPED)
    async with h.sessionmaker() as session:
        saved = await session.get(Conversation, f"telegram:{WORKER}")
        assert saved is not None and saved.data["similar"]["team"][0][0] == original.id
        hint = [[original.id, 0.7], [original.id, 0.6]]
        saved.data = {**saved.data, "similar": {**saved.data["similar"], "team": hint}}
        await session.commit()
    ref = await submit(h, r)
    assert await recorded(h, ref) == {original.id: 0.7}

    r = await fill_form(h, WORKER, TYPED)
    async with h.sessionmaker() as session:
        saved = await session.get(Conversation, f"telegram:{WORKER}")
        assert saved is not None and saved.data["similar"]["team"]
        moved = {**saved.data["similar"], "unit": u["HCM-Q7-DIEN"].id}
        saved.data = {**saved.data, "similar": moved}
        await session.commit()
    assert await recorded(h, await submit(h, r)) == {}
