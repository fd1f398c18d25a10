"""Static SVG charts (no script, no external fonts or styles): what the bench writes as files and a dashboard can
inline under a strict content security policy.

    svg = line_chart({"thompson": [(1, 0.12), (2, 0.14)], "fixed": [(1, 0.10), (2, 0.10)]},
                     title="Click-through over time", x_label="page views", y_label="CTR")
    svg = share_bars({"5+ baskets": {"buy_again": 0.7, "theme": 0.3}}, title="Top shelf per segment")

Every chart is an `<svg role="img">` labelled by its `<title>` and described by its `<desc>` (give a page a table
of the same numbers too: a chart is not readable by everyone).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
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


def _open_svg(title: str, description: str, width: int, height: int, kind: str) -> list[str]:
    """The <svg> element with its <title> and <desc> (ids unique per title), a white ground and the heading."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or kind
    label_id, desc_id = f"chart-{slug}", f"chart-{slug}-desc"
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-labelledby="{label_id}" aria-describedby="{desc_id}" '
            f'font-family="sans-serif" font-size="12">',
            f'<title id="{label_id}">{escape(title)}</title>',
            f'<desc id="{desc_id}">{escape(description)}</desc>',
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
            f'<text x="16" y="22" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>']  # fmt: skip


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, x_label: str = "",
               y_label: str = "", width: int = 640, height: int = 320, y_from_zero: bool = True,
               description: str = "", x_format: Callable[[float], str] | None = None) -> str:
    """An accessible SVG line chart of named series of (x, y) points: a title (the SVG's <title>), a description
    (its <desc>; by default the series' names and last values), axes with round ticks (`x_format` labels the x
    ticks), a legend, one colour, dash pattern and point marker per series. Text is escaped."""
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

    if not description:
        last = [f"{name} {_label(values[-1][1])}" for name, values in series.items() if values]
        description = f"{y_label or 'value'} by {x_label or 'x'}; last values: {', '.join(last) or 'none'}"
    out = _open_svg(title, description, width, height, "line")
    for y in y_ticks:
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" fill="#444">{_label(y)}</text>')
    for x in x_ticks:
        out.append(f'<text x="{sx(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#444">'
                   f"{escape(x_format(x) if x_format else _label(x))}</text>")  # fmt: skip
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
            out.extend(f'<circle cx="{point.split(",")[0]}" cy="{point.split(",")[1]}" r="2.5" fill="{colour}"/>'
                       for point in path.split())  # a lone point shows too
        ly = top + 14 + i * 18
        out.append(f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 36}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dashed}/>')  # fmt: skip
        out.append(f'<text x="{left + plot_w + 42}" y="{ly}" fill="#222">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def share_bars(rows: Mapping[str, Mapping[str, float]], *, title: str, description: str = "",
               width: int = 640) -> str:
    """An accessible SVG of one horizontal bar per row (e.g. a segment) split into named shares that sum to 1 (e.g.
    the chance each shelf kind is put on top): one colour per share name across rows, with a legend, and each
    share's percentage written in its part when there is room. Text is escaped."""
    names = list(dict.fromkeys(name for shares in rows.values() for name in shares))
    left, right, top, bar_h, gap = 140, 16, 40, 22, 12
    legend_rows = math.ceil(len(names) / 4) if names else 0
    height = top + len(rows) * (bar_h + gap) + legend_rows * 18 + 16
    plot_w = width - left - right
    if not description:
        description = "; ".join(f"{row}: " + ", ".join(f"{n} {v:.0%}" for n, v in shares.items())
                                for row, shares in rows.items()) or "no data"  # fmt: skip
    out = _open_svg(title, description, width, height, "shares")
    for r, (row, shares) in enumerate(rows.items()):
        y = top + r * (bar_h + gap)
        out.append(f'<text x="{left - 8}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="end" fill="#222">'
                   f"{escape(row[:20])}</text>")  # fmt: skip
        x = float(left)
        total = sum(max(v, 0.0) for v in shares.values()) or 1.0
        for name, value in shares.items():
            w = plot_w * max(value, 0.0) / total
            colour = PALETTE[names.index(name) % len(PALETTE)]
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}" '
                       f'stroke="#ffffff"/>')  # fmt: skip
            if w >= 34:
                out.append(f'<text x="{x + w / 2:.1f}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="middle" '
                           f'fill="#ffffff" font-weight="bold">{value / total:.0%}</text>')  # fmt: skip
            x += w
    legend_y = top + len(rows) * (bar_h + gap) + 6
    for i, name in enumerate(names):
        lx, ly = left + (i % 4) * (plot_w / 4), legend_y + (i // 4) * 18
        out.append(f'<rect x="{lx:.1f}" y="{ly}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 16:.1f}" y="{ly + 10}" fill="#222">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)
