"""Preset `online-retail`: the UCI Online Retail export (one CSV of invoice lines, 2010-12 to 2011-12).

One file gives all three tables:

- events: each kept invoice line is a `purchase` (quantity, value = UnitPrice * Quantity, timestamp = InvoiceDate,
  session_id = InvoiceNo); each line of a cancellation invoice (InvoiceNo starting with `C`) is a `return` with a
  positive quantity.
- users: CustomerID, with the customer's most frequent Country.
- products: one per StockCode bought: the most common Description spelling turned into a readable Title Case title,
  the most common UnitPrice (GBP), a coarse category from the title's keywords (`CATEGORY_KEYWORDS`) and
  created_at = the first time it sold.

Dropped lines, each counted under the first reason that applies:
`no_customer` (empty CustomerID), `fee_code` (a StockCode not starting with a digit: POST, DOT, M, C2, BANK CHARGES,
AMAZONFEE, gift vouchers ...), `non_positive_quantity` (a non-cancellation line with Quantity <= 0: stock
adjustments), `positive_cancellation` (a cancellation line with Quantity >= 0), `bad_price` (UnitPrice <= 0).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from genpage.errors import IngestError
from genpage.ingest.presets.base import PresetRows
from genpage.schemas import MAX_QUANTITY

logger = logging.getLogger(__name__)

COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")

# Category from title keywords: the first category (in this order) with a keyword in the title wins; a keyword
# also matches its plural (+S). Order matters: "PARTY CANDLES" is Party, "CHRISTMAS LIGHTS" is Christmas,
# "LUNCH BAG" is Bags. Titles matching nothing are "Other".
CATEGORY_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("Christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE", "SNOWMAN", "NOEL", "BAUBLE",
                   "NATIVITY", "ELF", "STOCKING", "TREE TOP")),
    ("Party", ("PARTY", "BUNTING", "BALLOON", "CONFETTI", "PAPER CUP", "PAPER PLATE", "BANNER", "PINATA",
               "INVITE", "GARLAND", "DISCO", "FANCY DRESS")),
    ("Candles & Lights", ("CANDLE", "T-LIGHT", "TLIGHT", "LANTERN", "LIGHT", "LAMP", "LAMPSHADE", "INCENSE",
                          "CANDLEHOLDER", "CANDLEPOT", "CANDLESTICK", "MATCHES", "CHANDELIER", "TEALIGHT",
                          "OIL BURNER", "LED")),
    ("Jewellery & Accessories", ("NECKLACE", "BRACELET", "EARRINGS", "RING", "CHARM", "PENDANT", "BROOCH",
                                 "BEAD", "DIAMANTE", "HAIR", "UMBRELLA", "WALLET", "KEYRING", "KEY RING",
                                 "SCARF", "GLOVE", "JEWEL", "JEWELLERY", "HAIRCLIP", "SUNGLASSES", "BANGLE",
                                 "TIARA", "HAT", "PONCHO", "MITTENS", "SLIPPERS", "FAN",
                                 "KEY FOB", "KEY-CHAIN", "EAR MUFF")),
    ("Bags", ("BAG", "HANDBAG", "PURSE", "SHOPPER", "TOTE", "WASHBAG", "RUCKSACK", "BACKPACK", "SATCHEL",
              "LUGGAGE TAG", "PASSPORT COVER", "CHARLIE+LOLA")),
    ("Kitchen & Dining", ("MUG", "CUP", "SAUCER", "PLATE", "BOWL", "CAKE", "TEA", "TEAPOT", "TEACUP", "COFFEE",
                          "CUTLERY", "JUG", "TRAY", "BAKING", "KITCHEN", "LUNCH BOX", "NAPKIN", "APRON",
                          "TEA TOWEL", "JAR", "PANTRY", "SPOON", "DISH", "COASTER", "BEAKER", "CAKESTAND",
                          "CASES", "CHOPSTICK", "STRAW", "GLASS", "TUMBLER", "PLACEMAT", "OVEN GLOVE", "EGG CUP",
                          "BISCUIT", "SUGAR", "JAM", "SNACK", "FOOD", "MILK", "RECIPE", "TIN", "BOTTLE",
                          "PAN", "COOKIE", "CUTTER", "DOILY", "DOILIES", "CHOPPING BOARD", "BREAD", "LADLE",
                          "SALT", "PEPPER", "GRINDER", "SCALES", "MOULD", "ICE", "WINE", "DRINK", "PICNIC",
                          "TOASTRACK", "TOAST", "PLATTER")),
    ("Toys & Kids", ("TOY", "DOLL", "DOLLY", "JIGSAW", "GAME", "CHILDRENS", "CHILDS", "KIDS", "BABY", "SPACEBOY",
                     "SKITTLES", "TEDDY", "DINOSAUR", "CRAYON", "PLAYHOUSE", "PUPPET", "SOLDIER", "SKIPPING",
                     "SPINNING TOP", "MAGIC", "BUBBLES", "MARBLES", "DOMINOES", "RATTLE", "BIB", "COLOURING",
                     "PAINTING SET", "PLAYING CARDS", "KNITTING", "FELTCRAFT", "SEWING KIT", "ROBOT", "RABBIT",
                     "NINJA", "PIRATE", "PRINCESS", "TATTOO", "BEACH SPADE", "SANDCASTLE",
                     "CREEPY CRAWLIE", "BINGO", "SNAKES & LADDERS", "MONSTER", "SPACE CADET", "INFLATABLE")),
    ("Stationery & Gifts", ("CARD", "WRAP", "NOTEBOOK", "PEN", "PENCIL", "STICKER", "TAPE", "GIFT", "TAG",
                            "CALENDAR", "SKETCHBOOK", "ENVELOPE", "RIBBON", "STAMP", "ERASER", "RULER",
                            "BOOKMARK", "MAGNET", "NOTE", "MEMO", "DIARY", "JOURNAL", "PAPER", "TISSUE", "BOOK",
                            "POSTCARD", "ALBUM", "ORIGAMI", "CHALK", "BADGE", "LETTER", "CRAFT", "WRAPPING",
                            "SCISSOR", "HOLE PUNCH", "STATIONERY", "WRITING SET", "MEMOBOARD", "CALCULATOR")),
    ("Garden", ("GARDEN", "GARDENER", "PLANT", "WATERING", "FLOWER POT", "PLANTER", "GNOME", "HERB", "SEED",
                "BIRD FEEDER",
                "BIRDHOUSE", "BIRD HOUSE", "BIRD TABLE", "PARASOL", "TROWEL", "GREENHOUSE", "WINDMILL",
                "HOSE", "WELLY", "WELLIES", "SHED", "OUTDOOR", "WEATHER", "THERMOMETER", "HAMMOCK",
                "MUSHROOM", "TOADSTOOL")),
    ("Home Decor", ("CUSHION", "FRAME", "MIRROR", "CLOCK", "SIGN", "DOORMAT", "HOOK", "STORAGE", "BOX", "DRAWER",
                    "CABINET", "SHELF", "DOORSTOP", "CURTAIN", "HANGING", "DECORATION", "WALL", "VASE", "BASKET",
                    "HOLDER", "KNOB", "BLANKET", "THROW", "HOT WATER BOTTLE", "PLAQUE", "ORNAMENT", "WREATH",
                    "HEART", "HANGER", "TILE", "RACK", "BIN", "COVER", "CHAIR", "TABLE", "STOOL", "TRUNK",
                    "CASE", "CANDY", "PHOTO", "ART", "PICTURE", "PRINT", "DOOR", "STAND", "BELL", "CHIME",
                    "BUNNY", "CHICK", "EGG", "EASTER", "TOWEL", "SOAP", "BATH", "BATHROOM", "LAUNDRY", "PEG",
                    "TISSUES", "DRAUGHT EXCLUDER", "FEATHER", "FLOWER", "ROSE", "BIRD", "BUTTERFLY", "STAR",
                    "HOME", "MOBILE", "TIDY", "TRINKET", "LOVE", "PEGS", "WARMER", "HAND WARMER", "FLANNEL",
                    "POUFFE", "FRAGRANCE", "FILLER PAD")),
]
OTHER_CATEGORY = "Other"

_CATEGORY_PATTERNS = [
    (name, re.compile(r"(?<![A-Z0-9])(?:" + "|".join(re.escape(k) for k in keys) + r")S?(?![A-Z0-9])"))
    for name, keys in CATEGORY_KEYWORDS
]


def category_for(title: str) -> str:
    """The coarse category of a product title (upper or mixed case), from `CATEGORY_KEYWORDS`."""
    upper = title.upper()
    for name, pattern in _CATEGORY_PATTERNS:
        if pattern.search(upper):
            return name
    return OTHER_CATEGORY


# ------------------------------------------------------------------ readable titles

_SMALL_WORDS = {"of", "and", "in", "with", "for", "the", "a", "an", "on", "to", "or", "at", "by", "de", "la"}
_KEEP_UPPER = {"LED", "UK", "USA", "USB", "DVD", "CD", "RSPCA", "UFO", "DIY", "II", "III", "IV", "XL", "XXL",
               "3D", "S/M", "M/L", "PHD", "TV", "HQ", "NYC", "ABC", "OK", "WW2", "WWII", "B'FLY"}
_EXPANSIONS = [
    (re.compile(r"\bS(?:ET)?\s*/\s*(\d+)\b"), r"SET OF \1"),
    (re.compile(r"\bP(?:ACK)?\s*/\s*(\d+)\b"), r"PACK OF \1"),
    (re.compile(r"\bW/\s*"), "WITH "),
    (re.compile(r"\bASST?D?\b\.?"), "ASSORTED"),
    (re.compile(r"\bCHILDRENS\b"), "CHILDREN'S"),
    (re.compile(r"\bCHILDS\b"), "CHILD'S"),
    (re.compile(r"\bMENS\b"), "MEN'S"),
    (re.compile(r"\bLADIES\b"), "LADIES'"),
    (re.compile(r"\bM/COLOUR\b"), "MULTICOLOUR"),
]
_UNIT = re.compile(r"^(\d+(?:\.\d+)?(?:X\d+(?:\.\d+)?)*)(CM|MM|ML|M|L|G|KG|CL|OZ)$")
_DECADE = re.compile(r"^(\d+)'S$")
_LETTERS = re.compile(r"[A-Za-z][A-Za-z']*")


def _cap(match: re.Match[str]) -> str:
    text = match.group()
    return text[0].upper() + text[1:].lower()


def _title_word(word: str, first: bool) -> str:
    if word in _KEEP_UPPER:
        return word
    lower = word.lower()
    if not first and lower in _SMALL_WORDS:
        return lower
    unit = _UNIT.match(word)
    if unit:
        return (unit.group(1) + unit.group(2)).lower()
    decade = _DECADE.match(word)
    if decade:
        return decade.group(1) + "'s"
    return _LETTERS.sub(_cap, word)


def display_title(raw: str) -> str:
    """A shop-ready title from an upper-case description: 'SET/6 RED SPOTTY PAPER CUPS' -> 'Set of 6 Red Spotty
    Paper Cups', 'WHITE HANGING HEART T-LIGHT HOLDER' -> 'White Hanging Heart T-Light Holder'."""
    text = " ".join(str(raw).split()).strip(" .,")
    upper = text.upper()
    for pattern, replacement in _EXPANSIONS:
        upper = pattern.sub(replacement, upper)
    words = upper.split(" ")
    return " ".join(_title_word(w, i == 0) for i, w in enumerate(words) if w)


