"""The data genpage reads and writes, as pydantic v2 models.

Input models (Product, User, Event, Campaign) forbid unknown fields: a typo in an export's column mapping is an
error, not silently dropped data. Output models (RankedItem, Section, Page ...) describe what the stages produce.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

EVENT_TYPES = ("view", "click", "add_to_cart", "purchase", "search", "review", "return")
EventType = Literal["view", "click", "add_to_cart", "purchase", "search", "review", "return"]
CopyLevel = Literal["theme", "segment", "user"]
MAX_QUANTITY = 1_000_000_000  # an event's quantity, either sign: sums stay inside SQLite's 64-bit integers
MAX_AMOUNT = 1e12  # a price or an event's value, either sign, in any currency: past this it is a data error


def _http_url_or_none(value: Any) -> str | None:
    """Only http(s) URLs are kept; anything else (javascript:, data:, relative junk) is refused."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return text


# A picture genpage ships instead of a product photo (`picture:mug?tint=2f5d3a`): the name of one of the packaged
# SVGs in pictures/ and an optional #rrggbb tint. Nothing else is accepted: no path, no other file, no user SVG.
PICTURE_REF = re.compile(r"picture:(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)(?:\?tint=(?P<tint>[0-9a-f]{6}))?")


def _image_url_or_none(value: Any) -> str | None:
    """An image is an http(s) URL or a reference to a packaged picture (PICTURE_REF); anything else is refused."""
    text = "" if value is None else str(value).strip()
    if text.lower().startswith("picture:"):
        if not PICTURE_REF.fullmatch(text):
            raise ValueError("a packaged picture is picture:<name> or picture:<name>?tint=<rrggbb> (lower case), "
                             "the name one of genpage's pictures/*.svg")
        return text
    return _http_url_or_none(value)


# Limits on the text of a row being ingested (docs/using.md, "Ingest limits"): they apply when a model is validated
# with context=INGEST_CONTEXT, as genpage.ingest does; a model built in code or read back from the store is cleaned
# but not limited, so a store filled under other limits still reads. The validators read the limits when they run,
# so a program may change them before it ingests: `genpage.schemas.MAX_TITLE_CHARS = 500`.
INGEST_CONTEXT = {"ingest": True}
MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 20_000
MAX_TEXT_CHARS = 2_000  # any other text field: a category, a brand, a tag, a query, a URL, an attribute
MAX_ID_CHARS = 256  # a product, user or session id (the preview server refuses longer ids in its URLs)
_ID_FIELDS = ("id", "user_id", "item_id", "session_id")
_LIMITS = {"title": "MAX_TITLE_CHARS", "description": "MAX_DESCRIPTION_CHARS",
           **dict.fromkeys(_ID_FIELDS, "MAX_ID_CHARS")}
# Control characters (C0, DEL, C1) and the bidi embeddings, overrides and isolates (U+202A..E, U+2066..9), which
# reorder the text after them on a page; the bidi marks (U+200E, U+200F, U+061C) open no scope and are kept.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ONE_LINE: dict[int, str | None] = {
    **dict.fromkeys([*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]),
    **dict.fromkeys(map(ord, "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"), " "),
}
_MULTILINE = _ONE_LINE | {ord("\n"): "\n"}


