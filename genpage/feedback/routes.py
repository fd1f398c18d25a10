"""The HTTP side of tracking, mounted by the preview server (`genpage serve`): click links and live events.

    GET  /r/<token>   a signed click link: records the click on its impression (and, the first on its shelf, in
                      the shelf policy's counts), 302 to the product's own http(s) URL (400 for a forged or
                      tampered token, nothing recorded; 404 for a product without a URL)
    POST /events      a JSON list of events (view, click, add_to_cart, purchase, search ...), all or nothing:
                      422 names the first bad item's index and field, 413 past MAX_BODY_BYTES; an event `id`
                      makes a retry a no-op; a click event is tied to the page view it came from (its `page_id`,
                      or the shopper's latest view of the item) and counts as a click on it. Answers
                      {"accepted": n, "new": m} once they are in the store.
    GET  /dashboard   click-through per shelf kind and position over time, the bandit's state, the last policy
                      evaluations: static SVG and tables, no script (genpage.feedback.dashboard)

`tracked_link(engine, page)` is the card href function `render_page(..., link=)` takes. See docs/live.md.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from genpage.feedback.tracking import EventsInvalid, click_links, click_secret, parse_events, read_click
from genpage.page import LinkFor, safe_url
from genpage.schemas import Page

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
DASHBOARD_SECONDS = 10.0  # how long a drawn /dashboard is served again
_NO_STORE = {"Cache-Control": "no-store"}


def tracks(engine: Any) -> bool:
    """Whether `engine` logs page views and takes clicks and live events (genpage.engine.Engine does)."""
    return (callable(getattr(engine, "record_events", None)) and callable(getattr(engine, "record_click", None))
            and getattr(engine, "config", None) is not None)


def tracked_link(engine: Any, page: Page) -> LinkFor | None:
    """Card hrefs through /r/<token> for a tracked page (None: plain product links)."""
    if not page.page_id or not tracks(engine):
        return None
    return click_links(engine.config.home, page.page_id)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes (whatever Content-Length says)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit} bytes: send fewer events per request")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes: send fewer events per request")
        chunks.append(chunk)
    return b"".join(chunks)


def tracking_router(engine: Any, *, max_body_bytes: int = MAX_BODY_BYTES) -> APIRouter:
    """The /r/, /events and /dashboard routes over `engine` (an Engine: `store`, `config`, `record_click`,
    `record_events`)."""
    router = APIRouter()
    drawn: list[tuple[float, str]] = []  # the last dashboard and when it was drawn
    drawing = threading.Lock()

    @router.api_route("/dashboard", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        """Drawn at most once per DASHBOARD_SECONDS: each drawing aggregates the logs under the store's lock, which
        page builds and /events wait for, so reloads (or a crawler) must not repeat it."""
        from genpage.feedback.dashboard import render_dashboard

        with drawing:
            if not drawn or time.monotonic() - drawn[0][0] > DASHBOARD_SECONDS:
                drawn[:] = [(time.monotonic(), render_dashboard(engine.store, engine.config.policy))]
            return HTMLResponse(drawn[0][1], headers=_NO_STORE)

    @router.get("/r/{token}")
    def click(token: str) -> Response:
        click = read_click(click_secret(engine.config.home), token)
        if click is None:
            raise HTTPException(400, "this link is not valid (it was not made by this shop's genpage)")
        product = engine.store.product(click.item_id)
        url = safe_url(product.url) if product is not None else None
        if url is None:
            raise HTTPException(404, "this product has no page to go to")
        if not engine.record_click(click):
            logger.info("a click on page %s matched no impression (purged or forgotten)", click.page_id)
        return RedirectResponse(url, status_code=302, headers=_NO_STORE)

    @router.post("/events")
    async def events(request: Request) -> JSONResponse:
        # JSON only: a page on another site can send text/plain or a form without asking first, but a JSON body
        # from a browser needs a CORS preflight this server never grants (a shop's back end posts as it likes)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise HTTPException(415, "send the events as Content-Type: application/json")
        body = await _body(request, max_body_bytes)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPException(400, f"the body is not JSON: {exc}") from None
        page_ids: dict[str, str] = {}
        try:
            keyed = parse_events(payload, page_ids=page_ids)
        except EventsInvalid as exc:
            return JSONResponse({"detail": str(exc), "index": exc.index, "field": exc.field}, status_code=422)
        new = await run_in_threadpool(engine.record_events, keyed, page_ids)
        return JSONResponse({"accepted": len(keyed), "new": new}, headers=_NO_STORE)

    return router
