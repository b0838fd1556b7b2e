"""The dashboard in a real browser: the real bot process (aiogram) against the Bot API
stand-in, its page driven in Debian's headless Chromium through Playwright.

One bot process serves the whole file. The sample tree, a campaign with quotas and
ideas written straight into the database (as tests/e2e/test_progress.py does) give
figures the test computes itself; the page must show the same numbers as /progress.
Telegram's initData is built and signed here with the stand-in's bot token, exactly
as Telegram signs it (docs/DASHBOARD.md, Credentials).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import pytest_asyncio
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, async_playwright

from standins.telegram.server import StandinServer
from storage.folding import fold_name
from tests.e2e.harness import (
    TOKEN,
    BotProcess,
    Person,
    base_env,
    cli,
    labels,
    link_token,
    migrated_with_sample_tree,
    text_of,
)
from tests.e2e.test_progress import (
    QUOTAS,
    VIETNAM,
    Seeded,
    World,
    _db,
    _stamp,
    expected,
    shown,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = "/usr/bin/chromium"
OFFICIAL, SUPPORT, WORKER, STRANGER = 9501, 9502, 9503, 9504
SUPPORT_UNIT = "HCM-Q7-CKTT"
LEAVES = [
    "HCM-Q7-CTYMAY",
    "HCM-Q7-CTYMAY-T01",
    "HCM-Q7-CTYMAY-T02",
    "HCM-Q7-CKTT",
    "HCM-Q7-TPSGX",
    "HCM-CTNBT",
    "HN-DTTL",
    "LA-KCN-THEP",
]
SEEDS = 90  # more than one page (50) of the province's ideas
SEARCHED = "máy nén khí"  # in a third of the seeds' titles
REF = re.compile(r"SK-\d{4}-\d{6}")
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "button_color": "#2481cc"}
JSON = dict[str, Any]


@dataclass
class Site:
    """The running bot, the browser, and what the test wrote."""

    world: World
    url: str  # http://127.0.0.1:PORT/app/
    browser: Browser
    statuses: dict[str, str] = field(default_factory=dict)  # ref -> status, every idea
    searchable: set[str] = field(default_factory=set)  # refs the official finds by SEARCHED


# ---------------------------------------------------------------------------- the world


def seed_ideas(env: dict[str, str], start: date) -> tuple[list[Seeded], dict[str, str], set[str]]:
    """Ideas written as rows (and their folded search text, as the bot stores it)."""
    rnd = random.Random(20)
    db = _db(env)
    try:
        units = {code: uid for uid, code in db.execute("SELECT id, code FROM units")}
        campaign = db.execute("SELECT id FROM campaigns").fetchone()[0]
        author = db.execute(
            "INSERT INTO people (display_name, unreachable, created_at) VALUES (?, 0, ?)",
            ("Trần Văn Seed", _stamp(datetime.now(UTC))),
        ).lastrowid
        seeded, statuses, searchable = [], {}, set()
        for n in range(SEEDS):
            code = rnd.choice(LEAVES)
            counted = n % 8 != 0
            day = start + timedelta(days=rnd.randrange(0, 20)) if counted else start - timedelta(3)
            created = datetime(day.year, day.month, day.day, 9, 30, tzinfo=VIETNAM)
            created += timedelta(minutes=n)
            approved = counted and rnd.random() < 0.45
            confidential = n % 5 == 2
            ref = f"SK-2026-7{n:05d}"
            topic = "Lắp cảm biến cho máy nén khí" if n % 3 == 0 else "Giảm hao hụt nguyên liệu"
            title = f"{topic} số {n}"
            body = f"Nội dung bí mật số {n}" if confidential else f"Mô tả chi tiết: {title}"
            cursor = db.execute(
                "INSERT INTO ideas (ref_code, author_id, unit_id, holder_unit_id, title, body,"
                " category, benefit, benefit_amount, confidential, language, status, version,"
                " created_at, updated_at, waiting_since, campaign_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'technical', 'cost', 12000000, ?, 'vi', ?, 1,"
                " ?, ?, ?, ?)",
                (
                    ref,
                    author,
                    units[code],
                    units[code],
                    title,
                    body,
                    int(confidential),
                    "approved" if approved else "submitted",
                    _stamp(created),
                    _stamp(created + timedelta(hours=2)),
                    _stamp(created),
                    campaign if counted else None,
                ),
            )
            db.execute(
                "INSERT INTO idea_search (idea_id, title, text) VALUES (?, ?, ?)",
                (cursor.lastrowid, fold_name(title), fold_name(body)),
            )
            if approved:
                db.execute(
                    "INSERT INTO idea_events (idea_id, kind, actor_id, at) VALUES (?, ?, ?, ?)",
                    (cursor.lastrowid, "approved", author, _stamp(created + timedelta(hours=2))),
                )
            seeded.append(Seeded(ref, code, counted, approved, confidential, title))
            statuses[ref] = "approved" if approved else "submitted"
            if SEARCHED in title and not confidential:  # a confidential title was not typed
                searchable.add(ref)
        db.commit()
        return seeded, statuses, searchable
    finally:
        db.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    async with running_site(tmp_path_factory.mktemp("dashboard")) as running:
        yield running


@asynccontextmanager
async def running_site(tmp: Path) -> AsyncIterator[Site]:
    """The bot with the dashboard on a free port, its world, and a browser (also used by
    scripts/screenshots.py)."""
    async with StandinServer(port=0) as server, async_playwright() as playwright:
        env = base_env(tmp, server.base_url, "aiogram")
        env["REPORTS_DIRECTORY"] = str(tmp / "reports")
        env["WEB_PORT"] = "0"
        migrated_with_sample_tree(env)
        today = datetime.now(VIETNAM).date()
        start, end = today - timedelta(days=20), today + timedelta(days=40)
        cli(env, "campaigns", "add", "E2E-P1", "--name", "Đợt thử nghiệm", "--start",
            start.isoformat(), "--end", end.isoformat())  # fmt: skip
        quotas = tmp / "quotas.csv"
        quotas.write_text(
            "unit_code,campaign,target\n"
            + "".join(f"{code},E2E-P1,{target}\n" for code, target in QUOTAS.items()),
            encoding="utf-8",
        )
        cli(env, "quotas", "import", str(quotas))
        seeded, statuses, searchable = seed_ideas(env, start)
        assert "ideas counted" in cli(env, "progress", "rebuild")
        db = _db(env)
        rows = db.execute("SELECT code, id, path, name FROM units").fetchall()
        db.close()
        bot = BotProcess(env, tmp / "bot.log")
        client = server.client()
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            await bot.start()
            world = World(
                server,
                client,
                bot,
                env,
                tmp,
                seeded,
                paths={code: path for code, _, path, _ in rows},
                ids={code: uid for code, uid, _, _ in rows},
                names={code: name for code, _, _, name in rows},
            )
            site = Site(world, bot.dashboard_url(), browser, statuses, searchable)
            await meet_everyone(site)
            yield site
        finally:
            await browser.close()
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log
            for secret in ("tgWebAppData", "query_id=", "sign-in?t=", "cảm biến", "Gan den bao"):
                assert secret not in log, f"{secret!r} in the bot's log"


async def run_cli(world: World, *args: str) -> str:
    """The CLI in a thread: the stand-in lives in this event loop and must keep answering."""
    return await asyncio.to_thread(cli, world.env, *args)


async def meet_everyone(site: Site) -> None:
    """An official of the province, a support member of one company, its worker."""
    world, c = site.world, site.world.client
    for user, name in ((OFFICIAL, "Cán bộ Tỉnh"), (SUPPORT, "Anh"), (WORKER, "Lan")):
        await c.upsert_user(user, name, language_code="vi")
    await c.upsert_user(STRANGER, "Khách", language_code="vi")
    for user, unit, role in (
        (OFFICIAL, "HCM", "official"),
        (SUPPORT, SUPPORT_UNIT, "support"),
        (WORKER, SUPPORT_UNIT, "member"),
    ):
        out = await run_cli(world, "invite", "--unit", unit, "--role", role,
                            "--bot-username", "sangkien_bot")  # fmt: skip
        await Person(c, user).start(link_token(out))


# ---------------------------------------------------------------------------- initData


def init_data(user_id: int, *, auth_date: int | None = None, token: str = TOKEN) -> str:
    """Launch data as Telegram signs it: HMAC-SHA-256 keyed by HMAC("WebAppData", token)
    over the sorted key=value lines."""
    fields = {
        "query_id": f"AAE{user_id}test",
        "user": json.dumps(
            {"id": user_id, "first_name": "Test", "language_code": "vi"}, separators=(",", ":")
        ),
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
    }
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def mini_app(site: Site, data: str) -> str:
    """The page's address as Telegram opens a Mini App: launch data in the fragment."""
    return (
        f"{site.url}#tgWebAppData={quote(data, safe='')}&tgWebAppVersion=8.0"
        f"&tgWebAppPlatform=android&tgWebAppThemeParams={quote(json.dumps(LIGHT), safe='')}"
    )


