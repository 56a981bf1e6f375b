"""The proposition's joint display figure: survey estimates with intervals beside each case site's.

A small SVG inlined in the HTML report (no plotting library, no namespace URL, no fonts): one row per national survey
estimate (per wave) and one per case site with respondents, a dot at the estimate and a line for
its interval, on a 0–100% axis with the proposition's threshold (50%) marked. Text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 460
LABEL = 150
ROW = 18
TOP = 22
PLOT = WIDTH - LABEL - 20


@dataclass(frozen=True)
class Point:
    """One row of the figure: a label, an estimate and its interval (0–1), and whether it is a case site."""

    label: str
    value: float | None
    lower: float | None
    upper: float | None
    case: bool = False


def _x(v: float) -> float:
    return LABEL + PLOT * min(max(v, 0.0), 1.0)


def joint_figure(points: Sequence[Point], threshold: float | None = 0.5, title: str = "") -> str:
    """An inline SVG of the estimates; empty string when there is nothing to draw."""
    drawn = [p for p in points if p.value is not None]
    if not drawn:
        return ""
    height = TOP + ROW * len(drawn) + 24
    parts = [f'<svg width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
             'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">']
    if title:
        parts.append(f'<title>{escape(title)}</title>')
    bottom = TOP + ROW * len(drawn)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = _x(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{bottom}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" fill="#555">{int(tick * 100)}%</text>')
    if threshold is not None:
        x = _x(threshold)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 10}" x2="{x:.1f}" y2="{bottom}" stroke="#a33" '
                     'stroke-dasharray="4 3"/>')
    for i, p in enumerate(drawn):
        y = TOP + ROW * i + ROW / 2
        colour = "#8a5a00" if p.case else "#1b6ca8"
        parts.append(f'<text x="{LABEL - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(p.label)}</text>')
        if p.lower is not None and p.upper is not None:
            parts.append(f'<line x1="{_x(p.lower):.1f}" y1="{y:.1f}" x2="{_x(p.upper):.1f}" y2="{y:.1f}" '
                         f'stroke="{colour}" stroke-width="2"/>')
        assert p.value is not None
        shape = (f'<rect x="{_x(p.value) - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>' if p.case
                 else f'<circle cx="{_x(p.value):.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>')
        parts.append(shape)
    parts.append("</svg>")
    return "".join(parts)
