"""Render a Page as one self-contained HTML document.

The page makes no request to any host but the catalogue's image hosts: CSS is inline, placeholders are CSS, there
is no script. A product whose image is a packaged picture (`picture:mug?tint=2f5d3a`, see schemas.PICTURE_REF) gets
that SVG from genpage's own pictures/ folder, tinted here and inlined as a data: URI in an <img>, so a page written
to a file shows it offline; only files that pass `_picture_body`'s allow-list are used. Product text and model copy
are untrusted, so the Jinja environment autoescapes everything, URLs are limited to http(s) once more here
(schemas.Product already refuses others), theme colours must be #rrggbb, and the JSON-LD block is serialised with
`<`, `>`, `&` written as \\u escapes so `</script>` in a title cannot end it.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from genpage.resources import pictures_dir, templates_dir
from genpage.schemas import PICTURE_REF, CampaignView, Page, PageItem, Section
from genpage.text import clean_name

logger = logging.getLogger(__name__)

PAGE_TEMPLATE = "page.html.j2"
# (shelf position, item position, item) -> the href of a product card, e.g. a signed /r/ link that records the
# click (genpage.feedback.tracking); without one, cards link to the product's own URL
LinkFor = Callable[[int, int, PageItem], "str | None"]

# Symbol, and whether it goes after the amount in the "continental" style locales below.
_CURRENCY_SYMBOLS: dict[str, str] = {
    "GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩", "BRL": "R$",
    "AUD": "A$", "CAD": "CA$", "NZD": "NZ$", "HKD": "HK$", "SGD": "S$", "CHF": "CHF", "SEK": "kr",
    "NOK": "kr", "DKK": "kr", "PLN": "zł", "CZK": "Kč", "ILS": "₪", "TRY": "₺", "ZAR": "R", "MXN": "MX$",
}
_ZERO_DECIMAL = {"JPY", "KRW", "ISK", "HUF", "CLP", "VND"}
# Languages that write 1.234,50 € (or 1 234,50 €): decimal comma, symbol after the amount.
_COMMA_DECIMAL_LANGS = {"de", "fr", "es", "it", "nl", "pt", "da", "sv", "nb", "no", "fi", "pl", "cs", "tr", "ru"}
_SPACE_GROUP_LANGS = {"fr", "sv", "nb", "no", "fi", "pl", "cs", "ru"}
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_NBSP = "\u00a0"

_DEFAULT_TITLES: dict[str, str] = {
    "for_you": "Picked for you",
    "because_bought": "Goes well with your last order",
    "because_viewed": "More like what you looked at",
    "buy_again": "Buy again",
    "trending": "Trending now",
    "new_arrivals": "New arrivals",
    "campaign": "Featured",
}
_GRID_KINDS = {"for_you", "campaign"}  # shown as a grid; the other sections are rows (a carousel on phones)


# ---------------------------------------------------------------------- small pure helpers
def format_price(amount: float | None, currency: str = "GBP", locale: str = "en-GB") -> str:
    """`12.5, "GBP", "en-GB"` -> "£12.50"; `1234.5, "EUR", "de-DE"` -> "1.234,50 €". Empty for no price."""
    if amount is None:
        return ""
    code = (currency or "").upper()
    symbol = _CURRENCY_SYMBOLS.get(code, code)
    decimals = 0 if code in _ZERO_DECIMAL else 2
    number = f"{amount:,.{decimals}f}"  # 1,234.50
    lang = (locale or "en").replace("_", "-").split("-")[0].lower()
    if lang in _COMMA_DECIMAL_LANGS:
        group = _NBSP if lang in _SPACE_GROUP_LANGS else "."
        number = number.replace(",", "\0").replace(".", ",").replace("\0", group)
        return f"{number}{_NBSP}{symbol}"
    if len(symbol) > 1 and symbol.isalpha():  # CHF 12.00, kr 12.00
        return f"{symbol}{_NBSP}{number}"
    return f"{symbol}{number}"


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) URL (no spaces or control characters), else None."""
    if not url:
        return None
    text = str(url).strip()
    if not text.lower().startswith(("http://", "https://")):
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return None
    return text


