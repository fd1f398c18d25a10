"""The local preview server: browse shoppers, see each one's page, switch campaigns, read the page as JSON.

    app = create_app(engine, campaigns_dir="campaigns/")
    serve(engine, port=8000)                          # what `genpage serve` runs

Routes (GET and HEAD): `/` (index: search box, sample shoppers per segment), `/u/{user_id}` (the page;
`?campaign=NAME`, `?toolbar=0` for the bare customer page), `/u/{user_id}.json` (Page.model_dump), `/healthz`,
`/review` (every cached copy, to approve, edit or reject: POST `/review/{key}` with the form's CSRF token, from
the same origin, to an IP address or localhost; genpage.copy.review), `/dashboard` (click-through per shelf kind
and position, the bandit's state, the last policy evaluations: genpage.feedback.dashboard).
A user id may hold `/` (written %2F in links) and is at most MAX_USER_ID_LENGTH characters (414 past that). A
campaign file that does not validate is a 422 naming the file, line and field; every response carries
SECURITY_HEADERS. It is meant for 127.0.0.1: there is no authentication.

The access log (logger `genpage.server.access`, replacing uvicorn's) names a shopper by their pseudonym
(genpage.privacy), never by the id in the URL, and leaves out search text. `serve` purges data older than
`events_retention_days` when it starts.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import stat
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from genpage.campaigns.files import load_campaign
from genpage.errors import CampaignError, GenpageError, StoreError
from genpage.feedback.routes import tracked_link, tracking_router, tracks
from genpage.page import render_page, render_template
from genpage.schemas import MAX_ID_CHARS, Campaign, Page
from genpage.store import Store

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("genpage.server.access")

CAMPAIGN_SUFFIXES = (".yaml", ".yml", ".toml")
SAMPLES_PER_SEGMENT = 5
MAX_SEGMENTS = 6
MAX_SEARCH_RESULTS = 50
COLD_START_DEMO_USER = "new-visitor"  # an id with no history: its page shows the cold-start sections
MAX_USER_ID_LENGTH = MAX_ID_CHARS  # characters of a user id in a path (ingest's limit); longer is 414
_NO_STORE = {"Cache-Control": "no-store"}
# No script runs on genpage's pages (the JSON-LD block is data, not run), so scripts stay off ('none' by default).
# Styles need 'unsafe-inline': the stylesheet is one inline <style> that varies with the campaign's theme, and each
# placeholder card sets its hue in a style="" attribute, which a hash cannot allow without 'unsafe-hashes'.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # links to product pages must not tell the shop whose preview it was
}


class PageEngine(Protocol):
    """What the server needs from genpage.engine.Engine."""

    @property
    def store(self) -> Store: ...

    def build_page(self, user_id: str, *, campaign: Any = None, strict: bool = False) -> Page: ...


# ---------------------------------------------------------------------- campaign files
@dataclass
class CampaignFolder:
    """The campaign files of a folder, re-read when a file changes. Bad files are kept as errors, not raised."""

    folder: Path | None
    _stamp: tuple[tuple[str, int, int], ...] = ()
    campaigns: dict[str, Campaign] = field(default_factory=dict)  # by the campaign's name
    by_stem: dict[str, Campaign] = field(default_factory=dict)  # by its file's stem
    errors: dict[str, str] = field(default_factory=dict)  # file name -> why it could not be read
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _files(self) -> list[tuple[Path, int, int]]:
        """(path, mtime in ns, size) of each campaign file; a file that vanishes while listed is left out."""
        if self.folder is None or not self.folder.is_dir():
            return []
        try:
            paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in CAMPAIGN_SUFFIXES)
        except OSError as exc:  # removed or unreadable since: no campaigns until it is back
            logger.warning("cannot list the campaign folder %s: %s", self.folder, exc)
            return []
        found = []
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((path, info.st_mtime_ns, info.st_size))
        return found

    def refresh(self) -> None:
        files = self._files()
        stamp = tuple((str(p), mtime, size) for p, mtime, size in files)
        with self._lock:
            if stamp == self._stamp:
                return
            campaigns: dict[str, Campaign] = {}
            by_stem: dict[str, Campaign] = {}
            errors: dict[str, str] = {}
            for path, _, _ in files:
                try:
                    campaign = load_campaign(path)
                except Exception as exc:  # noqa: BLE001 - one bad file must never take the server down
                    errors[path.name] = str(exc) if isinstance(exc, CampaignError) else f"{path.name}: {exc!r}"
                    logger.warning("skipping campaign file %s: %s", path, exc)
                    continue
                campaigns[campaign.name] = by_stem[path.stem] = campaign
            self.campaigns, self.by_stem, self.errors, self._stamp = campaigns, by_stem, errors, stamp

    def names(self) -> list[str]:
        self.refresh()
        return sorted(self.campaigns)

    def get(self, name: str | None) -> Campaign | None:
        """The campaign called `name` (its `name` field or its file's stem); None for no name; 404 if unknown,
        422 (naming the file, line and field) if `name` is a file that does not validate."""
        if not name:
            return None
        self.refresh()
        with self._lock:
            campaigns, by_stem, errors = self.campaigns, self.by_stem, self.errors
        found = campaigns.get(name) or by_stem.get(name)
        if found is not None:
            return found
        bad = next((file for file in errors if name in (file, Path(file).stem)), None)
        if bad is not None:
            raise HTTPException(422, f"campaign file {bad} is not valid: {errors[bad]}")
        known = ", ".join(sorted(campaigns)) or "none"
        raise HTTPException(404, f"no campaign called {name!r} (known: {known}); add a .yaml file to the folder")


# ---------------------------------------------------------------------- index data
def _event_counts(store: Store, user_ids: list[str]) -> dict[str, int]:
    if not user_ids:
        return {}
    marks = ",".join("?" * len(user_ids))
    rows = store.query(f"SELECT user_id, COUNT(*) n FROM events WHERE user_id IN ({marks}) GROUP BY user_id",
                       user_ids)
    return {r["user_id"]: r["n"] for r in rows}


def _grouped_by_attribute(store: Store, per_segment: int, max_segments: int) -> list[dict[str, Any]]:
    """Without shopper segments: group by the user's `segment` attribute, else their country."""
    segment_sql = "COALESCE(json_extract(attributes, '$.segment'), country, 'Other')"
    segments = store.query(
        f"SELECT {segment_sql} AS segment, COUNT(*) AS n FROM users GROUP BY segment ORDER BY n DESC, segment LIMIT ?",
        (max_segments,),
    )
    out = []
    for row in segments:
        users = store.query(
            f"""SELECT u.id, (SELECT COUNT(*) FROM events e WHERE e.user_id = u.id) AS events
                FROM users u WHERE {segment_sql} = ? ORDER BY events DESC, u.id LIMIT ?""",
            (row["segment"], per_segment),
        )
        out.append({"name": row["segment"], "size": row["n"],
                    "users": [{"id": u["id"], "events": u["events"]} for u in users]})
    return out


def sample_users(store: Store, encoder: Any = None, *, per_segment: int = SAMPLES_PER_SEGMENT,
                 max_segments: int = MAX_SEGMENTS) -> list[dict[str, Any]]:
    """A few shoppers per segment: genpage's shopper segments when an encoder is given (cached in the store),
    else the user's `segment` attribute or their country, most active shoppers first."""
    if encoder is not None:
        try:
            from genpage.campaigns.segments import segment_users

            segmentation = segment_users(store, encoder)
        except GenpageError as exc:
            logger.warning("no shopper segments for the index (%s); grouping by country instead", exc)
        else:
            out = []
            for segment in segmentation.segments[:max_segments]:
                ids = (segment.example_users or segmentation.members(segment.id))[:per_segment]
                counts = _event_counts(store, ids)
                out.append({"name": segment.name, "size": segment.size,
                            "users": [{"id": u, "events": counts.get(u, 0)} for u in ids]})
            return out
    return _grouped_by_attribute(store, per_segment, max_segments)


class _SampleCache:
    """The index's sample shoppers, per store version. Shopper segments need the encoder and, the first time,
    a pass over every user (about a minute on 4k users), so they are built in a background thread; until they are
    ready the index groups shoppers by their `segment` attribute or country."""

    def __init__(self, engine: PageEngine):
        self.engine = engine
        self.lock = threading.Lock()
        self.version: int | None = None
        self.groups: list[dict[str, Any]] = []
        self.building: threading.Thread | None = None

    def get(self) -> list[dict[str, Any]]:
        store = self.engine.store
        with self.lock:
            if self.version != store.version:
                self.version = store.version
                self.groups = _grouped_by_attribute(store, SAMPLES_PER_SEGMENT, MAX_SEGMENTS)
                if hasattr(type(self.engine), "encoder") and (self.building is None or not self.building.is_alive()):
                    self.building = threading.Thread(target=self._build_segments, args=(store.version,),
                                                     name="genpage-segments", daemon=True)
                    self.building.start()
            return [dict(g, users=[dict(u) for u in g["users"]]) for g in self.groups]

    def _build_segments(self, version: int) -> None:
        try:
            groups = sample_users(self.engine.store, self.engine.encoder)  # type: ignore[attr-defined]
        except Exception:  # the index keeps its country groups; the page routes are unaffected
            logger.exception("could not build shopper segments for the index")
            return
        with self.lock:
            if self.version == version:
                self.groups = groups


def search_users(store: Store, text: str, limit: int = MAX_SEARCH_RESULTS) -> list[dict[str, Any]]:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = store.query("SELECT id FROM users WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?", (pattern, limit))
    return [{"id": r["id"], "events": None} for r in rows]


def _user_url(user_id: str, campaign: str | None, suffix: str = "") -> str:
    url = f"/u/{quote(user_id, safe='')}{suffix}"
    return f"{url}?{urlencode({'campaign': campaign})}" if campaign else url


# ---------------------------------------------------------------------- the app
class HardenedResponses:
    """ASGI middleware: SECURITY_HEADERS on every response, and no body on an answer to HEAD."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_hardened)


def logged_path(path: str, query: str, pseudonym: Callable[[str], str] | None) -> str:
    """The request's path as the access log shows it: a shopper's id replaced by their pseudonym (`…` without a
    pseudonym function), and of the query only its parameter names (search text may be an id)."""
    if path.startswith("/u/"):
        raw = path[len("/u/"):]
        suffix = ".json" if raw.endswith(".json") else ""
        user_id = unquote(raw[: len(raw) - len(suffix)])
        path = "/u/" + (pseudonym(user_id) if pseudonym is not None and user_id else "…") + suffix
    if query:
        names = sorted({part.split("=", 1)[0] for part in query.split("&") if part})
        path += "?" + "&".join(f"{unquote(n)}=…" for n in names)
    return path


class AccessLog:
    """ASGI middleware: one line per request on `genpage.server.access`, the shopper named by pseudonym."""

    def __init__(self, app: ASGIApp, pseudonym: Callable[[str], str] | None = None):
        self.app, self.pseudonym = app, pseudonym

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access_logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        status = [500]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            client = scope.get("client") or ("-", 0)
            path = logged_path(scope["path"], scope.get("query_string", b"").decode("latin-1"), self.pseudonym)
            access_logger.info('%s:%s - "%s %s" %d', client[0], client[1], scope["method"], path, status[0])


def _pseudonym_of(engine: Any) -> Callable[[str], str] | None:
    config = getattr(engine, "config", None)
    if config is None:
        return None
    from genpage.privacy import pseudonym

    return lambda user_id: pseudonym(user_id, config.home)


def _checked_user_id(user_id: str) -> str:
    if not user_id:
        raise HTTPException(404, "no user id: use /u/<user id>")
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise HTTPException(414, f"a user id is at most {MAX_USER_ID_LENGTH} characters (this one: {len(user_id)})")
    return user_id


def _store_unusable(request: Request, exc: StoreError) -> JSONResponse:
    """A missing or empty store: the service cannot answer until data is ingested (503, with the fix)."""
    return JSONResponse({"detail": str(exc)}, status_code=503)


def _ready(engine: Any) -> None:
    """An Engine's store can give pages (StoreError, so 503, when it cannot); other page engines are trusted."""
    check = getattr(engine, "check_ready", None)
    if check is not None:
        check()


def create_app(engine: PageEngine, *, campaigns_dir: str | Path | None = None) -> FastAPI:
    """The preview server's FastAPI app over `engine` (anything with `.store` and `.build_page`)."""
    app = FastAPI(title="genpage preview", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(HardenedResponses)
    app.add_middleware(AccessLog, pseudonym=_pseudonym_of(engine))
    app.add_exception_handler(StoreError, _store_unusable)  # type: ignore[arg-type]
    folder = CampaignFolder(Path(campaigns_dir) if campaigns_dir else None)
    samples = _SampleCache(engine)
    read = ["GET", "HEAD"]
    tracking = {"track": True} if tracks(engine) else {}  # page views logged, /r/ links, /events, /dashboard
    if tracking:
        app.include_router(tracking_router(engine))

    def build(user_id: str, campaign_name: str | None) -> Page:
        campaign = folder.get(campaign_name)
        try:
            return engine.build_page(_checked_user_id(user_id), campaign=campaign, strict=False, **tracking)
        except StoreError:
            raise  # 503, by store_unusable
        except GenpageError as exc:
            raise HTTPException(400, str(exc)) from exc

    @app.api_route("/healthz", methods=read)
    def healthz() -> dict[str, Any]:
        _ready(engine)
        store = engine.store
        products = store.query("SELECT COUNT(*) FROM products")[0][0]
        users = store.query("SELECT COUNT(*) FROM users")[0][0]
        return {"status": "ok", "products": products, "users": users, "campaigns": len(folder.names())}

    @app.api_route("/", methods=read, response_class=HTMLResponse)
    def index(q: str = Query("", max_length=200), campaign: str = Query("", max_length=200)) -> HTMLResponse:
        _ready(engine)
        query = q.strip()
        if campaign:
            folder.get(campaign)  # 404 for an unknown name, 422 for a file that does not validate
        groups: list[dict[str, Any]] = (
            [{"name": f"Shoppers matching “{query}”", "size": None, "users": search_users(engine.store, query)}]
            if query else samples.get())  # fmt: skip
        for group in groups:
            for user in group["users"]:
                user["url"] = _user_url(user["id"], campaign or None)
        html = render_template(
            "preview_index.html.j2",
            query=query,
            groups=groups,
            campaign=campaign,
            campaigns=folder.names(),
            campaign_errors=folder.errors,
            cold_start_url=_user_url(COLD_START_DEMO_USER, campaign or None),
            cold_start_json_url=_user_url(COLD_START_DEMO_USER, campaign or None, ".json"),
            dashboard=bool(tracking),  # /dashboard is served only where pages are tracked
        )
        return HTMLResponse(html, headers=_NO_STORE)

    # registered before /u/{user_id} so that "12347.json" is not taken for a user id; `:path` lets an id hold "/"
    @app.api_route("/u/{user_id:path}.json", methods=read)
    def user_page_json(user_id: str, campaign: str = Query("", max_length=200)) -> JSONResponse:
        page = build(user_id, campaign or None)
        return JSONResponse(page.model_dump(mode="json", by_alias=True), headers=_NO_STORE)

    @app.api_route("/u/{user_id:path}", methods=read, response_class=HTMLResponse)
    def user_page(user_id: str, campaign: str = Query("", max_length=200), toolbar: int = 1) -> HTMLResponse:
        page = build(user_id, campaign or None)
        preview = None
        if toolbar:
            preview = {
                "user_id": user_id,
                "index_url": "/" + (f"?{urlencode({'campaign': campaign})}" if campaign else ""),
                "json_url": _user_url(user_id, campaign or None, ".json"),
                "action": _user_url(user_id, None),
                "campaign": page.campaign.name if page.campaign else "",
                "campaigns": folder.names(),
            }
        return HTMLResponse(render_page(page, preview=preview, link=tracked_link(engine, page)), headers=_NO_STORE)

    _add_review_routes(app, engine, read)
    return app


# ---------------------------------------------------------------------- copy review
MAX_REVIEW_FORM_BYTES = 16_384
REVIEW_LIST_LIMIT = 200  # copies listed on the review page (newest first; the status filter narrows them)


def _local_host(request: Request) -> bool:
    """The request was sent to an IP address or localhost, not to a domain name: a site that points its own name
    at this server (DNS rebinding) can neither read the review form's token nor post a review."""
    host = (request.url.hostname or "").strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def _same_origin(request: Request) -> bool:
    """The POST's Origin (or, where a browser sends none, its Referer) is this server."""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("referer", "")
    return referer == own or referer.startswith(own + "/")


async def _form(request: Request) -> dict[str, str]:
    """A posted urlencoded form's fields (the first value of each)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise HTTPException(415, "post the review form as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_REVIEW_FORM_BYTES:
        raise HTTPException(413, f"a review form is at most {MAX_REVIEW_FORM_BYTES} bytes")
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    except ValueError as exc:
        raise HTTPException(400, f"not a review form: {exc}") from None
    return {name: values[0] for name, values in fields.items()}


def _add_review_routes(app: FastAPI, engine: PageEngine, read: list[str]) -> None:
    """GET /review: every cached copy with its review and a form; POST /review/{key}: approve, edit or reject it,
    only with the form's token, from this server's own page (Origin), sent to an IP address or localhost."""
    from genpage.copy import review as reviews

    token = secrets.token_urlsafe(32)  # one per server run: a form from before a restart is refused

    def review_page(request: Request, status: str = "", saved: str = "", error: dict[str, str] | None = None,
                    code: int = 200) -> HTMLResponse:
        if not _local_host(request):
            raise HTTPException(403, "the review page answers only on an IP address or localhost")
        if status and status not in reviews.STATUSES:
            raise HTTPException(404, f"no review status {status!r} (known: {', '.join(reviews.STATUSES)})")
        html = render_template("review.html.j2", status=status, saved=saved, error=error, csrf_token=token,
                               entries=reviews.list_reviews(engine.store, status or None, REVIEW_LIST_LIMIT),
                               counts=reviews.count_reviews(engine.store), statuses=reviews.STATUSES,
                               reviewer=reviews.reviewer(), limit=REVIEW_LIST_LIMIT)  # fmt: skip
        # same-origin, not no-referrer: a form posted under no-referrer carries `Origin: null`
        return HTMLResponse(html, status_code=code, headers={**_NO_STORE, "Referrer-Policy": "same-origin"})

    @app.api_route("/review", methods=read, response_class=HTMLResponse)
    def review_index(request: Request, status: str = Query("", max_length=20),
                     saved: str = Query("", max_length=64)) -> HTMLResponse:
        return review_page(request, status, saved)

    @app.post("/review/{key}", response_class=HTMLResponse)
    async def review_post(key: str, request: Request) -> Response:
        if not _local_host(request) or not _same_origin(request):
            raise HTTPException(403, "a review is posted from this server's own review page")
        fields = await _form(request)
        if not hmac.compare_digest(fields.get("csrf", "").encode(), token.encode()):
            raise HTTPException(403, "the review form's token is missing or out of date: reload /review")
        title, blurb = fields.get("title"), fields.get("blurb")
        try:
            done = reviews.review(engine.store, key, fields.get("action", ""), title=title, blurb=blurb,
                                  by=fields.get("by"))  # fmt: skip
        except reviews.EditRejectedError as exc:
            error = {"key": exc.key, "message": str(exc), "title": title or "", "blurb": blurb or ""}
            return review_page(request, error=error, code=422)
        except reviews.ReviewError as exc:
            raise HTTPException(400, str(exc)) from exc
        return RedirectResponse(f"/review?saved={done.short_key}#r-{done.short_key}", status_code=303)


# ---------------------------------------------------------------------- running it
def _show_access_log() -> None:
    """Print the access log on stderr as uvicorn printed its own (which names shoppers by id, so it is off)."""
    if not access_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        access_logger.addHandler(handler)
        access_logger.setLevel(logging.INFO)
        access_logger.propagate = False


def serve(engine: PageEngine, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          campaigns_dir: str | Path | None = None, report: Callable[[str], None] | None = None) -> None:
    """Run the preview server in the foreground (Ctrl-C stops it). First purges what is older than
    `events_retention_days` (an Engine's `purge_expired`), saying what through `report` (default: the log)."""
    import uvicorn

    purge = getattr(engine, "purge_expired", None)
    purged = purge() if purge is not None else {}
    if purged:
        from genpage.privacy import counts_text

        (report or logger.info)(f"retention: purged {counts_text(purged)}")
    app = create_app(engine, campaigns_dir=campaigns_dir)
    if open_browser:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    _show_access_log()
    uvicorn.run(HardenedResponses(app), host=host, port=port, log_level="info",
                access_log=False)  # outermost: 500s get headers too


@contextmanager
def serve_in_thread(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0,
                    timeout: float = 20.0) -> Iterator[str]:
    """Run `app` with uvicorn in a background thread; yields its base URL (port 0: a free port) and stops it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(HardenedResponses(app), host=host, port=port, log_level="warning",
                                           lifespan="off", access_log=False))  # fmt: skip
    thread = threading.Thread(target=server.run, name="genpage-preview", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the preview server did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