def _safe_text(value: Any, info: ValidationInfo) -> Any:
    """Before validation: a text field loses control and bidi-override characters (a line break or tab becomes a
    space; a description keeps its line breaks). At ingest, an id holding one is refused, as is text over its limit."""
    if isinstance(value, list):
        return [_safe_text(v, info) for v in value]
    if isinstance(value, dict):
        return {_safe_text(k, info): _safe_text(v, info) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    name = info.field_name or ""
    ingesting = bool(info.context and info.context.get("ingest"))
    if _UNSAFE.search(value):
        if name not in _ID_FIELDS:
            value = value.replace("\r\n", "\n").translate(_MULTILINE if name == "description" else _ONE_LINE)
        # an id is a key: changing it could merge two ids. Only the whitespace the schema itself strips is ignored
        # (str.strip would also drop U+001C..U+001F, which the schema keeps)
        elif ingesting and _UNSAFE.search(value.strip(" \t\n\r\x0b\x0c")):
            raise ValueError("an id must not hold control or bidi-override characters")
    if ingesting:
        limit_name = _LIMITS.get(name, "MAX_TEXT_CHARS")
        limit = globals()[limit_name]
        if len(value) > limit:
            raise ValueError(f"is {len(value):,} characters long, over the limit of {limit:,} "
                             f"(genpage.schemas.{limit_name})")
    return value


class _Input(BaseModel):
    # allow_inf_nan=False: every float a user supplies (a price, a value, a rating, a campaign's boost or min_spend)
    # must be a finite number; "inf" or NaN would otherwise load and reach pages and JSON.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class Product(_Input):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""
    category: str = ""
    brand: str | None = None
    price: float | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    currency: str = Field(default="GBP", min_length=3, max_length=3)
    in_stock: bool = True
    url: str | None = None
    image_url: str | None = None
    created_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)

    _check_url = field_validator("url", mode="before")(_http_url_or_none)
    _check_image = field_validator("image_url", mode="before")(_image_url_or_none)
    _check_text = field_validator("id", "title", "description", "category", "brand", "currency", "url", "image_url",
                                  "tags", mode="before")(_safe_text)

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [t.strip() for t in value.replace(";", ",").split(",") if t.strip()]
        return value

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()


class User(_Input):
    id: str = Field(min_length=1)
    country: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    _check_text = field_validator("id", "country", "attributes", mode="before")(_safe_text)


class Event(_Input):
    user_id: str = Field(min_length=1)
    type: EventType
    item_id: str | None = None
    query: str | None = None
    quantity: int = Field(default=1, ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    value: float | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    timestamp: datetime
    rating: float | None = Field(default=None, ge=0, le=5)
    session_id: str | None = None  # a visit or an invoice: events that belong together (evaluation holds them out)

    _check_text = field_validator("user_id", "item_id", "query", "session_id", mode="before")(_safe_text)

    @model_validator(mode="after")
    def _needs_target(self) -> Event:
        if self.type == "search":
            if not self.query:
                raise ValueError("a search event needs a query")
        elif not self.item_id:
            raise ValueError(f"a {self.type} event needs an item_id")
        return self


class Theme(_Input):
    primary_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    hero_title: str | None = None
    hero_text: str | None = None
    mode: Literal["light", "dark", "auto"] = "auto"


class Audience(_Input):
    """Who a campaign is for. Empty means everyone; the given filters combine with AND."""

    all: bool = False
    segments: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    active_within_days: int | None = Field(default=None, gt=0)
    min_spend: float | None = Field(default=None, ge=0)
    bought_categories: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)


class Campaign(_Input):
    name: str = Field(min_length=1)
    starts: date | None = None
    ends: date | None = None
    brief: str = ""
    tone: str = "warm, friendly"
    theme: Theme = Field(default_factory=Theme)
    featured_products: list[str] = Field(default_factory=list)
    featured_categories: list[str] = Field(default_factory=list)
    boost: float = Field(default=0.2, ge=0, le=10)
    add_sections: list[str] = Field(default_factory=list)
    drop_sections: list[str] = Field(default_factory=list)
    copy_level: CopyLevel | None = None  # None: the configured copy_level
    audience: Audience = Field(default_factory=Audience)
    locale: str = "en-GB"

    @model_validator(mode="after")
    def _dates_in_order(self) -> Campaign:
        if self.starts and self.ends and self.ends < self.starts:
            raise ValueError("ends must not be before starts")
        return self

    def view(self) -> CampaignView:
        """What a page shows of this campaign."""
        return CampaignView(name=self.name, brief=self.brief, theme=self.theme, locale=self.locale)


class CampaignView(BaseModel):
    """What a page shows of its campaign: name, brief, theme and locale. Never the audience: a shopper's page must
    not carry the list of whom else the campaign is for (nor megabytes of ids in every page file)."""

    name: str
    brief: str = ""
    theme: Theme = Field(default_factory=Theme)
    locale: str = "en-GB"


# ---------------------------------------------------------------- what the stages produce