# ------------------------------------------------------------------ the preset


def _most_common(frame: pd.DataFrame, key: str, value: str, *, ascending_tie: bool = True) -> pd.Series:
    """Per `key`, the most frequent `value` (ties: the smallest value)."""
    counts = frame.groupby([key, value], observed=True).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, ascending_tie], kind="mergesort")
    return counts.drop_duplicates(key).set_index(key)[value]


def _read(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path,
            dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "CustomerID": str, "Country": str},
            encoding_errors="replace",
        )
    except FileNotFoundError:
        raise IngestError(f"{path} does not exist", source=str(path)) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise IngestError(f"could not read {path.name} as the Online Retail CSV: {exc}", source=str(path)) from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise IngestError(
            f"{path.name}: missing column(s) {', '.join(map(repr, missing))} of the Online Retail export "
            f"(expected {', '.join(COLUMNS)}); is this the right file for preset 'online-retail'?",
            source=str(path),
            field=missing[0],
        )
    return frame


def _clean(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame["StockCode"] = frame["StockCode"].fillna("").str.strip()
    frame["InvoiceNo"] = frame["InvoiceNo"].fillna("").str.strip()
    customer = frame["CustomerID"].fillna("").str.strip().str.replace(r"\.0$", "", regex=True)
    frame["CustomerID"] = customer
    frame["Quantity"] = pd.to_numeric(frame["Quantity"], errors="coerce")
    frame["UnitPrice"] = pd.to_numeric(frame["UnitPrice"], errors="coerce")
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"], errors="coerce", format="mixed")
    bad = {  # missing, unreadable or not a finite number ("inf" parses as a float), or a quantity past any order
        "Quantity": ~np.isfinite(frame["Quantity"]) | (frame["Quantity"].abs() > MAX_QUANTITY),
        "UnitPrice": ~np.isfinite(frame["UnitPrice"]),
        "InvoiceDate": frame["InvoiceDate"].isna(),
    }
    broken = bad["Quantity"] | bad["UnitPrice"] | bad["InvoiceDate"]
    if broken.any():
        row = int(broken.to_numpy().nonzero()[0][0]) + 1
        column = next(c for c, mask in bad.items() if mask.iloc[row - 1])
        raise IngestError(
            f"{path.name} row {row} (line {row + 1}), field {column!r}: not a valid value "
            f"({int(broken.sum())} such rows); fix the file before ingesting",
            source=str(path),
            row=row,
            field=column,
        )
    return frame


def load(path: Path) -> PresetRows:
    """Read the Online Retail CSV (or .csv.gz) into products, users and events (see the module docstring)."""
    path = Path(path)
    frame = _clean(_read(path), path)
    frame["_row"] = range(1, len(frame) + 1)

    cancelled = frame["InvoiceNo"].str.startswith("C")
    reasons = [
        ("no_customer", frame["CustomerID"] == ""),
        ("fee_code", ~frame["StockCode"].str.match(r"\d")),
        ("non_positive_quantity", ~cancelled & (frame["Quantity"] <= 0)),
        ("positive_cancellation", cancelled & (frame["Quantity"] >= 0)),
        ("bad_price", frame["UnitPrice"] <= 0),
    ]
    dropped = pd.Series(False, index=frame.index)
    skipped: dict[str, int] = {}
    for reason, mask in reasons:
        new = mask & ~dropped
        skipped[reason] = int(new.sum())
        dropped |= new
    kept = frame[~dropped]
    purchases = kept[~cancelled[~dropped]]
    returns = kept[cancelled[~dropped]]

    products = _products(purchases)
    users = _users(kept)
    events = pd.concat([_events(purchases, "purchase"), _events(returns, "return")]).sort_values("_row")
    event_rows = events.pop("_row").tolist()
    notes = [f"{len(returns)} cancellation lines became return events"]
    logger.info("online-retail: %d lines, %d kept, dropped %s", len(frame), len(kept), skipped)
    return PresetRows(
        products=_records(products),
        users=_records(users),
        events=_records(events),
        event_rows=event_rows,
        rows_read=len(frame),
        skipped={k: v for k, v in skipped.items() if v},
        notes=notes,
    )


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as dicts of plain Python values (datetimes, not Timestamps; None, not NaN): fast to validate."""
    columns: list[list[object]] = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = list(series.dt.to_pydatetime())
        else:
            values = series.astype(object).where(series.notna(), None).tolist()
        columns.append(values)
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _products(purchases: pd.DataFrame) -> pd.DataFrame:
    described = purchases[purchases["Description"].notna() & (purchases["Description"].str.strip() != "")]
    raw_title = _most_common(described, "StockCode", "Description")
    price = _most_common(purchases, "StockCode", "UnitPrice")
    first_sold = purchases.groupby("StockCode")["InvoiceDate"].min()
    products = pd.DataFrame({"price": price, "created_at": first_sold})
    products["raw"] = raw_title.reindex(products.index)
    products["raw"] = products["raw"].fillna(pd.Series(products.index, index=products.index).radd("ITEM "))
    unique_raw = products["raw"].unique()
    titles = {raw: display_title(raw) for raw in unique_raw}
    categories = {raw: category_for(raw) for raw in unique_raw}
    products["title"] = products["raw"].map(titles)
    products["category"] = products["raw"].map(categories)
    products["currency"] = "GBP"
    products = products.drop(columns="raw").rename_axis("id").reset_index()
    return products[["id", "title", "category", "price", "currency", "created_at"]]


def _users(kept: pd.DataFrame) -> pd.DataFrame:
    with_country = kept[kept["Country"].notna() & (kept["Country"] != "Unspecified")]
    country = _most_common(with_country, "CustomerID", "Country")
    users = pd.DataFrame(index=pd.Index(kept["CustomerID"].unique(), name="id"))
    users["country"] = country.reindex(users.index)
    return users.reset_index()


def _events(lines: pd.DataFrame, kind: str) -> pd.DataFrame:
    quantity = lines["Quantity"].abs().astype(int)
    return pd.DataFrame(
        {
            "_row": lines["_row"],
            "user_id": lines["CustomerID"],
            "type": kind,
            "item_id": lines["StockCode"],
            "quantity": quantity,
            "value": (lines["UnitPrice"] * quantity).round(2),
            "timestamp": lines["InvoiceDate"],
            "session_id": lines["InvoiceNo"],
        }
    )
