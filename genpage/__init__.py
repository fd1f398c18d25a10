"""genpage: a personalized e-commerce homepage for every shopper.

    import genpage
    html = genpage.render("12347")                 # the shopper's page as HTML
    page = genpage.build_page("12347")             # the same page as data: sections, items, reasons, copy
"""

from __future__ import annotations

from collections.abc import Sequence

from genpage.config import Config
from genpage.engine import CampaignLike, Engine, configure, get_engine
from genpage.errors import (
    BackendError,
    CampaignError,
    ChecksumError,
    ConfigError,
    GenpageError,
    IngestError,
    ModelNotAvailableError,
    UnknownUserError,
)
from genpage.schemas import Campaign, Event, Page, Product, User
from genpage.version import __version__ as __version__

__all__ = [
    "BackendError",
    "Campaign",
    "CampaignError",
    "ChecksumError",
    "Config",
    "ConfigError",
    "Engine",
    "Event",
    "GenpageError",
    "IngestError",
    "ModelNotAvailableError",
    "Page",
    "Product",
    "UnknownUserError",
    "User",
    "build_page",
    "configure",
    "render",
    "render_many",
]


def render(user_id: str, *, campaign: CampaignLike = None, strict: bool = False) -> str:
    """The user's personalised homepage as a complete HTML document (process-wide engine, models loaded once)."""
    return get_engine().render(user_id, campaign=campaign, strict=strict)


def build_page(user_id: str, *, campaign: CampaignLike = None, strict: bool = False) -> Page:
    """The user's page as data (sections, items, reasons, copy and its source, timings)."""
    return get_engine().build_page(user_id, campaign=campaign, strict=strict)


def render_many(user_ids: Sequence[str], *, campaign: CampaignLike = None) -> list[str]:
    """Pages for many users; their copy is generated in one batched call."""
    from genpage.page import render_page

    return [render_page(p) for p in get_engine().build_pages(user_ids, campaign=campaign)]
