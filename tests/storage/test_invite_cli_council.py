"""``python -m bot invite --role council|council_chair`` (issue 18): the initiative
council's invites expire like every role invite and print the group link too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.models import RoleKind
from tests.storage.test_invite_cli import database, invites, invoke, issue

__all__ = ["database"]  # the fixture, used by name


@pytest.mark.parametrize("role", ["council", "council_chair"])
def test_a_council_invite_expires_and_offers_the_councils_group(database: str, role: str) -> None:
    before = datetime.now(UTC)
    _, result = issue("--role", role)
    issue("--role", role, env={"INVITES_ROLE_DAYS": "2"})
    assert "?startgroup=" in result.stdout and "council's group" in result.stdout
    default, overridden = invites(database)
    assert default.role == overridden.role == RoleKind(role).value
    assert default.expires_at is not None and overridden.expires_at is not None
    assert before + timedelta(days=7) <= default.expires_at <= datetime.now(UTC) + timedelta(days=7)
    assert overridden.expires_at - default.expires_at < timedelta(days=-4, hours=-23)


def test_an_unknown_role_names_every_role_and_writes_nothing(database: str) -> None:
    result = invoke("invite", "--unit", "HCM-Q7-CTYMAY", "--role", "chairman")
    assert result.exit_code == 2, result.output
    for role in ("member", "support", "official", "admin", "council", "council_chair"):
        assert role in result.output
    assert invites(database) == []


def test_the_help_names_the_council_roles() -> None:
    result = invoke("invite", "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "council_chair" in result.output and "initiative council" in result.output