def json_ld(data: Any) -> Markup:
    """JSON for a <script type="application/ld+json"> block: `<`, `>`, `&` and line separators are escaped as
    \\uXXXX, so no product text can close the script element or open a comment; the JSON value is unchanged."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


def _hue(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) % 360


def _luminance(hex_color: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def readable_on(hex_color: str) -> str:
    """Black or white, whichever has the higher contrast on `hex_color`."""
    lum = _luminance(hex_color)
    on_white = 1.05 / (lum + 0.05)
    on_black = (lum + 0.05) / (_luminance("#111111") + 0.05)
    return "#111111" if on_black >= on_white else "#ffffff"


def readable_pair(hex_color: str, minimum: float = 4.5) -> tuple[str, str]:
    """(background, text) for a campaign colour: black or white text, and when neither reaches `minimum`
    (mid-tones such as #777777) the colour darkened step by step until white text does."""
    text = readable_on(hex_color)
    background = hex_color
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    while contrast_ratio(background, text) < minimum and (r or g or b):
        r, g, b = (int(c * 0.92) for c in (r, g, b))
        background, text = f"#{r:02x}{g:02x}{b:02x}", "#ffffff"
    return background, text


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    a, b = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _color(value: str | None) -> str | None:
    return value if value and _HEX_COLOR.match(value) else None


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------- packaged pictures
PICTURE_TINT = "#a88f72"  # a picture reference without a tint: warm grey-brown
_SVG_NS = "{http://www.w3.org/2000/svg}"
_PICTURE_TAGS = frozenset({"svg", "style", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon"})
_PICTURE_ATTRS = frozenset({"viewBox", "class", "d", "x", "y", "width", "height", "rx", "ry", "cx", "cy", "r",
                            "points", "x1", "y1", "x2", "y2", "transform", "opacity", "stroke-width"})
_PICTURE_STYLE = re.compile(r"<style>[^<]*</style>")
_MAX_PICTURE_BYTES = 16_384
_INK, _PAPER = "#3a332c", "#fffaf3"


def _mix(color: str, other: str, share: float) -> str:
    """`color` moved `share` of the way to `other` (both #rrggbb)."""
    a = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def picture_style(tint: str) -> str:
    """The <style> block of a packaged picture drawn in `tint`: the classes b (background), l (light), t (the tint),
    d (dark), the fixed k (ink), w (paper), o (wood), g (gold), f (leaf), s (shadow) and their *l stroke forms."""
    light_tint = _luminance(tint) > 0.55  # ivory, white: a darker ground so the object still stands out
    shades = {
        "b": _mix(tint, "#b3a999", 0.6) if light_tint else _mix(tint, "#f7f2ea", 0.82),
        "l": _mix(tint, "#ffffff", 0.45), "t": tint, "d": _mix(tint, "#000000", 0.32),
        "k": _INK, "w": _PAPER, "o": "#c29466", "g": "#d8b15a", "f": "#6f9a5b",
    }
    fills = "".join(f".{name}{{fill:{color}}}" for name, color in shades.items())
    strokes = "".join(f".{name}l{{stroke:{shades[name]}}}" for name in ("t", "d", "k", "w", "g", "o", "l", "f"))
    # the default width is inherited from svg, so a shape's own stroke-width attribute still wins over it
    lines = "svg{stroke-width:3}.tl,.dl,.kl,.wl,.gl,.ol,.ll,.fl{fill:none;stroke-linecap:round;stroke-linejoin:round}"
    return f"<style>{fills}.s{{fill:#2b2118;opacity:.1}}{strokes}{lines}</style>"


@lru_cache(maxsize=128)
def _picture_body(folder: str, name: str) -> str | None:
    """The packaged SVG `folder`/`name`.svg, or None unless it is one of ours: a plain file in that folder, small,
    with no DOCTYPE, entity, comment or processing instruction, only the shape elements and geometry attributes
    of the allow-lists (no script, no href, no event handler, no inline style), and one <style> block that the
    renderer replaces. In an <img> an SVG can neither run script nor load anything; this keeps it to drawings."""
    base = Path(folder).resolve()
    path = base / f"{name}.svg"
    try:
        if path.resolve().parent != base or not path.is_file() or path.stat().st_size > _MAX_PICTURE_BYTES:
            raise ValueError("not a small file in the pictures folder")
        text = path.read_text(encoding="utf-8")
        if "<!" in text or "<?" in text or len(_PICTURE_STYLE.findall(text)) != 1:
            raise ValueError("a DOCTYPE, comment, processing instruction or not exactly one <style>")
        for element in ElementTree.fromstring(text).iter():
            tag = element.tag.removeprefix(_SVG_NS) if isinstance(element.tag, str) else ""
            if tag not in _PICTURE_TAGS or not element.tag.startswith(_SVG_NS):
                raise ValueError(f"element {element.tag!r} is not allowed")
            if set(element.attrib) - _PICTURE_ATTRS:
                raise ValueError(f"attributes {sorted(set(element.attrib) - _PICTURE_ATTRS)} are not allowed")
    except (OSError, UnicodeDecodeError, ElementTree.ParseError, ValueError) as exc:
        logger.warning("packaged picture %r is not used (a placeholder is shown): %s", name, exc)
        return None
    return text


@lru_cache(maxsize=1024)
def _picture_uri(folder: str, name: str, tint: str) -> str | None:
    body = _picture_body(folder, name)
    if body is None:
        return None
    svg = _PICTURE_STYLE.sub(lambda _: picture_style(tint), body, count=1)
    return "data:image/svg+xml," + quote(svg.strip(), safe="/:=;,.-_()!*~")


def picture_uri(ref: str | None, folder: Path | None = None) -> str | None:
    """A `picture:<name>[?tint=<rrggbb>]` reference as a data: URI of the tinted packaged SVG; None for anything
    else (an http(s) URL, a malformed reference, a name with no packaged picture). `folder` is for tests."""
    match = PICTURE_REF.fullmatch(str(ref or "").strip())
    if not match:
        return None
    tint = f"#{match['tint']}" if match["tint"] else PICTURE_TINT
    return _picture_uri(str(folder) if folder else _pictures_folder(), match["name"], tint)


@lru_cache(maxsize=1)
def _pictures_folder() -> str:  # looked up once, not with two stat calls per card
    return str(pictures_dir())


# ---------------------------------------------------------------------- the view model
def _card(item: PageItem, locale: str, href: str | None = None) -> dict[str, Any]:
    product = item.product
    label = product.category or product.title
    badge = (item.badge or "").strip()
    if not badge and not product.in_stock:
        badge = "Sold out"
    return {
        "id": product.id,
        "title": product.title,
        "url": href if href and safe_url(product.url) else safe_url(product.url),
        "image_url": safe_url(product.image_url) or picture_uri(product.image_url),
        "price": format_price(product.price, product.currency, locale) if product.in_stock or product.price else "",
        "badge": badge[:1].upper() + badge[1:] if badge else "",
        "badge_kind": re.sub(r"[^a-z0-9]+", "-", badge.lower()).strip("-"),
        "reason": item.reason.text,
        "initial": (label.strip()[:1] or "?").upper(),
        "hue": _hue(label),
        "category": product.category,
        "in_stock": product.in_stock,
    }


def _eyebrow(section: Section) -> str:
    """The line above an anchored section's title, from the data: segment-level copy speaks about the theme, so
    the page still says which purchase or view the section follows from."""
    if not section.anchor_label:
        return ""
    anchor = _truncate(clean_name(section.anchor_label), 60)
    return {"because_bought": f"Because you bought {anchor}", "because_viewed": f"Because you viewed {anchor}"}.get(
        section.kind, ""
    )


def _section_view(section: Section, index: int, locale: str, link: LinkFor | None = None) -> dict[str, Any]:
    copy = section.copy_
    title = copy.title if copy else _DEFAULT_TITLES.get(section.kind, "Picked for you")
    cards = [_card(item, locale, link(index, n, item) if link else None) for n, item in enumerate(section.items)]
    return {
        "id": re.sub(r"[^A-Za-z0-9_-]+", "-", section.id) or f"section-{index}",
        "kind": section.kind,
        "title": title,
        "eyebrow": _eyebrow(section),
        "blurb": copy.blurb if copy else "",
        "copy_source": section.copy_source,
        "layout": "grid" if section.kind in _GRID_KINDS or index == 0 else "row",
        "cards": cards,
        "eager": index == 0,
    }


def _nav(sections: list[dict[str, Any]], categories: list[str], limit: int = 8) -> list[dict[str, str]]:
    """The catalogue's categories, each linking to the first section on this page that shows one of its items."""
    where: dict[str, str] = {}
    for section in sections:
        for card in section["cards"]:
            where.setdefault(card["category"], section["id"])
    links = [{"label": c, "href": f"#{where[c]}"} for c in categories if c in where]
    return links[:limit]


def _theme(campaign: CampaignView | None) -> dict[str, Any]:
    theme = campaign.theme if campaign else None
    primary = _color(theme.primary_color) if theme else None
    accent = _color(theme.accent_color) if theme else None
    primary_pair = readable_pair(primary) if primary else (None, None)
    accent_pair = readable_pair(accent) if accent else (None, None)
    return {
        "mode": theme.mode if theme else "auto",
        "primary": primary_pair[0],
        "on_primary": primary_pair[1],
        "accent": accent_pair[0],
        "on_accent": accent_pair[1],
    }


def _hero(page: Page) -> dict[str, str]:
    theme = page.campaign.theme if page.campaign else None
    if theme and theme.hero_title:
        title = theme.hero_title
    elif page.campaign:
        title = page.campaign.name
    elif page.cold_start:
        title = f"Welcome to {page.shop_name}"
    else:
        title = "Picked for you"
    if theme and theme.hero_text:
        text = theme.hero_text
    elif page.campaign and page.campaign.brief:
        text = _truncate(page.campaign.brief, 200)
    elif page.cold_start:
        text = "Discover what other shoppers love right now, and our newest arrivals."
    else:
        text = "Fresh finds and old favourites, chosen around what you like."
    return {"title": title, "text": text}


def _structured_data(page: Page, sections: list[dict[str, Any]]) -> dict[str, Any]:
    lists = []
    for view, section in zip(sections, page.sections, strict=True):
        elements = []
        for position, item in enumerate(section.items, start=1):
            p = item.product
            product: dict[str, Any] = {"@type": "Product", "name": p.title, "sku": p.id}
            if p.description:
                product["description"] = _truncate(p.description, 300)
            if p.category:
                product["category"] = p.category
            if p.brand:
                product["brand"] = {"@type": "Brand", "name": p.brand}
            if safe_url(p.image_url):
                product["image"] = safe_url(p.image_url)
            if safe_url(p.url):
                product["url"] = safe_url(p.url)
            if p.price is not None:
                product["offers"] = {
                    "@type": "Offer", "price": f"{p.price:.2f}", "priceCurrency": p.currency,
                    "availability": f"https://schema.org/{'InStock' if p.in_stock else 'OutOfStock'}",
                }
            elements.append({"@type": "ListItem", "position": position, "item": product})
        lists.append({"@type": "ItemList", "name": view["title"], "numberOfItems": len(elements),
                      "itemListElement": elements})
    return {"@context": "https://schema.org", "@graph": lists}


def page_context(page: Page, *, preview: dict[str, Any] | None = None,
                 link: LinkFor | None = None) -> dict[str, Any]:
    """Everything the page template needs, as plain values (so the template never touches the models)."""
    locale = page.campaign.locale if page.campaign else "en-GB"
    sections = [_section_view(s, i, locale, link) for i, s in enumerate(page.sections)]
    hero = _hero(page)
    sources = sorted({s.copy_source for s in page.sections})
    description = f"{hero['text']} " + ", ".join(s["title"] for s in sections)
    return {
        "lang": (locale or "en").split("-")[0].lower() if locale else "en",
        "shop_name": page.shop_name,
        "shop_initial": (page.shop_name.strip()[:1] or "g").upper(),
        "title": f"{hero['title']} · {page.shop_name}",
        "description": _truncate(description, 160),
        "hero": hero,
        "theme": _theme(page.campaign),
        "nav": _nav(sections, page.categories),
        "sections": sections,
        "campaign_name": page.campaign.name if page.campaign else "",
        "json_ld": json_ld(_structured_data(page, sections)),
        "meta": {
            "generator": page.generator or "none",
            "encoder": page.encoder or "none",
            "copy_sources": " ".join(sources),
            "cold_start": "true" if page.cold_start else "false",
            "generated_at": page.generated_at.isoformat(timespec="seconds"),
        },
        "year": page.generated_at.year,
        "preview": preview,
    }


# ---------------------------------------------------------------------- the environment
@lru_cache(maxsize=4)
def _environment(folder: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["safe_url"] = safe_url
    return env


def environment() -> Environment:
    """The cached Jinja environment over genpage's templates (autoescape on, StrictUndefined)."""
    return _environment(str(templates_dir()))


def render_page(page: Page, *, preview: dict[str, Any] | None = None, link: LinkFor | None = None) -> str:
    """The page as a complete HTML5 document.

    `preview` (used by the preview server) adds a toolbar: {"index_url", "json_url", "action", "campaign",
    "campaigns": [names]}. Customer-facing pages leave it out. `link` gives each product card's href (the
    server's tracked /r/ links); the JSON-LD block keeps the products' own URLs.
    """
    return environment().get_template(PAGE_TEMPLATE).render(**page_context(page, preview=preview, link=link))


def render_template(name: str, **context: Any) -> str:
    """Render another shipped template (the preview server's index) with the same environment."""
    return environment().get_template(name).render(**context)
