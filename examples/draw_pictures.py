"""Draw the example shop's product pictures: one small flat SVG per product kind, in pictures/ (shipped in the
package as genpage/pictures).

    python examples/draw_pictures.py        # rewrites pictures/*.svg (make_shop.py writes the references)

A product's picture is a reference, `picture:<kind>?tint=<rrggbb>`: the kind comes from its title (KINDS), the
tint from the colour or material its title names (COLOURS, MATERIALS), else from its category (CATEGORY_TINTS).
The files hold shapes only; their colours are classes (b background, l light, t tint, d dark, k ink, w paper,
o wood, g gold, f leaf, s shadow, and the *l stroke forms) whose values genpage.page.picture_style writes at
render time for the product's tint, so one file serves every colour. The output is the same on every run.
"""

# ruff: noqa: E501  (the drawings are data: one shape per call reads best)
from __future__ import annotations

import math
import re
import zlib
from pathlib import Path

from genpage.page import PICTURE_TINT, picture_style

OUT = Path(__file__).resolve().parents[1] / "pictures"

# ---------------------------------------------------------------------- what a title names
# kind -> words of a title (lower case; a word matches at the start of a title's word, so "bag" finds "bags" but
# "tag" not "heritage"); the first kind with a matching word wins.
KINDS: list[tuple[str, tuple[str, ...]]] = [
    ("tin", ("recipe tin", "seed tin", "in a tin")),
    ("candles", ("pillar candle", "dinner candle", "birthday candle", "candlestick")),
    ("jarcandle", ("candle",)),
    ("tealight", ("tea light",)),
    ("lights", ("fairy lights", "festoon")),
    ("star", ("star lantern", "star tree", "star sticker")),
    ("lantern", ("lantern",)),
    ("lamp", ("lamp",)),
    ("diffuser", ("diffuser",)),
    ("jar", ("jar",)),
    ("mug", ("mug", "espresso cup", "measuring cup")),
    ("cup", ("cups", "straws")),
    ("teapot", ("teapot",)),
    ("jug", ("jug", "cafetière")),
    ("casserole", ("casserole",)),
    ("bowl", ("bowl", "basin", "dish", "bird bath")),
    ("plate", ("plates",)),
    ("cakestand", ("cake stand",)),
    ("cake", ("cake topper",)),
    ("board", ("chopping board", "serving board")),
    ("servers", ("servers", "cutlery")),
    ("apron", ("apron",)),
    ("folded", ("napkin", "towel", "baking mat", "throw", "bedspread", "muslin", "runner", "blanket")),
    ("cushion", ("cushion", "kneeler")),
    ("mirror", ("wall mirror",)),
    ("vase", ("vase",)),
    ("calendar", ("calendar",)),
    ("frame", ("print", "frame", "memo board", "wall chart")),
    ("basket", ("basket", "play food", "cloche")),
    ("clock", ("clock", "watch")),
    ("bunny", ("hare", "bunny", "doll,", "piñata")),
    ("garland", ("bunting", "garland", "macramé")),
    ("sprig", ("eucalyptus stems", "mistletoe")),
    ("wreath", ("wreath",)),
    ("sign", ("plaque", "doormat", "thermometer")),
    ("hooks", ("hooks", "peg shelf")),
    ("books", ("bookends",)),
    ("heart", ("heart",)),
    ("bottle", ("hot water bottle",)),
    ("backpack", ("backpack",)),
    ("holdall", ("weekender", "crossbody", "pannier")),
    ("pouch", ("washbag", "sleeve", "pencil case", "purse", "travel case")),
    ("wallet", ("wallet", "passport")),
    ("tag", ("tag", "bookmark", "label", "keyring")),
    ("tote", ("tote", "shopper", "bag", "sack")),
    ("notebook", ("notebook", "journal", "planner", "sketchbook")),
    ("pen", ("pen,", "pencils")),
    ("envelope", ("cards", "invitations", "wax seal", "letter writing")),
    ("roll", ("gift wrap", "washi")),
    ("giftbox", ("gift box",)),
    ("bird", ("bird magnets", "birds enamel", "bird fridge")),
    ("birdhouse", ("bird feeder", "bird box", "hedgehog house", "insect hotel")),
    ("house", ("house", "village", "nativity")),
    ("flowerpot", ("pots", "desk tidy", "caddy", "planter")),
    ("wateringcan", ("watering can",)),
    ("trowel", ("trowel", "gardening set")),
    ("glove", ("gloves",)),
    ("necklace", ("necklace", "pendant")),
    ("ring", ("rings", "earrings", "bracelet", "scrunchies", "hair claw")),
    ("scarf", ("scarf", "wrap,")),
    ("beanie", ("beanie",)),
    ("umbrella", ("umbrella",)),
    ("sunglasses", ("sunglasses", "photo booth")),
    ("bauble", ("bauble", "honeycomb", "disco ball", "seed bombs", "bubble", "spinning top")),
    ("stocking", ("stocking",)),
    ("jumper", ("jumper",)),
    ("cracker", ("crackers", "confetti cannon")),
    ("balloon", ("balloon",)),
    ("train", ("train",)),
    ("stacker", ("stacker", "skittles", "marble run")),
    ("jigsaw", ("jigsaw",)),
    ("palette", ("paint set",)),
    ("chair", ("chair",)),
    ("tree", ("tree decorations",)),
    ("tin", ("tin", "box", "kit", "game")),
]

