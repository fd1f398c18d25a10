"""A small electronics shop the benchmarks write (seeded, the same on every run): a catalogue unlike the example
shop's gifts and homeware, with shoppers who buy within two favourite categories, so that planning and copy are
measured on a second kind of shop. Used by bench/plan.py and bench/copy.py, and by tests/test_house_style.py
(which keeps its themes out of the house-style corpus).

    write_electronics(folder)   # products.csv, users.csv, events.jsonl
"""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

ANCHOR = datetime(2026, 10, 1, 9, 0)
CATALOGUE: dict[str, list[tuple[str, float]]] = {
    "Audio": [
        ("Wireless Earbuds with Charging Case", 59), ("Over-Ear Noise Cancelling Headphones", 149),
        ("Portable Bluetooth Speaker, Waterproof", 45), ("Bookshelf Speakers, Pair", 129),
        ("Wired In-Ear Headphones with Mic", 15), ("Kids' Volume-Limited Headphones", 25),
        ("Soundbar with Wireless Subwoofer", 199), ("USB Desktop Microphone", 69),
    ],
    "Cables & Chargers": [
        ("USB-C Charging Cable 2m", 9), ("USB-C to Lightning Cable 1m", 12), ("65W USB-C Wall Charger", 35),
        ("Braided Micro-USB Cable 1m", 7), ("Three-in-One Wireless Charging Stand", 49),
        ("Car Charger with Two USB Ports", 14), ("HDMI Cable 3m", 11), ("Magnetic Charging Cable Set", 19),
    ],
    "Computer Accessories": [
        ("Wireless Ergonomic Mouse", 39), ("Mechanical Keyboard, Brown Switches", 89), ("Laptop Stand, Aluminium", 34),
        ("USB-C Docking Station", 119), ("Webcam 1080p with Privacy Cover", 49), ("Mouse Mat, Extra Large", 15),
        ("Compact Wireless Keyboard", 45), ("Laptop Sleeve 14 Inch", 22),
    ],
    "Power & Batteries": [
        ("Power Bank 20000mAh", 39), ("Rechargeable AA Batteries, Pack of 8", 19),
        ("Battery Charger for AA and AAA", 21), ("Slim Power Bank 10000mAh", 25),
        ("Smart Plug with Energy Monitor", 17), ("Surge Protected Extension Lead", 24),
    ],
    "Smart Home": [
        ("Smart Speaker with Voice Assistant", 79), ("Smart LED Bulb, Colour", 15), ("Video Doorbell", 99),
        ("Indoor Security Camera", 45), ("Smart Thermostat", 179), ("Motion Sensor Night Light, Pack of 3", 18),
    ],
    "Cameras": [
        ("Action Camera 4K", 189), ("Camera Tripod, Travel", 39), ("MicroSD Card 128GB", 19),
        ("Camera Backpack", 69), ("Lens Cleaning Kit", 9), ("Instant Camera, Mint", 79),
    ],
}  # fmt: skip


def write_electronics(folder: Path, *, users: int = 60, seed: int = 20261201) -> Path:
    """Write the shop's three files into `folder` (created) and return it."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    products: list[dict[str, object]] = []
    for c, (category, items) in enumerate(CATALOGUE.items()):
        for i, (title, price) in enumerate(items):
            created = ANCHOR - timedelta(days=400 - 37 * i)
            products.append({"id": f"EL-{c}{i:02d}", "title": title, "category": category, "price": price,
                             "currency": "GBP", "created_at": created.isoformat()})  # fmt: skip
    with open(folder / "products.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(products[0]))
        writer.writeheader()
        writer.writerows(products)
    by_category: dict[str, list[str]] = {}
    for product in products:
        by_category.setdefault(str(product["category"]), []).append(str(product["id"]))
    categories = sorted(by_category)
    events: list[dict[str, object]] = []
    with open(folder / "users.csv", "w", newline="", encoding="utf-8") as handle:
        handle.write("id,country\n")
        for u in range(users):
            uid = f"e{u:03d}"
            handle.write(f"{uid},United Kingdom\n")
            liked = rng.sample(categories, 2)
            when = ANCHOR - timedelta(days=rng.randint(60, 200))
            for basket in range(rng.randint(2, 5)):
                when += timedelta(days=rng.randint(3, 30), hours=rng.randint(0, 9))
                session = f"{uid}-s{basket}"
                for n in range(rng.randint(1, 3)):
                    pool = by_category[liked[0] if rng.random() < 0.6 else liked[1]]
                    item = rng.choice(pool)
                    stamp = when + timedelta(minutes=3 * n)
                    events.append({"user_id": uid, "type": "view", "item_id": item, "session_id": session,
                                   "timestamp": stamp.isoformat()})  # fmt: skip
                    events.append({"user_id": uid, "type": "purchase", "item_id": item, "session_id": session,
                                   "timestamp": (stamp + timedelta(minutes=1)).isoformat()})  # fmt: skip
    with open(folder / "events.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(event) + "\n" for event in sorted(events, key=lambda e: str(e["timestamp"])))
    return folder
