"""The maturity curve as inline SVG: per stage, the share of required capabilities met,
partial, unknown and unmet (a stacked bar), the line through the met shares (the curve), and
the stage the subject is placed at. No external asset, no script; every text is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

COLOURS = {"met": "#1e8e3e", "partial": "#f9ab00", "unknown": "#a142f4", "unmet": "#d93025"}
ORDER = ("met", "partial", "unknown", "unmet")
WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 14, 46


def curve_svg(profile: list[dict[str, Any]], stage: int, label: str) -> str:
    """One subject's curve. ``profile`` is a placement's ``profile``; ``stage`` its stage."""
    n = max(len(profile), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar = slot * 0.56
    parts = [f'<svg class="curve" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(label)}">',
             f"<title>{escape(label)}</title>"]
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{int(frac * 100)}%</text>')
    points = []
    for i, row in enumerate(profile):
        x = LEFT + slot * i + (slot - bar) / 2
        required = row["required"] or 1
        y = TOP + plot_h
        if row["stage"] <= stage:
            parts.append(f'<rect x="{LEFT + slot * i:.1f}" y="{TOP}" width="{slot:.1f}" height="{plot_h}" '
                         f'class="reached"/>')
        for status in ORDER:
            count = row[status]
            if not count:
                continue
            h = plot_h * count / required
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[status]}" class="bar {status}" data-stage="{row["stage"]}">'
                         f'<title>Stage {row["stage"]} {escape(row["name"])}: {count} of '
                         f'{row["required"]} {status}</title></rect>')
        cx = LEFT + slot * i + slot / 2
        points.append(f"{cx:.1f},{TOP + plot_h * (1 - row['met'] / required):.1f}")
        parts.append(f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="axis">'
                     f'{row["stage"]}</text>')
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" class="met-line"/>')
        parts.extend(f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" class="met-dot"/>'
                     for p in points)
    legend_x = LEFT
    for status in ORDER:
        parts.append(f'<rect x="{legend_x}" y="{HEIGHT - 16}" width="10" height="10" fill="{COLOURS[status]}"/>'
                     f'<text x="{legend_x + 14}" y="{HEIGHT - 7}" class="axis">{status}</text>')
        legend_x += 80
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 7}" text-anchor="end" class="axis">'
                 f'shaded: stages reached</text></svg>')
    return "".join(parts)
