"""The dashboard's HTTP side: the routes of docs/DASHBOARD.md over
:class:`handlers.dashboard.service.Dashboard`.

Every ``/api/`` request is authenticated (bot.web.auth), counted against its sender's
rate before the database is asked anything, and answered in JSON; the service decides
what the person may see or do. Every answer carries the security headers; bodies are
capped; the access log has the person id, the path without its query and the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.web.auth import (
    CSRF_HEADER,
    CSRF_VALUE,
    SESSION_COOKIE,
    Auth,
    Credential,
    Unauthorized,
    Unknown,
    Visitor,
)
from handlers.dashboard.service import (
    JSON,
    ActRequest,
    BadRequest,
    Dashboard,
    Decided,
    Denied,
    IdeaQuery,
)
from handlers.i18n import Catalogue

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 16 * 1024
EXPORT_CHUNK = 256 * 1024
ID = re.compile(r"[1-9][0-9]{0,17}")
FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
DEFAULT_LANG = "vi"
# Telegram's web clients show Mini Apps in a frame; the phone apps in a web view.
FRAME_ANCESTORS = "https://web.telegram.org"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {FRAME_ANCESTORS}"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SIGNED_OUT_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sáng kiến</title></head><body>
<p lang="vi">Đường dẫn đăng nhập đã được dùng, đã hết hạn hoặc không đúng.
Hãy gửi /dashboard cho bot để nhận đường dẫn mới.</p>
<p lang="en">This sign-in link has been used, has expired or is not valid.
Send /dashboard to the bot for a new one.</p>
</body></html>
"""

SIGN_IN_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sáng kiến</title></head><body>
<form method="post" action="/app/sign-in">
<input type="hidden" name="t" value="{token}">
<p lang="vi">Đường dẫn này chỉ dùng được một lần. <span lang="en">This link works once.</span></p>
<button type="submit" id="sign-in">Mở bảng điều khiển · Open the dashboard</button>
</form>
</body></html>
"""
# A sign-in token as /dashboard makes it (secrets.token_urlsafe(32)): anything else is
# refused before it is echoed into the page or looked up.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The request's signed-in person, for the access log.
VISITOR: web.RequestKey[Visitor] = web.RequestKey("visitor", Visitor)
# How the server runs: aiohttp's own access log would write the query (a sign-in token).
RUNNER_OPTIONS: dict[str, Any] = {"access_log": None, "handle_signals": False}


@dataclass
class FloodGate:
    """Requests per sender: a burst, then a steady rate (a token bucket per key). A
    flood from one person is answered 429 before it costs a database query."""

    burst: float = 40.0
    per_second: float = 5.0
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have filled up again (they hold nothing to remember)."""
        refill = self.burst / self.per_second
        for key, (_, last) in list(self._buckets.items()):
            if now - last >= refill:
                del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # all busy: forget the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k][1])[
                : self.max_keys // 2
            ]:
                del self._buckets[key]


