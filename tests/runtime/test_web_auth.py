"""The dashboard's credentials over real HTTP (aiohttp's test server, real SQLite).

A Mini App's initData signed as Telegram documents it opens /api/me; anything forged,
stale or from the future is 401; a Telegram user the bot does not know or a person with
no official or support role is 403. A sign-in link works once and makes a session
that expires; a cookie POST without the CSRF header is refused; a flood is 429 before
it reaches the database; the logs never carry a token, initData or a name.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from bot.web.auth import Auth
from bot.web.server import RUNNER_OPTIONS, DashboardServer, FloodGate, create_app
from handlers.dashboard.service import Dashboard
from handlers.i18n import Catalogue
from storage.db import create_engine, create_sessionmaker
from storage.models import Base, RoleKind
from storage.uow import UnitOfWork
from tests.flows.harness import Harness, seed_units
from tests.flows.test_worker_idea import invite, join_by_link

TOKEN = "123456789:AAHe2eTestTokenForTheStandInServer01"
OTHER_TOKEN = "987654321:AAHAnotherBotsTokenNotOurs0000000001"
# A further bot of the same deployment (telegram.bots, issue #22).
NORTH_TOKEN = "555000111:AAHTheDeploymentsNorthernBot00000001"
OFFICIAL, WORKER, STRANGER = 5001, 7001, 9001
NAME = "Trịnh Thị Bích"


def init_data(user: int | None, *, signed_at: datetime, token: str = TOKEN, **extra: str) -> str:
    """initData as Telegram makes it: fields, and the hash of their sorted lines."""
    fields = {"auth_date": str(int(signed_at.timestamp())), "query_id": "AAH1", **extra}
    if user is not None:
        fields["user"] = json.dumps({"id": user, "first_name": NAME}, ensure_ascii=False)
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


async def person_id(h: Harness, user: int) -> int:
    async with UnitOfWork(h.sessionmaker) as uow:
        person = await uow.people.by_private_chat("telegram", str(user))
    assert person is not None
    return person.id


@dataclass
class Clock:
    now: datetime
    monotonic: float = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> float:
        return self.monotonic


@dataclass
class Web:
    client: TestClient[Any, Any]
    h: Harness
    clock: Clock
    auth: Auth
    queries: list[str]

    async def me(self, **headers: str) -> tuple[int, dict[str, Any]]:
        response = await self.client.get("/api/me", headers=headers)
        return response.status, await response.json()

    def tma(self, user: int | None, *, age: timedelta = timedelta(minutes=1), **kw: Any) -> str:
        return "tma " + init_data(user, signed_at=self.clock.now - age, **kw)

    async def redeem(self, token: str, **headers: str) -> Any:
        """Press the sign-in page's button: POST the link's token."""
        return await self.client.post(
            "/app/sign-in", data={"t": token}, headers=headers, allow_redirects=False
        )

    async def sign_in_token(self, user: int) -> str:
        person = await person_id(self.h, user)
        return await self.auth.create_sign_in(person, minutes=10)


@pytest.fixture
async def web(tmp_path: Path, catalogue: Catalogue) -> AsyncIterator[Web]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'web.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessionmaker = create_sessionmaker(engine)
    h = Harness(sessionmaker, catalogue)
    h.units = await seed_units(sessionmaker)
    await h.send(OFFICIAL, f"/start {await invite(h, h.units['HCM-Q7'], RoleKind.OFFICIAL)}")
    await join_by_link(h, WORKER, h.units["HCM-Q7-MAY"], lang="en")
    clock = Clock(datetime.now(UTC))
    auth = Auth(
        sessionmaker=sessionmaker,
        reader=sessionmaker,
        bot_token=TOKEN,
        other_bot_tokens=[NORTH_TOKEN],
        clock=clock,
    )
    dashboard = Dashboard(sessionmaker=sessionmaker, reader=sessionmaker, catalogue=catalogue)
    server = DashboardServer(
        dashboard=dashboard,
        auth=auth,
        catalogue=catalogue,
        reports_dir=tmp_path / "reports",
        flood=FloodGate(burst=10, per_second=1, clock=clock.tick),
    )
    queries: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda *args: queries.append(args[2]),
    )
    test_server = TestServer(create_app(server))
    await test_server.start_server(**RUNNER_OPTIONS)  # the runner bot.web.channel makes
    async with TestClient(test_server) as client:
        yield Web(client, h, clock, auth, queries)
    await engine.dispose()


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.load()


async def test_valid_init_data_opens_me_and_every_forgery_is_401(web: Web) -> None:
    status, me = await web.me(Authorization=web.tma(OFFICIAL, signature="c2lnbmF0dXJl"))
    assert status == 200 and me["person_id"] == await person_id(web.h, OFFICIAL)
    assert "tree" in me["views"]

    genuine = web.tma(OFFICIAL)
    tampered = genuine.replace("query_id=AAH1", "query_id=AAH2")
    assert tampered != genuine
    forgeries = {
        "no credential": {},
        "one field changed": {"Authorization": tampered},
        "signed with another bot's token": {"Authorization": web.tma(OFFICIAL, token=OTHER_TOKEN)},
        "expired": {"Authorization": web.tma(OFFICIAL, age=timedelta(minutes=61))},
        "from the future": {"Authorization": web.tma(OFFICIAL, age=-timedelta(minutes=2))},
        "no user": {"Authorization": web.tma(None)},
        "no hash": {"Authorization": genuine.split("&hash=")[0]},
        "another scheme": {"Authorization": "Bearer " + genuine.removeprefix("tma ")},
        "a made-up cookie": {"Cookie": "sk_session=abc"},
    }
    for what, headers in forgeries.items():
        assert await web.me(**headers) == (401, {"error": "unauthorized"}), what
    # Half a minute ahead of our clock is Telegram's clock, not a forgery.
    assert (await web.me(Authorization=web.tma(OFFICIAL, age=-timedelta(seconds=30))))[0] == 200


async def test_a_mini_app_opened_from_a_further_bot_of_the_deployment_signs_in(web: Web) -> None:
    # Telegram signs initData with the token of the bot the Mini App was opened from; the
    # user id is the same on every bot, so the official is the same person.
    status, me = await web.me(Authorization=web.tma(OFFICIAL, token=NORTH_TOKEN))
    assert status == 200 and me["person_id"] == await person_id(web.h, OFFICIAL)
    tampered = web.tma(OFFICIAL, token=NORTH_TOKEN).replace("query_id=AAH1", "query_id=AAH2")
    assert await web.me(Authorization=tampered) == (401, {"error": "unauthorized"})
    assert await web.me(Authorization=web.tma(WORKER, token=NORTH_TOKEN)) == (
        403,
        {"error": "forbidden"},
    )


async def test_a_stranger_and_a_worker_with_genuine_init_data_are_403(web: Web) -> None:
    assert await web.me(Authorization=web.tma(STRANGER)) == (403, {"error": "forbidden"})
    assert await web.me(Authorization=web.tma(WORKER)) == (403, {"error": "forbidden"})


async def test_a_sign_in_link_works_once_and_its_session_expires(web: Web) -> None:
    token = await web.sign_in_token(OFFICIAL)
    first = await web.redeem(token)
    assert first.status == 303 and first.headers["Location"] == "/app/"
    cookie = first.cookies["sk_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == 8 * 3600
    session = {"Cookie": f"sk_session={cookie.value}"}
    status, me = await web.me(**session)
    assert status == 200 and me["person_id"] == await person_id(web.h, OFFICIAL)

    again = await web.redeem(token)
    assert again.status == 401 and "/dashboard" in await again.text()
    assert "sk_session" not in again.cookies

    web.clock.now += timedelta(hours=8, seconds=1)
    assert (await web.me(**session))[0] == 401


async def test_expired_unknown_and_missing_links_are_401(web: Web) -> None:
    token = await web.sign_in_token(OFFICIAL)
    web.clock.now += timedelta(minutes=10, seconds=1)
    for form in ({"t": token}, {"t": "A" * 43}, {}, {"t": "x"}):
        response = await web.client.post("/app/sign-in", data=form, allow_redirects=False)
        assert response.status == 401, form
        assert "sk_session" not in response.cookies
    for query in ("t=" + "A" * 5, "", "t=<script>" + "A" * 30, "t=a&t=b"):
        response = await web.client.get(f"/app/sign-in?{query}", allow_redirects=False)
        assert response.status == 401, query
        assert "<script>" not in await response.text()


async def test_opening_the_link_spends_nothing_only_the_button_signs_in(web: Web) -> None:
    """A messenger fetching the link for a preview (a GET) cannot use it up."""
    token = await web.sign_in_token(OFFICIAL)
    for _ in range(3):
        page = await web.client.get(f"/app/sign-in?t={token}", allow_redirects=False)
        assert page.status == 200 and "sk_session" not in page.cookies
        assert f'name="t" value="{token}"' in await page.text()
    # Another site's form cannot sign a browser in (nor spend the link).
    foreign = await web.redeem(token, Origin="https://evil.example")
    assert foreign.status == 401 and "sk_session" not in foreign.cookies
    assert (await web.redeem(token)).status == 303


async def test_two_redemptions_at_once_make_one_session(web: Web) -> None:
    token = await web.sign_in_token(OFFICIAL)
    responses = await asyncio.gather(*(web.redeem(token) for _ in range(2)))
    assert sorted(r.status for r in responses) == [303, 401]


async def test_a_cookie_post_needs_the_csrf_header(web: Web) -> None:
    token = await web.sign_in_token(OFFICIAL)
    signed_in = await web.redeem(token)
    cookie = {"Cookie": f"sk_session={signed_in.cookies['sk_session'].value}"}
    body = {"action": "approve", "request_id": "not a number"}
    refused = await web.client.post("/api/ideas/1/action", json=body, headers=cookie)
    assert refused.status == 403 and await refused.json() == {"error": "forbidden"}
    # With the header the request gets as far as reading the body (malformed here: 400).
    headers = {**cookie, "X-Requested-With": "sangkien"}
    bad = await web.client.post("/api/ideas/1/action", json=body, headers=headers)
    assert bad.status == 400 and (await bad.json())["error"] == "bad_request"
    # A Mini App's initData goes in a header no other site's form can send: no CSRF header.
    tma = {"Authorization": web.tma(OFFICIAL)}
    assert (await web.client.post("/api/ideas/1/action", json=body, headers=tma)).status == 400


async def test_malformed_requests_are_400_in_the_persons_language(web: Web) -> None:
    paths = ("/api/ideas/abc", "/api/ideas/-1", "/api/tree?unit=1.5", "/api/tree?unit=1&unit=2")
    for path in paths:
        response = await web.client.get(path, headers={"Authorization": web.tma(WORKER)})
        body = await response.json()
        assert response.status == 400, path
        assert body == {"error": "bad_request", "message": body["message"]}
        assert "reload the page" in body["message"]  # the worker chose English
    big = {"action": "ask", "request_id": 1, "text": "x" * 20_000}
    response = await web.client.post(
        "/api/ideas/1/action", json=big, headers={"Authorization": web.tma(OFFICIAL)}
    )
    assert response.status == 413


async def test_a_flood_from_one_person_is_429_and_costs_no_query(web: Web) -> None:
    headers = {"Authorization": web.tma(STRANGER)}
    statuses = [(await web.me(**headers))[0] for _ in range(10)]
    assert statuses == [403] * 10
    web.queries.clear()
    flood = [await web.client.get("/api/me", headers=headers) for _ in range(50)]
    assert {r.status for r in flood} == {429}
    assert web.queries == []
    # Someone else is not held up by it.
    assert (await web.me(Authorization=web.tma(OFFICIAL)))[0] == 200
    web.clock.monotonic += 2.0  # the bucket fills again
    assert (await web.me(**headers))[0] == 403


async def test_every_answer_carries_the_security_headers(web: Web) -> None:
    for path in ("/api/me", "/app/sign-in?t=x", "/app/static/nothing.js", "/app/"):
        response = await web.client.get(path, allow_redirects=False)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors https://web.telegram.org" in csp
        assert "http" not in csp.replace("https://web.telegram.org", "")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_logs_carry_no_token_init_data_or_name(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await web.sign_in_token(OFFICIAL)
    signed_in = await web.redeem(token)
    session = signed_in.cookies["sk_session"].value
    init = web.tma(OFFICIAL)
    await web.me(Authorization=init)
    await web.me(Cookie=f"sk_session={session}")
    await web.client.get(f"/app/sign-in?t={token}")
    await web.redeem(token)
    logged = caplog.text
    person = await person_id(web.h, OFFICIAL)
    assert f"GET /api/me 200 person {person}" in logged
    assert "POST /app/sign-in 303" in logged and "POST /app/sign-in 401" in logged
    assert "GET /app/sign-in 200" in logged
    hash_of_init = init.rsplit("hash=", 1)[1]
    for secret in (token, session, hash_of_init, NAME, "Trịnh", "auth_date", "?t="):
        assert secret not in logged, secret
