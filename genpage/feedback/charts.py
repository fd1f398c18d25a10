"""Static SVG charts (no script, no external fonts or styles): what the bench writes as files and a dashboard can
inline under a strict content security policy.

    svg = line_chart({"thompson": [(1, 0.12), (2, 0.14)], "fixed": [(1, 0.10), (2, 0.10)]},
                     title="Click-through over time", x_label="page views", y_label="CTR")
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from html import escape

# Distinguishable for common colour-vision deficiencies (Okabe-Ito); each line also gets its own dash pattern.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4")


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if raw <= step * m)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(int(math.ceil((high - first) / step)) + 1)]


def _label(value: float) -> str:
    if value != 0 and (abs(value) >= 10_000 or abs(value) < 0.01):
        return f"{value:.3g}"
    return f"{value:,.4g}"


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, x_label: str = "",
               y_label: str = "", width: int = 640, height: int = 320, y_from_zero: bool = True) -> str:
    """An accessible SVG line chart of named series of (x, y) points: a title (also the SVG's <title>), axes with
    round ticks, a legend, one colour and dash pattern per series. Text is escaped."""
    points = [(x, y) for values in series.values() for x, y in values if math.isfinite(y)]
    left, right, top, bottom = 64, 150, 36, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for x, _ in points] or [0.0, 1.0]
    ys = [y for _, y in points] or [0.0, 1.0]
    y_ticks = _ticks(min(0.0, min(ys)) if y_from_zero else min(ys), max(ys))
    x_ticks = _ticks(min(xs), max(xs))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def sx(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1.0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / ((y1 - y0) or 1.0) * plot_h

    names = ", ".join(series)
    label_id = "chart-" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "line")  # unique per title
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="{label_id}" font-family="sans-serif" font-size="12">',
           f'<title id="{label_id}">{escape(title)} ({escape(names)})</title>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{left}" y="22" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>']  # fmt: skip
    for y in y_ticks:
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" fill="#444">{_label(y)}</text>')
    for x in x_ticks:
        out.append(f'<text x="{sx(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#444">'
                   f"{_label(x)}</text>")  # fmt: skip
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#666"/>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#666"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle" fill="#222">'
               f"{escape(x_label)}</text>")  # fmt: skip
    out.append(f'<text transform="translate(16 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'fill="#222">{escape(y_label)}</text>')  # fmt: skip
    for i, (name, values) in enumerate(series.items()):
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values if math.isfinite(y))
        if path:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dashed} points="{path}"/>')
        ly = top + 14 + i * 18
        out.append(f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 36}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dashed}/>')  # fmt: skip
        out.append(f'<text x="{left + plot_w + 42}" y="{ly}" fill="#222">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)