def _json(status: int, body: JSON) -> web.Response:
    response = web.json_response(body, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def origin_of(url: str) -> str:
    """ "https://host:port" of an address (its scheme and authority)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _signed_out() -> web.Response:
    return web.Response(status=401, text=SIGNED_OUT_PAGE, content_type="text/html", charset="utf-8")


def _same_origin(request: web.Request, public_origin: str) -> bool:
    """A browser's POST names the page it came from; another site's form is refused.
    (No Origin header at all: not a browser's cross-site request.)"""
    origin = request.headers.get("Origin")
    return origin is None or origin in (f"{request.scheme}://{request.host}", public_origin)


def unauthorized() -> web.Response:
    return _json(401, {"error": "unauthorized"})


def forbidden() -> web.Response:
    return _json(403, {"error": "forbidden"})


class Problem(Exception):
    """A request the server refuses before the service is asked (an answer in hand)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class DashboardServer:
    """The routes, bound to one deployment's service and credentials."""

    dashboard: Dashboard
    auth: Auth
    catalogue: Catalogue
    reports_dir: Path
    on_change: Callable[[], None] = lambda: None  # a decision was taken: wake the sender
    static_dir: Path = STATIC
    secure_cookie: bool = False
    # The public address's origin ("https://host"), which a browser names behind a proxy.
    public_origin: str = ""
    flood: FloodGate = field(default_factory=FloodGate)

    # ------------------------------------------------------------ plumbing

    def bad_request(self, lang: str, key: str = "dashboard.bad_request") -> Problem:
        message = str(self.catalogue.text(lang, key))
        return Problem(_json(400, {"error": "bad_request", "message": message}))

    async def _visitor(self, request: web.Request) -> Visitor:
        """The signed-in person; refusals as :class:`Problem` (401, 403, 429)."""
        try:
            credential = self.auth.credential(
                request.headers.get("Authorization"), request.cookies.get(SESSION_COOKIE)
            )
        except Unauthorized:
            raise Problem(unauthorized()) from None
        if not self.flood.allow(credential.key):
            raise Problem(_json(429, {"error": "too_many_requests"}))
        if request.method == "POST" and not self._csrf_ok(request, credential):
            raise Problem(forbidden())
        try:
            visitor = await self.auth.visitor(credential)
        except Unauthorized:
            raise Problem(unauthorized()) from None
        except Unknown:
            raise Problem(forbidden()) from None
        request[VISITOR] = visitor
        return visitor

    @staticmethod
    def _csrf_ok(request: web.Request, credential: Credential) -> bool:
        """A cookie goes with every request to this site, a form's from another site
        too; that header no other site's form can set. initData is never sent by itself."""
        return not credential.cookie or request.headers.get(CSRF_HEADER) == CSRF_VALUE

    def _api(
        self, view: Callable[[web.Request, Visitor], Awaitable[web.StreamResponse]]
    ) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            lang = DEFAULT_LANG
            try:
                visitor = await self._visitor(request)
                lang = visitor.lang
                return await view(request, visitor)
            except Problem as problem:
                return problem.response
            except Denied:
                return forbidden()
            except BadRequest as bad:
                return self.bad_request(lang, bad.key).response
            except Decided as decided:
                return _json(409, {"error": "decided", "message": decided.message})

        return handle

    def _id(self, value: str | None, lang: str, *, required: bool = False) -> int | None:
        if value is None or (value == "" and not required):
            if required:
                raise self.bad_request(lang)
            return None
        if not ID.fullmatch(value):
            raise self.bad_request(lang)
        return int(value)

    def _query(self, request: web.Request, lang: str, *names: str) -> dict[str, str | None]:
        """The named query parameters, each at most once (others are ignored)."""
        found: dict[str, str | None] = {}
        for name in names:
            values = request.query.getall(name, [])
            if len(values) > 1:
                raise self.bad_request(lang)
            found[name] = values[0] if values else None
        return found

    # ------------------------------------------------------------ the page

    async def index(self, request: web.Request) -> web.StreamResponse:
        return self._file(self.static_dir / "index.html", no_store=True)

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = self.static_dir / name
        if not FILE_NAME.fullmatch(name) or name.startswith(".") or not path.is_file():
            raise web.HTTPNotFound()
        return self._file(path)

    @staticmethod
    def _file(path: Path, *, no_store: bool = False) -> web.FileResponse:
        response = web.FileResponse(path)
        if no_store:
            response.headers["Cache-Control"] = "no-store"
        return response

    async def sign_in_page(self, request: web.Request) -> web.StreamResponse:
        """The link's page: one button that signs in. Opening the link (GET) spends
        nothing, so a messenger fetching a preview of it cannot use it up; the button's
        POST does (:meth:`sign_in`)."""
        if not self.flood.allow(f"ip:{request.remote}"):
            return _json(429, {"error": "too_many_requests"})
        tokens = request.query.getall("t", [])
        if len(tokens) != 1 or not TOKEN_SHAPE.fullmatch(tokens[0]):
            return _signed_out()
        page = SIGN_IN_PAGE.replace("{token}", html.escape(tokens[0], quote=True))
        response = web.Response(text=page, content_type="text/html", charset="utf-8")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "same-origin"  # else the form's POST has Origin: null
        return response

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        """Redeem a one-time link (the button's POST): the session cookie, and on to the page."""
        if not self.flood.allow(f"ip:{request.remote}"):
            return _json(429, {"error": "too_many_requests"})
        if not _same_origin(request, self.public_origin):
            return _signed_out()
        form = await request.post()
        tokens = form.getall("t", [])
        try:
            if len(tokens) != 1 or not isinstance(tokens[0], str):
                raise Unauthorized
            session = await self.auth.redeem(tokens[0])
        except Unauthorized:
            return _signed_out()
        response = web.Response(status=303, headers={"Location": "/app/"})
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=int(self.auth.session_lifetime.total_seconds()),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookie,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    # ------------------------------------------------------------ the API

    async def me(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        return _json(200, await self.dashboard.me(visitor.person_id))

    async def tree(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        query = self._query(request, visitor.lang, "unit")
        unit = self._id(query["unit"], visitor.lang)
        return _json(200, await self.dashboard.tree(visitor.person_id, unit))

    async def ideas(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        names = ("unit", "status", "category", "since", "until", "q", "cursor")
        query = self._query(request, visitor.lang, *names)
        filters = IdeaQuery(
            unit_id=self._id(query["unit"], visitor.lang),
            status=query["status"] or None,
            category=query["category"] or None,
            since=query["since"] or None,
            until=query["until"] or None,
            text=query["q"] or None,
            cursor=query["cursor"] or None,
        )
        return _json(200, await self.dashboard.ideas(visitor.person_id, filters))

    async def idea(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        idea_id = self._id(request.match_info["idea"], visitor.lang, required=True)
        assert idea_id is not None
        return _json(200, await self.dashboard.idea(visitor.person_id, idea_id))

    async def queue(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        return _json(200, await self.dashboard.queue(visitor.person_id))

    async def act(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        lang = visitor.lang
        idea_id = self._id(request.match_info["idea"], lang, required=True)
        assert idea_id is not None
        if request.content_type != "application/json":
            raise self.bad_request(lang)
        try:
            body = await request.json()
        except ValueError:
            raise self.bad_request(lang) from None
        decision = self._act_request(body, lang)
        try:
            answer = await self.dashboard.act(visitor.person_id, idea_id, decision)
        finally:
            self.on_change()  # the worker and the cards in the chat are told at once
        return _json(200, answer)

    def _act_request(self, body: object, lang: str) -> ActRequest:
        if not isinstance(body, dict):
            raise self.bad_request(lang)
        action, request_id = body.get("action"), body.get("request_id")
        unit, reason, text = body.get("unit"), body.get("reason"), body.get("text")
        if not isinstance(action, str) or not _is_int(request_id):
            raise self.bad_request(lang)
        if unit is not None and not _is_int(unit):
            raise self.bad_request(lang)
        if any(v is not None and not isinstance(v, str) for v in (reason, text)):
            raise self.bad_request(lang)
        return ActRequest(
            action=action, request_id=request_id, unit_id=unit, reason=reason, text=text
        )

    async def export(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        """The spreadsheet, written to a file of its own, streamed back, then deleted."""
        query = self._query(request, visitor.lang, "unit")
        unit = self._id(query["unit"], visitor.lang)
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        path = self.reports_dir / f"web-export-{secrets.token_hex(8)}.xlsx"
        try:
            made = await self.dashboard.export(visitor.person_id, unit, path)
            name = str(made.get("file_name") or made.get("name") or "sang-kien.xlsx")
            response = web.StreamResponse(
                headers={
                    "Content-Type": (
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    ),
                    "Content-Disposition": attachment(name),
                    "Cache-Control": "no-store",
                }
            )
            response.content_length = path.stat().st_size
            await response.prepare(request)
            with path.open("rb") as file:
                while chunk := await asyncio.to_thread(file.read, EXPORT_CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            with contextlib.suppress(OSError):
                path.unlink()


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def attachment(name: str) -> str:
    """A download's Content-Disposition: an ASCII name, and the real one in UTF-8."""
    ascii_name = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "download.xlsx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One line a request: the person id, the method, the path (never its query, where a
    sign-in token travels), the status and the time taken."""
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        visitor = request.get(VISITOR)
        person = visitor.person_id if visitor is not None else "-"
        elapsed = (time.monotonic() - started) * 1000
        log.info(
            "web %s %s %d person %s %.1f ms", request.method, request.path, status, person, elapsed
        )


async def _to_app(request: web.Request) -> web.StreamResponse:
    return web.Response(status=308, headers={"Location": "/app/"})


def create_app(server: DashboardServer) -> web.Application:
    """The dashboard's aiohttp application (docs/DASHBOARD.md)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_access_log])
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/app", _to_app)
    app.router.add_get("/app/", server.index)
    app.router.add_get("/app/sign-in", server.sign_in_page)
    app.router.add_post("/app/sign-in", server.sign_in)
    app.router.add_get("/app/static/{name}", server.static)
    app.router.add_get("/api/me", server._api(server.me))
    app.router.add_get("/api/tree", server._api(server.tree))
    app.router.add_get("/api/ideas", server._api(server.ideas))
    app.router.add_get("/api/ideas/{idea}", server._api(server.idea))
    app.router.add_post("/api/ideas/{idea}/action", server._api(server.act))
    app.router.add_get("/api/queue", server._api(server.queue))
    app.router.add_get("/api/export", server._api(server.export))
    return app