ReasonKind = Literal[
    "because_bought",  # anchor: an item the user bought
    "because_viewed",  # anchor: an item the user viewed / clicked / carted
    "because_searched",  # anchor: a query
    "buy_again",  # anchor: the item itself, bought before
    "similar_shoppers",  # collaborative signal
    "for_you",  # semantic match to the user's interests
    "trending",  # anchor: a category, or none
    "popular_in_country",  # anchor: a country
    "new_arrival",
    "campaign",  # anchor: the campaign name
]


class Reason(BaseModel):
    kind: ReasonKind
    anchor_id: str | None = None
    anchor_label: str | None = None

    @property
    def text(self) -> str:
        label = self.anchor_label or self.anchor_id or ""
        return {
            "because_bought": f"Because you bought {label}",
            "because_viewed": f"Because you viewed {label}",
            "because_searched": f"Because you searched for “{label}”",
            "buy_again": "Bought before: buy again",
            "similar_shoppers": "Popular with shoppers like you",
            "for_you": "Matches your interests",
            "trending": f"Trending in {label}" if label else "Trending now",
            "popular_in_country": f"Popular in {label}" if label else "Popular near you",
            "new_arrival": "New arrival",
            "campaign": f"Featured in {label}" if label else "Featured",
        }[self.kind]


class RankedItem(BaseModel):
    item_id: str
    score: float
    reason: Reason


class RankedList(BaseModel):
    user_id: str
    items: list[RankedItem]
    cold_start: bool = False
    interests: list[str] = Field(default_factory=list)  # categories / themes, never personal data


SectionKind = Literal[
    "for_you",
    "because_bought",
    "because_viewed",
    "buy_again",
    "trending",
    "new_arrivals",
    "campaign",
]


class SectionCopy(BaseModel):
    title: str = Field(min_length=1, max_length=80)
    blurb: str = Field(min_length=1, max_length=240)


class PageItem(BaseModel):
    product: Product
    score: float
    reason: Reason
    badge: str | None = None


ShelfType = Literal["theme", "intent"]


class ShelfTheme(BaseModel):
    """What every product on a theme shelf shares, and the evidence: the words, and the field they come from."""

    key: str  # "kind:mug", "category:kitchen & dining": one shelf per key on a page
    label: str  # what the shelf is about, for people and prompts: "Mugs", "Kitchen & Dining"
    level: Literal["kind", "category"]
    words: list[str] = Field(default_factory=list)  # the shared words, as the data spells them
    source: Literal["title", "category"] = "title"  # the field those words come from


class Section(BaseModel):
    id: str
    kind: SectionKind
    intent: str  # a short, model-free description of what the section is for
    anchor_label: str | None = None
    items: list[PageItem]
    shelf: ShelfType = "intent"  # theme: every item shares `theme`; intent: the kind says why (items may be mixed)
    theme: ShelfTheme | None = None
    copy_: SectionCopy | None = Field(default=None, alias="copy")
    copy_source: str = "pending"  # model name, "cache:<model>", or "fallback"
    copy_violations: list[str] = Field(default_factory=list)

    model_config = ConfigDict(populate_by_name=True)


class PagePlan(BaseModel):
    user_id: str
    sections: list[Section]
    interests: list[str] = Field(default_factory=list)
    cold_start: bool = False
    campaign: Campaign | None = None


class Page(BaseModel):
    user_id: str
    shop_name: str
    sections: list[Section]
    categories: list[str] = Field(default_factory=list)
    campaign: CampaignView | None = None  # a Campaign given here is reduced to its view
    cold_start: bool = False
    generator: str = ""
    encoder: str = ""
    generated_at: datetime
    timings_ms: dict[str, float] = Field(default_factory=dict)
    page_id: str | None = None  # the page view's id (genpage.feedback.tracking): impressions and clicks carry it

    @field_validator("campaign", mode="before")
    @classmethod
    def _campaign_view(cls, value: Any) -> Any:
        return value.view() if isinstance(value, Campaign) else value

    @property
    def fallback_sections(self) -> list[str]:
        return [s.id for s in self.sections if s.copy_source == "fallback"]