# colour words of titles -> tint; looked for before MATERIALS, the earliest in the title first
COLOURS: dict[str, str] = {
    "speckled oat": "#c9b48f", "forest green": "#2f5d46", "sage": "#8fa58a", "vintage rose": "#c98a8e",
    "navy": "#27375c", "matt black": "#2d2b2a", "black": "#2d2b2a", "oatmeal": "#cbb896", "emerald": "#1f7a5a",
    "fern": "#5f8a4e", "brushed gold": "#c9a24c", "tan": "#b07a4a", "red spot": "#c0443c",
    "wild flowers": "#d58f5a", "midnight blue": "#243a6b", "kraft": "#b58e5f", "seasonal gardens": "#7c9c5e",
    "pink spot": "#e08aa4", "poppy": "#c94236", "heather": "#8e6f8e", "mustard": "#d1a02f", "dove grey": "#9a9a9d",
    "white": "#f2eee6", "amber": "#c27b2c", "fig": "#7d3f5c", "ivory": "#f0e6cf", "sunset": "#e0784a",
    "rainbow": "#e4794f", "pastel": "#9fc4c0", "gold": "#c9a24c", "silver": "#a9adb3", "red": "#c0443c",
    "pink": "#e08aa4", "orange": "#e08a3c", "vanilla": "#e9d8a6", "candy stripe": "#e46b7c", "tartan": "#a8343a",
    "indigo": "#3b4f86", "pearl": "#e6dfd3", "crystal": "#9cc4d6", "tortoiseshell": "#8a5a2e", "rose": "#c98a8e",
}
# materials a title names -> tint
MATERIALS: dict[str, str] = {
    "copper": "#b8693d", "brass": "#c09a46", "bamboo": "#c8a86a", "olive wood": "#a9834f", "oak": "#b48a57",
    "walnut": "#6e4b33", "rattan": "#c39a62", "seagrass": "#a99a66", "jute": "#b49868", "straw": "#d2b272",
    "pine": "#d1b07a", "eucalyptus": "#7fa08a", "mistletoe": "#6f9a5b", "wooden": "#b98b5a", "wood": "#b98b5a", "birch": "#cdb48c", "timber": "#a47b4e", "terracotta": "#c0673f",
    "galvanised": "#8d979c", "zinc": "#8d979c", "stainless": "#9aa1a6", "enamel": "#4f7d96", "cast iron": "#3d3b3a",
    "concrete": "#9c9890", "marble": "#e4e1dc", "stone": "#a8a29a", "glass": "#8fb8b8", "mercury": "#a3a7ad",
    "porcelain": "#e8e6e1", "ceramic": "#d9cbb5", "stoneware": "#bfae93", "beeswax": "#e0b04a", "soy": "#e7dcc6",
    "salt": "#e7a07f", "leather": "#8a5632", "suede": "#a0724c", "canvas": "#c7b48f", "waxed": "#6b6a4a",
    "linen": "#cdbfa6", "cotton": "#d8cdb8", "velvet": "#6f3f5e", "felt": "#b7564a", "wool": "#a99c8c",
    "lambswool": "#9c8a7a", "cashmere": "#b3a08a", "merino": "#7f8f9f", "knit": "#d8ccb6", "silk": "#d9a8b0",
    "nylon": "#4f6d7a", "paper": "#e6d3b3", "tin": "#a3a7ad", "silicone": "#d88a5a", "metal": "#8a8f94",
    "gingerbread": "#b2713d", "snowflake": "#7da7c9", "christmas": "#a8343a", "confetti": "#e4794f",
    "striped": "#d0604c", "spot": "#c0443c", "llama": "#e08aa4", "dinosaur": "#6f9a5b", "pirate": "#3d3b3a",
    "robin": "#c0443c", "fishing": "#4f7d96", "rainbow": "#e4794f",
}
# a category's tints, for a title that names no colour or material (one picked by the title's checksum)
CATEGORY_TINTS: dict[str, tuple[str, ...]] = {
    "Kitchen & Dining": ("#b98b5a", "#4f7d96", "#c0673f"), "Home Decor": ("#8fa58a", "#c98a8e", "#6e7f99"),
    "Candles & Lights": ("#d1a02f", "#c27b2c", "#8fa58a"), "Bags": ("#5b7f6a", "#8a5632", "#3b4f86"),
    "Stationery & Gifts": ("#4f7d96", "#b7564a", "#6f9a5b", "#d1a02f"),
    "Toys & Kids": ("#e0784a", "#4f9ab0", "#e5b73b", "#7fae6a"), "Garden": ("#6f9a5b", "#5b8aa6", "#c0673f"),
    "Jewellery & Accessories": ("#a9adb3", "#c9a24c", "#8e6f8e"), "Christmas": ("#a8343a", "#2f5d46", "#c9a24c"),
    "Party": ("#e08aa4", "#4fb0a5", "#e5b73b", "#8f7fd0"),
}


def _earliest(text: str, names: dict[str, str]) -> str | None:
    found = [(match.start(), -len(name), name) for name in names
             for match in [re.search(rf"\b{re.escape(name)}\b", text)] if match]
    return names[min(found)[2]] if found else None


def kind_of(title: str) -> str | None:
    """The kind of picture a title asks for, or None."""
    text = title.lower()
    return next((kind for kind, words in KINDS if any(re.search(rf"\b{re.escape(word)}", text) for word in words)),
                None)


def tint_of(title: str, category: str) -> str:
    """The colour the title names, else its material, else its category's tint (#rrggbb)."""
    text = title.lower()
    tints = CATEGORY_TINTS.get(category, (PICTURE_TINT,))
    return _earliest(text, COLOURS) or _earliest(text, MATERIALS) or tints[zlib.crc32(title.encode()) % len(tints)]


def picture_ref(title: str, category: str) -> str:
    """The image reference of an example product, e.g. `picture:mug?tint=2f5d46`."""
    kind = kind_of(title)
    if kind is None:
        raise ValueError(f"no picture kind for {title!r}: add a word to draw_pictures.KINDS")
    return f"picture:{kind}?tint={tint_of(title, category)[1:]}"


# ---------------------------------------------------------------------- shapes
def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _extra(cls: str, width: float | None, opacity: float | None, transform: str | None) -> str:
    out = f' class="{cls}"'
    if width is not None:
        out += f' stroke-width="{_n(width)}"'
    if opacity is not None:
        out += f' opacity="{_n(opacity)}"'
    if transform:
        out += f' transform="{transform}"'
    return out


def rect(x: float, y: float, w: float, h: float, cls: str, rx: float = 0, *, sw: float | None = None,
         op: float | None = None, tr: str | None = None) -> str:
    corner = f' rx="{_n(rx)}"' if rx else ""
    return f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"{corner}{_extra(cls, sw, op, tr)}/>'


def circle(cx: float, cy: float, r: float, cls: str, *, sw: float | None = None, op: float | None = None) -> str:
    return f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}"{_extra(cls, sw, op, None)}/>'


def ellipse(cx: float, cy: float, rx: float, ry: float, cls: str, *, op: float | None = None,
            tr: str | None = None) -> str:
    return f'<ellipse cx="{_n(cx)}" cy="{_n(cy)}" rx="{_n(rx)}" ry="{_n(ry)}"{_extra(cls, None, op, tr)}/>'


