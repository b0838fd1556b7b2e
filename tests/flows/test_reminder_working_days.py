"""The team's reminder counts working days and says so (issue 16)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from handlers.cards import VIETNAM
from handlers.reminders import ReminderPolicy, run_reminders
from storage.models import Idea, Unit
from tests.flows.harness import Harness
from tests.flows.test_triage import ANH, submit, support


async def test_the_reminder_comes_after_the_holidays_and_says_working_days(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    sent = datetime(2026, 8, 31, 10, 0, tzinfo=VIETNAM)  # Monday before National Day
    async with h.sessionmaker() as session:
        await session.execute(update(Idea).where(Idea.id == idea.id).values(waiting_since=sent))
        await session.commit()
    policy = ReminderPolicy(working_days=3)
    catalogue = h.dispatcher.catalogue
    thursday = datetime(2026, 9, 3, 10, 0, tzinfo=VIETNAM)
    assert (await run_reminders(h.sessionmaker, catalogue, thursday, policy)).reminded == 0
    monday = datetime(2026, 9, 7, 10, 0, tzinfo=VIETNAM)
    assert (await run_reminders(h.sessionmaker, catalogue, monday, policy)).reminded == 1
    await h.deliver()
    reminders = [m.text for m in h.screen(ANH) if "Nhắc việc" in m.text]
    assert reminders and "3 ngày làm việc" in reminders[-1], reminders
