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
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from genpage.errors import IngestError
from genpage.ingest.presets.base import EventChunk, PresetReader, PresetRows, collect
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


CHUNK_LINES = 100_000  # lines of the export read at a time


def _most_common(counts: pd.Series | None, key: str, value: str) -> pd.Series:
    """Per `key`, the most frequent `value`, from counts indexed by (key, value) (ties: the smallest value)."""
    if counts is None or counts.empty:
        return pd.Series(dtype=object, name=value).rename_axis(key)
    frame = counts.rename("n").rename_axis([key, value]).reset_index()
    frame = frame.sort_values([key, "n", value], ascending=[True, False, True], kind="mergesort")
    return frame.drop_duplicates(key).set_index(key)[value]


def _tally(total: pd.Series | None, frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """`total` plus the (key, value) counts of `frame`."""
    counts = frame.groupby([key, value], observed=True).size()
    return counts if total is None else total.add(counts, fill_value=0)


def _header(path: Path) -> None:
    """Refuse a file that is not the Online Retail export (its columns)."""
    try:
        columns = pd.read_csv(path, nrows=0, encoding_errors="replace").columns
    except FileNotFoundError:
        raise IngestError(f"{path} does not exist", source=str(path)) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise IngestError(f"could not read {path.name} as the Online Retail CSV: {exc}", source=str(path)) from exc
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise IngestError(
            f"{path.name}: missing column(s) {', '.join(map(repr, missing))} of the Online Retail export "
            f"(expected {', '.join(COLUMNS)}); is this the right file for preset 'online-retail'?",
            source=str(path),
            field=missing[0],
        )


def _chunks(path: Path) -> Iterator[pd.DataFrame]:
    try:
        yield from pd.read_csv(
            path,
            dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "CustomerID": str, "Country": str},
            encoding_errors="replace",
            chunksize=CHUNK_LINES,
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise IngestError(f"could not read {path.name} as the Online Retail CSV: {exc}", source=str(path)) from exc


def _clean(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Clean a chunk in place; the masks of its lines whose Quantity, UnitPrice or InvoiceDate is not a valid value."""
    frame["StockCode"] = frame["StockCode"].fillna("").str.strip()
    frame["InvoiceNo"] = frame["InvoiceNo"].fillna("").str.strip()
    customer = frame["CustomerID"].fillna("").str.strip().str.replace(r"\.0$", "", regex=True)
    frame["CustomerID"] = customer
    frame["Quantity"] = pd.to_numeric(frame["Quantity"], errors="coerce")
    frame["UnitPrice"] = pd.to_numeric(frame["UnitPrice"], errors="coerce")
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"], errors="coerce", format="mixed")
    return {  # missing, unreadable or not a finite number ("inf" parses as a float), or a quantity past any order
        "Quantity": ~np.isfinite(frame["Quantity"]) | (frame["Quantity"].abs() > MAX_QUANTITY),
        "UnitPrice": ~np.isfinite(frame["UnitPrice"]),
        "InvoiceDate": frame["InvoiceDate"].isna(),
    }


class OnlineRetailReader(PresetReader):
    """The Online Retail CSV (or .csv.gz) read a chunk at a time (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        _header(self.path)
        self._titles: pd.Series | None = None  # (StockCode, Description) -> lines
        self._prices: pd.Series | None = None  # (StockCode, UnitPrice) -> lines
        self._first_sold: pd.Series | None = None  # StockCode -> first InvoiceDate
        self._countries: pd.Series | None = None  # (CustomerID, Country) -> lines
        self._customers: dict[str, None] = {}
        self._broken: tuple[int, str] | None = None  # the first line with a value that is not valid
        self._broken_lines = 0

    def event_chunks(self) -> Iterator[EventChunk]:
        self.skipped = dict.fromkeys(REASONS, 0)
        returns = 0
        for frame in _chunks(self.path):
            frame.index = pd.RangeIndex(self.rows_read, self.rows_read + len(frame))
            frame["_row"] = frame.index + 1
            self.rows_read += len(frame)
            bad = _clean(frame)
            broken = bad["Quantity"] | bad["UnitPrice"] | bad["InvoiceDate"]
            if broken.any():  # refused at the end, with how many such lines the whole file has
                if self._broken is None:
                    at = int(broken.to_numpy().nonzero()[0][0])
                    self._broken = (at + self.rows_read - len(frame) + 1, next(c for c, m in bad.items() if m.iloc[at]))
                self._broken_lines += int(broken.sum())
            if self._broken is not None:
                continue
            events = self._events_of(frame)
            returns += int((events["type"] == "return").sum())
            yield events.pop("_row").tolist(), _records(events)
        if self._broken is not None:
            row, column = self._broken
            raise IngestError(
                f"{self.path.name} row {row} (line {row + 1}), field {column!r}: not a valid value "
                f"({self._broken_lines} such rows); fix the file before ingesting",
                source=str(self.path), row=row, field=column,
            )
        self.skipped = {k: v for k, v in self.skipped.items() if v}
        self.notes = [f"{returns} cancellation lines became return events"]
        logger.info("online-retail: %d lines, dropped %s", self.rows_read, self.skipped)

    def _events_of(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A clean chunk's events; its lines' products and customers are added to the tallies."""
        cancelled = frame["InvoiceNo"].str.startswith("C")
        reasons = [
            ("no_customer", frame["CustomerID"] == ""),
            ("fee_code", ~frame["StockCode"].str.match(r"\d")),
            ("non_positive_quantity", ~cancelled & (frame["Quantity"] <= 0)),
            ("positive_cancellation", cancelled & (frame["Quantity"] >= 0)),
            ("bad_price", frame["UnitPrice"] <= 0),
        ]
        dropped = pd.Series(False, index=frame.index)
        for reason, mask in reasons:
            new = mask & ~dropped
            self.skipped[reason] += int(new.sum())
            dropped |= new
        kept = frame[~dropped]
        purchases = kept[~cancelled[~dropped]]
        described = purchases[purchases["Description"].notna() & (purchases["Description"].str.strip() != "")]
        self._titles = _tally(self._titles, described, "StockCode", "Description")
        self._prices = _tally(self._prices, purchases, "StockCode", "UnitPrice")
        first = purchases.groupby("StockCode")["InvoiceDate"].min()
        self._first_sold = first if self._first_sold is None else pd.concat([self._first_sold, first]).groupby(
            level=0).min()
        with_country = kept[kept["Country"].notna() & (kept["Country"] != "Unspecified")]
        self._countries = _tally(self._countries, with_country, "CustomerID", "Country")
        self._customers.update(dict.fromkeys(kept["CustomerID"].unique()))
        returns = kept[cancelled[~dropped]]
        return pd.concat([_events(purchases, "purchase"), _events(returns, "return")]).sort_values("_row")

    def products(self) -> list[dict[str, object]]:
        """One product per StockCode bought: the most common description as a title, the most common price."""
        if self._prices is None or self._prices.empty:
            return []
        price = _most_common(self._prices, "StockCode", "UnitPrice")
        products = pd.DataFrame({"price": price, "created_at": self._first_sold})
        products["raw"] = _most_common(self._titles, "StockCode", "Description").reindex(products.index)
        products["raw"] = products["raw"].fillna(pd.Series(products.index, index=products.index).radd("ITEM "))
        unique_raw = products["raw"].unique()
        titles = {raw: display_title(raw) for raw in unique_raw}
        categories = {raw: category_for(raw) for raw in unique_raw}
        products["title"] = products["raw"].map(titles)
        products["category"] = products["raw"].map(categories)
        products["currency"] = "GBP"
        products = products.drop(columns="raw").rename_axis("id").reset_index()
        return _records(products[["id", "title", "category", "price", "currency", "created_at"]])

    def users(self) -> list[dict[str, object]]:
        """One user per customer with a kept line, with their most frequent Country."""
        users = pd.DataFrame(index=pd.Index(list(self._customers), name="id", dtype=object))
        users["country"] = _most_common(self._countries, "CustomerID", "Country").reindex(users.index)
        return _records(users.reset_index())


REASONS = ("no_customer", "fee_code", "non_positive_quantity", "positive_cancellation", "bad_price")


def load(path: Path) -> PresetRows:
    """Read the Online Retail CSV (or .csv.gz) into products, users and events, all in memory."""
    return collect(OnlineRetailReader(Path(path)))


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