@asynccontextmanager
async def browsing(site: Site, width: int = 1280) -> AsyncIterator[Page]:
    """A fresh browser profile; the page's script errors fail the test."""
    context = await site.browser.new_context(
        viewport={"width": width, "height": 900}, locale="vi-VN", accept_downloads=True
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert errors == []


# ---------------------------------------------------------------------------- reading the page


def count(text: str) -> int:
    return int(re.sub(r"\D", "", text))


async def figures_on(page: Page, site: Site) -> dict[str, tuple[int, int]]:
    """(submitted, approved) of the viewed unit and each sub-unit row, by unit code."""
    codes = {uid: code for code, uid in site.world.ids.items()}
    own = page.locator(".own")
    found = {
        codes[int(await own.get_attribute("data-unit-id") or 0)]: (
            count(await own.locator(".fig-submitted .value").inner_text()),
            count(await own.locator(".fig-approved .value").inner_text()),
        )
    }
    for row in await page.locator(".rows .row").all():
        found[codes[int(await row.get_attribute("data-unit-id") or 0)]] = (
            count(await row.locator(".fig-submitted").inner_text()),
            count(await row.locator(".fig-approved").inner_text()),
        )
    return found


async def viewing(page: Page, name: str) -> None:
    await page.locator("#unit-name").filter(has_text=name).wait_for()
    await page.wait_for_selector("#view-tree[aria-busy=false]")


async def refs_listed(page: Page, change: Callable[[], Any]) -> list[str]:
    """The refs the ideas list shows once the request ``change`` makes has answered."""
    async with page.expect_response(lambda r: "/api/ideas?" in r.url) as answer:
        await change()
    assert (await answer.value).status == 200
    await page.wait_for_selector("#view-ideas[aria-busy=false]")
    return [text for text in await page.locator("#idea-list .ref").all_inner_texts()]


def ranked(text: str) -> list[str]:
    """The sub-units' names in the order /progress lists them."""
    return re.findall(r"^\d+\. \S+ (.*?): ✅", text, re.M)


async def chat_wait(site: Site, chat: int, wanted: Callable[[JSON], bool]) -> JSON:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while loop.time() < deadline:
        for message in reversed(await site.world.client.messages(chat)):
            if wanted(message):
                return message
        await site.world.client.wait_quiet(0.2)
    texts = [text_of(m)[:70] for m in await site.world.client.messages(chat)]
    raise AssertionError(f"the awaited message never reached chat {chat}: {texts}")


# ---------------------------------------------------------------------------- the tests


async def test_an_official_sees_the_numbers_of_progress_and_drills_down(site: Site) -> None:
    world = site.world
    [report] = await Person(world.client, OFFICIAL).say("/progress")
    in_chat = shown(world, text_of(report))
    assert in_chat == expected(world, "HCM")
    async with browsing(site) as page:
        await page.goto(mini_app(site, init_data(OFFICIAL)))
        await viewing(page, world.names["HCM"])
        assert await page.locator("h1").inner_text() == "Sáng kiến — bảng điều khiển"
        # The same numbers as /progress, the sub-units in the same order (laggards first).
        assert await figures_on(page, site) == in_chat
        names = await page.locator(".rows .row .name").all_inner_texts()
        order = [n.rstrip(" ›") for n in names]
        assert [n for n in order if n in ranked(text_of(report))] == ranked(text_of(report))
        assert await page.locator(".rows .row svg.spark polyline").count() == len(names)
        # Two levels down, and the figures at each; the crumbs lead back up.
        await page.locator(".rows .row", has_text=world.names["HCM-Q7"]).click()
        await viewing(page, world.names["HCM-Q7"])
        assert await figures_on(page, site) == expected(world, "HCM-Q7")
        await page.locator(".rows .row", has_text=world.names["HCM-Q7-CTYMAY"]).click()
        await viewing(page, world.names["HCM-Q7-CTYMAY"])
        assert await figures_on(page, site) == expected(world, "HCM-Q7-CTYMAY")
        crumbs = await page.locator(".crumbs li").all_inner_texts()
        assert crumbs == [world.names[c] for c in ("HCM", "HCM-Q7", "HCM-Q7-CTYMAY")]
        await page.locator(".crumbs button", has_text=world.names["HCM"]).click()
        await viewing(page, world.names["HCM"])
        assert await figures_on(page, site) == in_chat


async def test_an_official_filters_the_ideas(site: Site) -> None:
    world = site.world
    hcm = world.paths["HCM"]
    mine = {s.ref for s in world.seeded if world.paths[s.unit].startswith(hcm)}
    mine |= {ref for ref in site.statuses if ref not in {s.ref for s in world.seeded}}
    assert len(mine) > 50
    async with browsing(site, width=360) as page:
        await page.goto(mini_app(site, init_data(OFFICIAL)))
        await viewing(page, world.names["HCM"])
        first = await refs_listed(page, lambda: page.locator("#tab-ideas").click())
        assert len(first) == 50 and set(first) <= mine
        every = await refs_listed(page, lambda: page.locator("#ideas-more").click())
        assert sorted(every) == sorted(mine) and len(every) == len(set(every))
        assert await page.locator("#ideas-more").is_hidden()
        # A confidential idea seeded without a typed title shows no title to the province.
        secret = next(s for s in world.seeded if s.confidential and s.ref in mine)
        item = page.locator(".idea", has=page.locator(".ref", has_text=secret.ref))
        assert await item.locator(".title").inner_text() == "(bảo mật)"

        # A status: only approved ideas.
        approved = await refs_listed(
            page, lambda: page.select_option("select[name=status]", "approved")
        )
        assert sorted(approved) == sorted(r for r in mine if site.statuses[r] == "approved")
        # Search without diacritics (and no status): the titles with "máy nén khí".
        await refs_listed(page, lambda: page.select_option("select[name=status]", ""))
        await page.fill("input[name=q]", "may nen khi")
        found = await refs_listed(page, lambda: page.press("input[name=q]", "Enter"))
        assert found and sorted(found) == sorted(site.searchable & mine)

        # The card of one of them.
        await page.locator("#idea-list .idea").first.click()
        await page.wait_for_selector("#card[open]")
        title = await page.locator("#card-title").inner_text()
        assert SEARCHED in title.lower()
        assert await page.locator("#card .act").count() == 0  # an official only looks
        await page.keyboard.press("Escape")


async def test_a_support_member_approves_on_the_page(site: Site) -> None:
    world, c = site.world, site.world.client
    worker = Person(c, WORKER)
    await worker.say("/idea")
    [ack] = await worker.say("Gan den bao khi bang tai dung de cong nhan thay ngay")
    question = await worker.press(ack, "Xong")
    question = await worker.press(question, "Giải pháp kỹ thuật")
    question = await worker.press(question, "Tăng năng suất")
    question = await worker.press(question, "Bỏ qua")
    review = await worker.press(question, "Có thể chia sẻ")
    done = await worker.press(review, "Gửi")
    match = REF.search(text_of(done))
    assert match, text_of(done)
    ref = match.group()
    card = await chat_wait(
        site, SUPPORT, lambda m: ref in text_of(m) and "Duyệt" in " ".join(labels(m))
    )

    async with browsing(site, width=360) as page:
        await page.goto(mini_app(site, init_data(SUPPORT)))
        item = page.locator("#queue-list .idea", has=page.locator(".ref", has_text=ref))
        await item.click()
        await page.wait_for_selector("#card[open]")
        actions = await page.locator("#decide .act").all_inner_texts()
        assert actions == ["Duyệt", "Hỏi thêm", "Chuyển lên", "Từ chối"]
        await page.locator("#decide .act-approve").click()
        assert ref in await page.locator("#decide .confirm").inner_text()
        async with page.expect_response(lambda r: r.url.endswith("/action")) as answer:
            await page.locator("#decide .confirm button[type=submit]").click()
        response = await answer.value
        assert response.status == 200
        body = await response.json()
        assert body["ok"] is True and body["status"] == "approved"
        await page.locator("#toast").filter(has_text=body["message"]).wait_for()
        await page.wait_for_selector("#view-queue[aria-busy=false]")
        assert await item.count() == 0  # the queue was drawn again without it

    told = await chat_wait(site, WORKER, lambda m: "đã được tổ hỗ trợ duyệt" in text_of(m))
    assert ref in text_of(told)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while "Duyệt" in " ".join(labels(await c.message(SUPPORT, card["message_id"]))):
        assert loop.time() < deadline, "the team's card kept its buttons"
        await c.wait_quiet(0.2)
    site.statuses[ref] = "approved"
    world.seeded.append(Seeded(ref, SUPPORT_UNIT, True, True, False, "live"))


async def test_forged_expired_and_outside_requests_are_refused(site: Site) -> None:
    world = site.world
    good = init_data(OFFICIAL)
    forged = good.replace(f"%22id%22%3A{OFFICIAL}", f"%22id%22%3A{OFFICIAL + 1}")
    assert forged != good and len(forged) == len(good)
    two_days_ago = int(time.time()) - 2 * 24 * 3600
    expired = init_data(OFFICIAL, auth_date=two_days_ago)
    for data in (forged, expired):
        async with browsing(site) as page:
            async with page.expect_response(lambda r: r.url.endswith("/api/me")) as answer:
                await page.goto(mini_app(site, data))
            assert (await answer.value).status == 401
            notice = page.locator("#signed-out")
            await notice.wait_for()
            assert "gửi /dashboard" in await notice.inner_text()
            assert await page.locator(".own").count() == 0

    async with browsing(site) as page:
        api, base = page.context.request, site.url.removesuffix("app/") + "api/"
        tma = {"Authorization": f"tma {good}"}
        mine = await api.get(f"{base}tree?unit={world.ids['HCM-Q7']}", headers=tma)
        assert mine.status == 200
        other = await api.get(f"{base}tree?unit={world.ids['HN']}", headers=tma)
        assert other.status == 403 and await other.json() == {"error": "forbidden"}
        nobody = await api.get(f"{base}me", headers={"Authorization": "tma "})
        assert nobody.status == 401
        # A genuine Telegram user the bot does not know: not allowed, politely.
        async with page.expect_response(lambda r: r.url.endswith("/api/me")) as answer:
            await page.goto(mini_app(site, init_data(STRANGER)))
        assert (await answer.value).status == 403
        await page.locator("#not-allowed").wait_for()


async def test_a_sign_in_link_opens_the_page_once(site: Site) -> None:
    world = site.world
    [reply] = await Person(world.client, OFFICIAL).say("/dashboard")
    match = re.search(r"https?://\S+/app/sign-in\?t=[A-Za-z0-9_-]+", text_of(reply))
    assert match, text_of(reply)
    link = match.group()
    assert link.startswith(site.url)
    async with browsing(site) as page:
        preview = await page.context.request.get(link)  # a messenger's link preview
        assert preview.status == 200
        await page.goto(link)
        await page.locator("#sign-in").click()
        await page.wait_for_url(site.url)  # on the page, the token gone from the address
        await viewing(page, world.names["HCM"])
        assert await figures_on(page, site) == expected(world, "HCM")
    async with browsing(site) as page:
        await page.goto(link)
        async with page.expect_navigation() as used:
            await page.locator("#sign-in").click()
        response = await used.value
        assert response is not None and response.status == 401
        assert "/dashboard" in await page.locator("body").inner_text()
        await page.goto(site.url)  # no session in this browser
        await page.locator("#signed-out").wait_for()


async def test_an_official_downloads_the_export(site: Site) -> None:
    world, hcm = site.world, site.world.paths["HCM"]
    async with browsing(site) as page:
        await page.goto(mini_app(site, init_data(OFFICIAL)))
        await viewing(page, world.names["HCM"])
        async with page.expect_download() as download_info:
            await page.locator("#export").click()
        download = await download_info.value
        assert download.suggested_filename.startswith("HCM")
        assert download.suggested_filename.endswith(".xlsx")
        saved = await download.path()
        workbook = load_workbook(io.BytesIO(await asyncio.to_thread(Path(saved).read_bytes)))
    rows = list(workbook["Sáng kiến"].iter_rows(values_only=True))
    got = {row[0] for row in rows[1:] if row[0]}
    counted = {s.ref for s in world.seeded if s.counted and world.paths[s.unit].startswith(hcm)}
    assert got == counted
    assert not any("bí mật" in str(v) for row in rows for v in row)