def path(d: str, cls: str, *, sw: float | None = None, op: float | None = None, tr: str | None = None) -> str:
    return f'<path d="{d}"{_extra(cls, sw, op, tr)}/>'


def poly(points: list[tuple[float, float]], cls: str, *, sw: float | None = None, op: float | None = None) -> str:
    joined = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    tag = "polyline" if cls.endswith("l") and len(cls) == 2 else "polygon"
    return f'<{tag} points="{joined}"{_extra(cls, sw, op, None)}/>'


def shadow(cx: float = 60, rx: float = 34, cy: float = 99) -> str:
    return ellipse(cx, cy, rx, 4.5, "s")


def flame(x: float, y: float, size: float = 1) -> str:
    return path(f"M{_n(x)} {_n(y - 12 * size)}Q{_n(x + 6 * size)} {_n(y - 3 * size)} {_n(x)} {_n(y)}"
                f"Q{_n(x - 6 * size)} {_n(y - 3 * size)} {_n(x)} {_n(y - 12 * size)}Z", "g")


def star_points(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    return [(cx + (outer if i % 2 == 0 else inner) * math.sin(i * math.pi / 5),
             cy - (outer if i % 2 == 0 else inner) * math.cos(i * math.pi / 5)) for i in range(10)]


def along(x0: float, y0: float, xc: float, yc: float, x1: float, y1: float, count: int) -> list[tuple[float, float]]:
    """`count` points spread along the quadratic curve x0,y0 -> x1,y1 with control point xc,yc."""
    out = []
    for i in range(count):
        t = (i + 0.5) / count
        out.append(((1 - t) ** 2 * x0 + 2 * t * (1 - t) * xc + t * t * x1,
                    (1 - t) ** 2 * y0 + 2 * t * (1 - t) * yc + t * t * y1))
    return out


CYCLE = ("t", "l", "d", "w")


# ---------------------------------------------------------------------- the drawings (viewBox 0 0 120 120)
def _kitchen() -> dict[str, list[str]]:
    return {
        "mug": [shadow(58, 30), path("M76 52h4a11 11 0 0 1 0 22h-4", "tl", sw=7), rect(32, 38, 46, 58, "t", 7),
                ellipse(55, 40, 21, 4, "d"), rect(38, 48, 5, 40, "l", 2.5, op=0.6)],
        "cup": [shadow(60, 26), poly([(64, 36), (72, 12), (82, 9)], "dl", sw=5),
                poly([(38, 40), (82, 40), (76, 96), (44, 96)], "t"),
                poly([(39.4, 54), (80.6, 54), (79.6, 64), (40.4, 64)], "w", op=0.75),
                rect(35, 33, 50, 9, "d", 3), rect(45, 42, 4, 50, "l", 2, op=0.45)],
        "casserole": [shadow(60, 40), rect(16, 60, 14, 9, "d", 4), rect(90, 60, 14, 9, "d", 4),
                      rect(26, 52, 68, 42, "t", 12), path("M26 54Q60 28 94 54Z", "d"), rect(53, 34, 14, 8, "k", 3),
                      rect(33, 62, 6, 24, "l", 3, op=0.5)],
        "board": [shadow(56, 38), rect(30, 24, 56, 70, "d", 10), rect(22, 32, 60, 66, "t", 10),
                  rect(80, 54, 24, 16, "t", 8), circle(96, 62, 3.5, "b"),
                  poly([(32, 50), (70, 50)], "dl", op=0.35), poly([(32, 66), (64, 66)], "dl", op=0.35),
                  poly([(32, 82), (72, 82)], "dl", op=0.35)],
        "teapot": [shadow(60, 34), path("M84 70Q98 62 100 46L106 45Q106 68 88 80Z", "t"),
                   path("M36 56Q16 66 34 84", "tl", sw=6), ellipse(60, 70, 28, 24, "t"), ellipse(60, 48, 15, 5, "d"),
                   circle(60, 41, 4.5, "d"), ellipse(60, 93, 18, 3, "d"), ellipse(48, 64, 5, 10, "l", op=0.5)],
        "jug": [shadow(60, 28), path("M82 44Q100 48 98 64Q96 80 82 82", "tl", sw=6),
                path("M40 30L80 30L83 48Q88 76 80 96L40 96Q32 76 37 48Z", "t"), path("M40 30L30 26L38 40Z", "t"),
                rect(34, 30, 49, 5, "d", 2), rect(44, 44, 5, 44, "l", 2.5, op=0.5)],
        "cakestand": [shadow(60, 38), rect(58.5, 22, 3, 70, "g"), circle(60, 20, 4, "g"),
                      rect(46, 34, 10, 8, "l", 2), rect(60, 34, 10, 8, "w", 2), ellipse(60, 44, 22, 4, "t"),
                      rect(38, 56, 10, 8, "w", 2), rect(52, 56, 10, 8, "l", 2), rect(70, 56, 10, 8, "d", 2),
                      ellipse(60, 66, 30, 5, "t"), rect(32, 78, 10, 8, "l", 2), rect(78, 78, 10, 8, "w", 2),
                      ellipse(60, 90, 38, 6, "t")],
        "servers": [shadow(60, 30), ellipse(46, 32, 11, 16, "t"), ellipse(44, 30, 4, 8, "l", op=0.5),
                    rect(42.5, 44, 7, 54, "t", 3.5), rect(64, 16, 22, 28, "t", 7), rect(69, 12, 3, 20, "b"),
                    rect(77.5, 12, 3, 20, "b"), rect(71.5, 42, 7, 56, "t", 3.5)],
        "jar": [shadow(60, 28), rect(36, 40, 48, 56, "l", 10, op=0.9), rect(40, 62, 40, 30, "t", 7, op=0.7),
                rect(38, 30, 44, 12, "d", 4), rect(43, 46, 4, 42, "w", 2, op=0.75)],
        "apron": [shadow(60, 30), path("M46 28Q60 6 74 28", "dl"),
                  path("M44 26L76 26L76 40Q92 44 92 56L86 100L34 100L28 56Q28 44 44 40Z", "t"),
                  rect(52, 26, 4, 74, "w", op=0.35), rect(64, 26, 4, 74, "w", op=0.35), rect(44, 64, 32, 20, "d", 3),
                  path("M28 50Q12 58 18 72", "dl"), path("M92 50Q108 58 102 72", "dl")],
        "bowl": [shadow(60, 38), path("M18 58Q20 98 60 98Q100 98 102 58Z", "t"), ellipse(60, 58, 42, 9, "d"),
                 ellipse(60, 58, 37, 6.5, "l"), path("M28 68Q34 86 50 90", "wl", op=0.5)],
        "plate": [shadow(60, 42, 96), ellipse(60, 66, 44, 27, "t"), ellipse(60, 64, 32, 18, "l"),
                  circle(46, 60, 2.5, "d"), circle(70, 58, 2.5, "w"), circle(60, 70, 2.5, "g"),
                  circle(78, 68, 2.5, "d"), circle(40, 70, 2.5, "g"), circle(56, 56, 2, "w")],
        "cake": [shadow(60, 34), rect(30, 64, 60, 32, "t", 5), rect(38, 42, 44, 24, "l", 5),
                 path("M38 46Q44 54 48 46Q54 54 58 46Q64 54 68 46Q74 54 78 46L82 46L82 42L38 42Z", "w"),
                 path("M30 68Q38 76 44 68Q52 76 58 68Q66 76 72 68Q80 76 86 68L90 68L90 64L30 64Z", "w"),
                 rect(48, 28, 4, 14, "d", 1), rect(58, 26, 4, 16, "g", 1), rect(68, 28, 4, 14, "d", 1),
                 flame(50, 27, 0.6), flame(60, 25, 0.6), flame(70, 27, 0.6)],
    }


def _home() -> dict[str, list[str]]:
    fern = [ellipse(52 - 2 * (i % 2), 40 + 7 * i, 9 - i * 0.6, 3, "t", tr=f"rotate(-25 52 {40 + 7 * i})")
            for i in range(7)]
    fern += [ellipse(68 + 2 * (i % 2), 40 + 7 * i, 9 - i * 0.6, 3, "t", tr=f"rotate(25 68 {40 + 7 * i})")
             for i in range(7)]
    return {
        "folded": [shadow(60, 40), rect(24, 72, 72, 18, "d", 5), rect(24, 55, 72, 18, "t", 5),
                   rect(24, 38, 72, 18, "l", 5), rect(70, 38, 7, 52, "w", op=0.45),
                   poly([(26, 73), (94, 73)], "dl", sw=1.5, op=0.5), poly([(26, 56), (94, 56)], "tl", sw=1.5)],
        "cushion": [shadow(60, 38), path("M24 30Q60 22 96 30Q102 60 96 90Q60 98 24 90Q18 60 24 30Z", "t"),
                    path("M24 30Q60 22 96 30Q102 60 96 90Q60 98 24 90Q18 60 24 30Z", "dl", sw=2.5),
                    ellipse(50, 50, 18, 12, "l", op=0.35)],
        "mirror": [shadow(60, 30), circle(60, 56, 38, "t"), circle(60, 56, 38, "dl", sw=2),
                   circle(60, 56, 27, "w"), path("M44 62L62 40M50 70L70 46", "ll", sw=4, op=0.7)],
        "vase": [shadow(60, 40), poly([(40, 48), (36, 22)], "fl", sw=2), poly([(62, 36), (64, 12)], "fl", sw=2),
                 path("M30 98Q20 80 30 66L34 58L34 48L46 48L46 58L50 66Q60 80 50 98Z", "t"),
                 path("M54 98Q48 70 56 52L56 36L68 36L68 52Q76 70 70 98Z", "l"),
                 path("M76 98Q70 82 78 72L80 64L90 64L92 72Q100 82 94 98Z", "d"), circle(36, 21, 3, "g")],
        "calendar": [shadow(60, 32), rect(30, 22, 60, 76, "w", 4), rect(30, 22, 60, 22, "t", 4),
                     rect(30, 38, 60, 6, "t"), circle(44, 22, 3, "k"), circle(76, 22, 3, "k"),
                     *[rect(36 + 10 * (i % 5), 52 + 10 * (i // 5), 7, 6, "l" if i != 7 else "d", 1) for i in range(20)]],
        "frame": [shadow(60, 32), rect(28, 20, 64, 80, "d", 2), rect(33, 25, 54, 70, "w"),
                  poly([(60, 88), (60, 36)], "dl", sw=2), *fern],
        "basket": [shadow(60, 38), path("M36 50Q60 16 84 50", "dl", sw=5), path("M26 54L94 54L86 96L34 96Z", "t"),
                   poly([(30, 66), (90, 66)], "dl", op=0.5), poly([(31.5, 76), (88.5, 76)], "dl", op=0.5),
                   poly([(33, 86), (87, 86)], "dl", op=0.5), rect(22, 48, 76, 9, "d", 4)],
        "clock": [shadow(60, 30), circle(60, 56, 38, "d"), circle(60, 56, 32, "w"),
                  *[rect(58.5, 27, 3, 7, "k", tr=f"rotate({a} 60 56)") for a in range(0, 360, 30)],
                  poly([(60, 56), (60, 34)], "kl"), poly([(60, 56), (76, 64)], "kl"), circle(60, 56, 3.5, "t")],
        "bunny": [shadow(60, 28), ellipse(51, 24, 5.5, 15, "t", tr="rotate(-12 51 24)"),
                  ellipse(69, 24, 5.5, 15, "t", tr="rotate(12 69 24)"),
                  ellipse(51, 25, 2.5, 10, "l", tr="rotate(-12 51 24)"),
                  ellipse(69, 25, 2.5, 10, "l", tr="rotate(12 69 24)"), ellipse(60, 78, 24, 21, "t"),
                  ellipse(60, 82, 13, 12, "l"), circle(60, 48, 16, "t"), circle(54, 46, 2, "k"),
                  circle(66, 46, 2, "k"), ellipse(60, 52, 2.5, 1.8, "d"), ellipse(40, 94, 8, 4.5, "d"),
                  ellipse(80, 94, 8, 4.5, "d")],
        "garland": [path("M10 26Q60 56 110 26", "kl", sw=2),
                    *[poly([(x - 8, y), (x + 8, y), (x, y + 20)], CYCLE[i % 4])
                      for i, (x, y) in enumerate(along(10, 26, 60, 56, 110, 26, 6))],
                    path("M10 62Q60 92 110 62", "kl", sw=2),
                    *[poly([(x - 8, y), (x + 8, y), (x, y + 20)], CYCLE[(i + 2) % 4])
                      for i, (x, y) in enumerate(along(10, 62, 60, 92, 110, 62, 6))]],
        "sprig": [shadow(60, 22), path("M60 98Q58 60 64 18", "dl", sw=2.5), path("M58 98Q44 70 28 40", "dl", sw=2.5),
                  path("M62 98Q80 72 92 44", "dl", sw=2.5),
                  *[circle(x + dx, y, 5, "t" if i % 2 else "l")
                    for i, (x, y) in enumerate(along(60, 98, 58, 60, 64, 18, 7)) for dx in (-6, 6)],
                  *[circle(x + dx, y, 4.5, "l" if i % 2 else "t")
                    for i, (x, y) in enumerate(along(58, 98, 44, 70, 28, 40, 5)) for dx in (-5, 5)],
                  *[circle(x + dx, y, 4.5, "t" if i % 2 else "l")
                    for i, (x, y) in enumerate(along(62, 98, 80, 72, 92, 44, 5)) for dx in (-5, 5)]],
        "wreath": [circle(60, 56, 32, "tl", sw=16), circle(60, 56, 32, "dl", sw=3, op=0.5),
                   *[circle(60 + 32 * math.sin(a / 57.3), 56 - 32 * math.cos(a / 57.3), 3.2, "d" if a % 80 else "g")
                     for a in range(20, 340, 40)],
                   poly([(60, 88), (46, 80), (46, 98)], "d"), poly([(60, 88), (74, 80), (74, 98)], "d"),
                   circle(60, 88, 4.5, "d")],
        "sign": [shadow(60, 40), rect(20, 36, 80, 50, "t", 9), rect(26, 42, 68, 38, "wl", 6, op=0.9),
                 poly([(48, 62), (60, 51), (72, 62)], "w"), rect(51, 62, 18, 12, "w"), rect(57, 66, 6, 8, "t"),
                 circle(28, 44, 2, "w"), circle(92, 44, 2, "w"), circle(28, 78, 2, "w"), circle(92, 78, 2, "w")],
        "hooks": [rect(16, 36, 88, 16, "t", 4), rect(16, 48, 88, 4, "d"),
                  *[path(f"M{x} 52L{x} 72Q{x} 80 {x + 8} 78", "gl", sw=5) for x in (34, 58, 82)],
                  *[circle(x, 44, 2.5, "d") for x in (26, 94)]],
        "books": [shadow(60, 42), rect(34, 46, 10, 50, "l", 1), rect(45, 40, 9, 56, "d", 1),
                  rect(55, 50, 11, 46, "w", 1), rect(67, 42, 8, 54, "k", 1), rect(76, 52, 8, 44, "l", 1),
                  rect(20, 50, 13, 46, "t", 3), rect(20, 90, 22, 6, "t", 2), rect(85, 50, 13, 46, "t", 3),
                  rect(76, 90, 22, 6, "t", 2)],
        "heart": [poly([(60, 12), (60, 46)], "kl", sw=2), circle(60, 12, 4, "kl", sw=2),
                  path("M60 98C18 72 20 36 43 34C53 33 60 42 60 48C60 42 67 33 77 34C100 36 102 72 60 98Z", "t"),
                  *[circle(x, y, 2.2, "d") for x, y in ((42, 50), (78, 50), (50, 66), (70, 66), (60, 80))]],
        "bottle": [shadow(60, 30), rect(50, 20, 20, 18, "d", 3), rect(47, 14, 26, 9, "k", 3),
                   rect(32, 34, 56, 64, "t", 18),
                   *[path(f"M{x} 40Q{x - 4} 46 {x} 52Q{x + 4} 58 {x} 64Q{x - 4} 70 {x} 76Q{x + 4} 82 {x} 88",
                          "ll", sw=2.5) for x in (44, 60, 76)]],
    }


def _lights() -> dict[str, list[str]]:
    return {
        "candles": [shadow(60, 40), rect(26, 54, 20, 44, "t", 3), ellipse(36, 54, 10, 2.5, "l"),
                    rect(50, 38, 20, 60, "l", 3), ellipse(60, 38, 10, 2.5, "w"), rect(74, 62, 20, 36, "t", 3),
                    ellipse(84, 62, 10, 2.5, "l"), poly([(36, 54), (36, 49)], "kl", sw=1.5),
                    poly([(60, 38), (60, 33)], "kl", sw=1.5), poly([(84, 62), (84, 57)], "kl", sw=1.5),
                    flame(36, 48), flame(60, 32), flame(84, 56)],
        "jarcandle": [shadow(60, 30), rect(36, 42, 48, 56, "t", 8), ellipse(60, 44, 22, 4, "d"),
                      rect(44, 60, 32, 22, "w", 3), rect(50, 67, 20, 3, "l"), rect(50, 73, 14, 3, "l"),
                      poly([(60, 44), (60, 36)], "kl", sw=2), flame(60, 34, 1.2)],
        "tealight": [shadow(60, 42), *[e for x in (22, 49, 76) for e in (
            rect(x, 62, 22, 34, "t", 5, op=0.9), ellipse(x + 11, 63, 9, 3, "g"), rect(x + 4, 68, 3, 22, "l", 1.5, op=0.6),
            flame(x + 11, 60, 0.8))]],
        "lights": [path("M8 30Q60 70 112 30", "kl", sw=2), path("M8 62Q60 102 112 62", "kl", sw=2),
                   *[e for i, (x, y) in enumerate(along(8, 30, 60, 70, 112, 30, 6) + along(8, 62, 60, 102, 112, 62, 6))
                     for e in (circle(x, y + 8, 9, "g", op=0.25), rect(x - 2.5, y - 1, 5, 5, "t", 1),
                               ellipse(x, y + 8, 4.5, 6, "g" if i % 2 else "w"))]],
        "lantern": [shadow(60, 28), circle(60, 14, 5, "dl", sw=2.5), poly([(38, 32), (82, 32), (70, 18), (50, 18)], "d"),
                    rect(40, 32, 40, 56, "l", op=0.55), rect(54, 62, 12, 24, "w", 2), flame(60, 60),
                    rect(40, 32, 40, 56, "dl", sw=4), poly([(60, 32), (60, 52)], "dl", sw=2),
                    rect(35, 86, 50, 10, "d", 2)],
        "lamp": [shadow(60, 30), ellipse(60, 62, 36, 5, "w", op=0.8), rect(57, 60, 6, 12, "g"),
                 path("M46 96Q38 84 46 74Q52 68 60 68Q68 68 74 74Q82 84 74 96Z", "d"),
                 poly([(38, 24), (82, 24), (96, 62), (24, 62)], "t"), poly([(42, 28), (50, 28), (40, 58), (32, 58)], "l", op=0.45)],
        "diffuser": [shadow(60, 26), *[poly([(60, 56), (x, y)], "ol", sw=2.5) for x, y in ((36, 14), (52, 8), (70, 10), (90, 20))],
                     rect(54, 48, 12, 12, "d", 2), rect(40, 56, 40, 42, "t", 9), rect(48, 68, 24, 18, "w", 2),
                     rect(44, 62, 4, 30, "l", 2, op=0.5)],
    }


def _bags() -> dict[str, list[str]]:
    return {
        "tote": [shadow(60, 34), path("M42 48C42 14 78 14 78 48", "dl", sw=5), rect(28, 44, 64, 54, "t", 3),
                 rect(28, 44, 64, 8, "d"), circle(50, 74, 6, "w", op=0.8), circle(64, 68, 5, "l"), circle(70, 82, 5, "w", op=0.8)],
        "holdall": [shadow(60, 44), path("M42 52C42 28 78 28 78 52", "dl", sw=5), rect(18, 48, 84, 46, "t", 16),
                    rect(36, 48, 7, 46, "d"), rect(77, 48, 7, 46, "d"), poly([(24, 58), (96, 58)], "kl", sw=2),
                    rect(56, 55, 4, 8, "g", 1)],
        "backpack": [shadow(60, 30), path("M50 32Q60 16 70 32", "dl", sw=5), rect(32, 30, 56, 68, "t", 16),
                     path("M32 50Q60 40 88 50L88 58Q60 48 32 58Z", "d"), rect(42, 66, 36, 26, "d", 7),
                     rect(46, 70, 28, 4, "l", 2, op=0.6), rect(47, 52, 5, 10, "g", 1), rect(68, 52, 5, 10, "g", 1)],
        "pouch": [shadow(60, 38), path("M22 56Q22 42 36 42L84 42Q98 42 98 56L96 88Q96 98 86 98L34 98Q24 98 24 88Z", "t"),
                  poly([(28, 50), (92, 50)], "kl", sw=2), rect(82, 48, 5, 14, "g", 2), ellipse(44, 70, 12, 8, "l", op=0.4)],
        "wallet": [shadow(60, 36), rect(26, 38, 68, 50, "d", 6), rect(32, 28, 42, 24, "w", 3), rect(40, 32, 40, 22, "l", 3),
                   rect(26, 50, 68, 40, "t", 6), rect(26, 50, 68, 6, "d"), circle(84, 70, 3, "g")],
        "tag": [shadow(60, 22), path("M60 44Q58 18 80 12", "dl", sw=4), path("M44 34L76 34L84 44L84 98L36 98L36 44Z", "t"),
                circle(60, 44, 4.5, "b"), rect(44, 60, 32, 28, "w", 3), rect(48, 66, 20, 3, "l"), rect(48, 74, 14, 3, "l")],
    }


def _paper() -> dict[str, list[str]]:
    return {
        "notebook": [shadow(60, 32), rect(34, 22, 54, 76, "d", 4), rect(30, 20, 54, 76, "t", 4), rect(30, 20, 9, 76, "d", 2),
                     rect(46, 36, 28, 12, "w", 2), rect(74, 20, 4, 76, "k", op=0.7),
                     poly([(58, 96), (64, 96), (64, 108), (61, 104), (58, 108)], "g")],
        "pen": [shadow(56, 30), *[e.replace("/>", ' transform="rotate(35 60 60)"/>') for e in (
            rect(52, 8, 16, 70, "t", 8), rect(52, 46, 16, 4, "g"), rect(64, 12, 3, 30, "g", 1.5),
            poly([(53, 78), (67, 78), (60, 104)], "g"), rect(55, 12, 3, 30, "l", 1.5, op=0.5))]],
        "envelope": [shadow(60, 40), rect(22, 40, 76, 52, "t", 3), rect(32, 22, 56, 48, "w", 2),
                     circle(60, 40, 9, "l"), poly([(22, 52), (60, 74), (98, 52), (98, 92), (22, 92)], "l"),
                     poly([(22, 92), (56, 70), (64, 70), (98, 92)], "d", op=0.4), circle(60, 70, 6, "d")],
        "roll": [shadow(56, 40), poly([(24, 78), (88, 78), (80, 98), (16, 98)], "t", op=0.85), rect(24, 44, 64, 34, "t"),
                 ellipse(88, 61, 7, 17, "d"), ellipse(24, 61, 7, 17, "l"), ellipse(24, 61, 3, 7, "b"),
                 *[poly(star_points(x, y, 4.5, 2), "w") for x, y in ((40, 54), (56, 68), (72, 52), (36, 90), (62, 88))]],
        "giftbox": [shadow(60, 36), rect(30, 54, 60, 42, "t", 3), rect(26, 44, 68, 14, "d", 3), rect(56, 44, 8, 52, "w"),
                    path("M60 44Q42 26 46 40Q50 46 60 44Q78 26 74 40Q70 46 60 44Z", "w"), circle(60, 44, 4, "l")],
        "star": [poly([(60, 6), (60, 20)], "kl", sw=2), poly(star_points(60, 58, 40, 17), "t"),
                 poly(star_points(60, 58, 40, 17), "dl", sw=2), poly(star_points(60, 58, 16, 7), "l", op=0.6)],
        "bird": [shadow(60, 30), path("M36 62L14 52L20 70Z", "d"), ellipse(58, 66, 28, 20, "t"), circle(80, 48, 13, "t"),
                 ellipse(74, 62, 11, 13, "l"), ellipse(52, 62, 15, 9, "d", tr="rotate(-15 52 62)"),
                 poly([(92, 45), (102, 48), (92, 52)], "g"), circle(83, 45, 2.2, "k"),
                 poly([(54, 84), (52, 96)], "kl", sw=2), poly([(64, 84), (66, 96)], "kl", sw=2)],
        "birdhouse": [rect(57, 92, 6, 20, "o"), rect(36, 48, 48, 46, "t"), poly([(28, 52), (60, 22), (92, 52)], "d"),
                      circle(60, 66, 8, "k"), rect(50, 80, 20, 4, "o", 2), rect(40, 52, 4, 38, "l", op=0.4)],
        "house": [shadow(60, 38), rect(70, 26, 10, 20, "d"), rect(30, 54, 60, 42, "t"), poly([(24, 58), (60, 26), (96, 58)], "d"),
                  *[circle(24 + 9 * i, 58, 3.5, "w") for i in range(9)], rect(53, 72, 14, 24, "d", 6),
                  rect(36, 64, 11, 11, "w", 2), rect(73, 64, 11, 11, "w", 2), circle(60, 44, 5, "w")],
    }


def _garden() -> dict[str, list[str]]:
    return {
        "flowerpot": [shadow(60, 30), *[ellipse(60 + dx, 42 + dy, 7, 13, "f", tr=f"rotate({a} {60 + dx} {42 + dy})")
                                       for dx, dy, a in ((-14, 4, -30), (14, 4, 30), (0, -6, 0), (-6, 8, -10), (7, 6, 15))],
                      poly([(36, 60), (84, 60), (78, 98), (42, 98)], "t"), rect(32, 54, 56, 11, "d", 2),
                      rect(42, 66, 5, 26, "l", 2, op=0.45)],
        "wateringcan": [shadow(56, 38), path("M40 50Q56 24 72 50", "tl", sw=6), poly([(76, 84), (102, 40), (108, 44), (84, 92)], "t"),
                        rect(98, 32, 14, 10, "d", 2, tr="rotate(30 105 37)"), rect(30, 48, 50, 50, "t", 7),
                        rect(30, 48, 50, 7, "d", 3), rect(36, 58, 5, 34, "l", 2.5, op=0.5)],
        "trowel": [shadow(60, 34), *[e.replace("/>", ' transform="rotate(-25 60 60)"/>') for e in (
            rect(40, 64, 10, 36, "o", 5), rect(43, 56, 4, 10, "d"), path("M45 14Q28 34 34 50Q40 58 45 58Q50 58 56 50Q62 34 45 14Z", "t"))],
                   *[e.replace("/>", ' transform="rotate(25 60 60)"/>') for e in (
                       rect(70, 64, 10, 36, "o", 5), rect(73, 54, 4, 12, "d"), rect(62, 46, 26, 10, "t", 4),
                       *[rect(62 + 8.5 * i, 18, 4, 32, "t", 2) for i in range(3)])]],
        "glove": [shadow(60, 28), rect(36, 50, 44, 42, "t", 10), rect(36, 22, 10, 38, "t", 5), rect(47, 16, 10, 42, "t", 5),
                  rect(58, 18, 10, 40, "t", 5), rect(69, 26, 10, 32, "t", 5), rect(78, 50, 10, 28, "t", 5, tr="rotate(-35 83 64)"),
                  rect(34, 86, 48, 14, "d", 3)],
        "chair": [shadow(60, 34), path("M38 62L42 24Q60 16 78 24L82 62", "tl", sw=5), poly([(44, 34), (76, 34)], "tl", sw=3),
                  poly([(44, 46), (76, 46)], "tl", sw=3), poly([(40, 66), (32, 100)], "tl", sw=4),
                  poly([(80, 66), (88, 100)], "tl", sw=4), poly([(52, 68), (50, 98)], "dl", sw=4),
                  poly([(68, 68), (70, 98)], "dl", sw=4), ellipse(60, 64, 26, 7, "t"), ellipse(60, 63, 20, 4, "l", op=0.5)],
        "tree": [shadow(60, 26), rect(55, 84, 10, 14, "o"), poly([(28, 88), (92, 88), (60, 52)], "d"),
                 poly([(34, 68), (86, 68), (60, 34)], "t"), poly([(42, 48), (78, 48), (60, 20)], "l"),
                 poly(star_points(60, 18, 8, 3.5), "g"), circle(48, 80, 3, "w"), circle(70, 76, 3, "g"), circle(60, 58, 3, "w")],
    }


def _wear() -> dict[str, list[str]]:
    beads = along(26, 18, 60, 104, 94, 18, 13)
    return {
        "necklace": [path("M26 18Q60 104 94 18", "gl", sw=2), *[circle(x, y, 4.2, ("t", "l", "d", "o")[i % 4]) for i, (x, y) in enumerate(beads)],
                     path("M56 64L64 64L60 84Z", "t"), circle(60, 88, 7, "t"), circle(58, 86, 2.5, "l")],
        "ring": [shadow(60, 36), circle(46, 64, 20, "tl", sw=7), circle(74, 64, 20, "dl", sw=7), circle(46, 64, 20, "ll", sw=2, op=0.6),
                 poly(star_points(46, 42, 8, 4), "l"), circle(74, 42, 6, "w")],
        "scarf": [shadow(60, 30), rect(36, 30, 22, 62, "t", 3), rect(58, 30, 22, 70, "d", 3),
                  *[rect(36, 40 + 14 * i, 22, 4, "w", op=0.4) for i in range(4)], *[rect(58, 40 + 14 * i, 22, 4, "l", op=0.5) for i in range(4)],
                  rect(43, 30, 4, 62, "w", op=0.3), rect(67, 30, 4, 70, "l", op=0.4), rect(32, 20, 52, 16, "t", 7),
                  *[poly([(38 + 4 * i, 92), (38 + 4 * i, 98)], "tl", sw=1.5) for i in range(5)],
                  *[poly([(60 + 4 * i, 100), (60 + 4 * i, 106)], "dl", sw=1.5) for i in range(5)]],
        "beanie": [shadow(60, 34), circle(60, 26, 11, "l"), path("M28 80Q28 34 60 34Q92 34 92 80Z", "t"), rect(26, 74, 68, 20, "d", 5),
                   *[poly([(32 + 8 * i, 77), (32 + 8 * i, 91)], "ll", sw=2, op=0.7) for i in range(8)]],
        "umbrella": [poly([(60, 60), (60, 94)], "kl"), path("M60 94Q60 102 52 100", "kl"), poly([(60, 14), (60, 22)], "kl"),
                     path("M16 62Q20 22 60 20Q100 22 104 62Q93 54 82 62Q71 54 60 62Q49 54 38 62Q27 54 16 62Z", "t"),
                     path("M60 20Q46 36 38 62Q49 54 60 62Q71 54 82 62Q74 36 60 20Z", "l", op=0.55)],
        "sunglasses": [poly([(22, 52), (8, 44)], "dl", sw=4), poly([(98, 52), (112, 44)], "dl", sw=4),
                       circle(40, 60, 17, "t"), circle(80, 60, 17, "t"), circle(40, 60, 17, "dl", sw=4), circle(80, 60, 17, "dl", sw=4),
                       path("M57 56Q60 50 63 56", "dl", sw=4), path("M32 54L40 48", "wl", sw=3, op=0.7), path("M72 54L80 48", "wl", sw=3, op=0.7)],
        "stocking": [shadow(56, 26), path("M44 30L76 30L76 66Q76 72 70 78L54 94Q44 102 36 94Q30 86 38 78L44 70Z", "t"),
                     path("M36 94Q30 86 38 78L46 88Z", "d"), rect(40, 18, 40, 16, "w", 4),
                     *[circle(50 + 7 * i, 50, 2.2, "w") for i in range(4)], *[circle(53.5 + 7 * i, 57, 2.2, "l") for i in range(3)]],
        "jumper": [shadow(60, 38), path("M36 30L50 24Q60 34 70 24L84 30L102 54L90 62L84 54L84 96L36 96L36 54L30 62L18 54Z", "t"),
                   rect(36, 88, 48, 8, "d"), path("M50 24Q60 34 70 24", "dl", sw=3),
                   *[poly(star_points(x, y, 4.5, 2), "w") for x, y in ((48, 50), (60, 62), (72, 50), (48, 74), (72, 74))]],
        "bauble": [shadow(60, 26), circle(60, 18, 5, "gl", sw=2), rect(53, 22, 14, 9, "g", 2), circle(60, 62, 32, "t"),
                   path("M30 54Q60 66 90 54", "ll", sw=4, op=0.7), path("M29 66Q60 78 91 66", "dl", sw=3, op=0.5),
                   ellipse(48, 48, 8, 5, "w", op=0.6, tr="rotate(-30 48 48)")],
        "cracker": [shadow(60, 42), poly([(38, 48), (18, 40), (18, 80), (38, 72)], "d"), poly([(82, 48), (102, 40), (102, 80), (82, 72)], "d"),
                    rect(34, 46, 52, 28, "t", 3), rect(34, 46, 6, 28, "g"), rect(80, 46, 6, 28, "g"), rect(40, 56, 40, 8, "w", op=0.6)],
        "balloon": [path("M48 72Q44 86 56 92Q64 96 60 104", "kl", sw=1.5), path("M74 76Q78 88 64 94Q58 98 60 104", "kl", sw=1.5),
                    ellipse(48, 46, 20, 25, "t"), poly([(45, 73), (51, 73), (48, 68)], "t"), ellipse(40, 36, 5, 8, "w", op=0.5, tr="rotate(25 40 36)"),
                    ellipse(75, 54, 17, 21, "l"), poly([(72, 78), (78, 78), (75, 73)], "l"), ellipse(68, 46, 4, 7, "w", op=0.5, tr="rotate(25 68 46)")],
    }


def _toys() -> dict[str, list[str]]:
    jigsaw = ("M32 36H50A10 10 0 1 1 70 36H88V54A10 10 0 1 1 88 74V92H70A10 10 0 1 0 50 92H32V74A10 10 0 1 0 32 54Z")
    return {
        "train": [shadow(60, 46), rect(24, 38, 9, 16, "k", 2), rect(18, 52, 40, 32, "t", 4), rect(44, 36, 20, 48, "d", 3),
                  rect(48, 42, 12, 12, "w", 2), rect(68, 56, 36, 28, "l", 3), rect(58, 74, 10, 4, "k"),
                  *[circle(x, 88, 7.5, "k") for x in (28, 50, 76, 96)], *[circle(x, 88, 2.5, "g") for x in (28, 50, 76, 96)]],
        "stacker": [shadow(60, 40), rect(57, 16, 6, 72, "o", 3), circle(60, 16, 5, "o"), rect(22, 88, 76, 9, "o", 3),
                    ellipse(60, 80, 34, 9, "d"), ellipse(60, 66, 28, 8, "t"), ellipse(60, 53, 22, 7, "l"), ellipse(60, 41, 16, 6, "w"),
                    ellipse(60, 30, 11, 5, "t")],
        "jigsaw": [shadow(60, 34), path(jigsaw, "l", tr="rotate(-12 60 64) translate(-10 -4)"), path(jigsaw, "t", tr="translate(6 6)"),
                   path(jigsaw, "dl", sw=2, tr="translate(6 6)"), circle(64, 66, 7, "w", op=0.6)],
        "palette": [shadow(60, 38), path("M60 22C90 22 106 42 102 62C98 80 84 76 80 88C76 100 56 100 40 92C20 82 14 58 26 40C34 28 46 22 60 22Z", "o"),
                    circle(40, 70, 6, "b"), circle(44, 44, 6.5, "t"), circle(62, 36, 6.5, "d"), circle(80, 44, 6.5, "f"),
                    circle(86, 62, 6, "g"), circle(60, 82, 6, "l")],
        "tin": [shadow(60, 40), rect(26, 50, 68, 46, "t", 5), rect(22, 40, 76, 14, "d", 4), rect(26, 64, 68, 14, "l", op=0.7),
                rect(44, 68, 32, 6, "w", 2), rect(32, 56, 5, 34, "w", 2, op=0.35)],
    }


def drawings() -> dict[str, list[str]]:
    """kind -> the SVG elements of its picture (over the background square)."""
    shapes: dict[str, list[str]] = {}
    for group in (_kitchen, _home, _lights, _bags, _paper, _garden, _wear, _toys):
        shapes.update({kind: elements for kind, elements in group().items() if elements})
    return dict(sorted(shapes.items()))


def svg(elements: list[str]) -> str:
    """One picture file: the default style (genpage replaces it with the product's tint) and the shapes."""
    body = "".join(elements)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120">{picture_style(PICTURE_TINT)}'
            f'<rect class="b" width="120" height="120"/>{body}</svg>\n')


def pictures() -> dict[str, str]:
    """file name -> file text, for every kind."""
    return {f"{kind}.svg": svg(elements) for kind, elements in drawings().items()}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    files = pictures()
    for stale in sorted(set(p.name for p in OUT.glob("*.svg")) - set(files)):
        (OUT / stale).unlink()
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    total = sum(len(t.encode()) for t in files.values())
    print(f"wrote {len(files)} pictures ({total / 1024:.1f} KB) to {OUT}")


if __name__ == "__main__":
    main()
