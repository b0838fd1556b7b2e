"""/progress before any campaign exists says what to do, in both languages."""

from __future__ import annotations

from storage.models import RoleKind
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import invite

OFFICIAL = 5101


async def test_progress_without_a_campaign_names_the_commands_that_set_one_up(
    harness: Harness,
) -> None:
    h = harness
    await h.send(OFFICIAL, f"/start {await invite(h, h.units['HCM-Q7'], RoleKind.OFFICIAL)}")
    answer = (await h.send(OFFICIAL, "/progress")).last.text
    assert "Chưa có đợt thi đua nào" in answer
    assert "python -m bot campaigns add" in answer
    assert "python -m bot quotas import" in answer
    await h.send(
        OFFICIAL + 1,
        f"/start {await invite(h, h.units['HCM-Q7'], RoleKind.OFFICIAL)}",
        lang="en",
    )
    answer = (await h.send(OFFICIAL + 1, "/progress", lang="en")).last.text
    assert "No campaign phase" in answer
    assert "python -m bot campaigns add" in answer
