"""Number formatting shared by the HTML and Markdown reports (one spelling of every figure)."""

from __future__ import annotations

import math

DASH = "–"


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x: float | None) -> str:
    """A 0–1 share as a percentage with one decimal: 0.3821 → "38.2%"."""
    return DASH if _missing(x) else f"{100 * float(x):.1f}%"  # type: ignore[arg-type]


def ci(lower: float | None, upper: float | None) -> str:
    """A 0–1 interval as percentages: "34.1–42.4%"."""
    if _missing(lower) or _missing(upper):
        return DASH
    return f"{100 * float(lower):.1f}–{100 * float(upper):.1f}%"  # type: ignore[arg-type]


def pct_ci(x: float | None, lower: float | None, upper: float | None) -> str:
    """A share with its interval: "38.2% (34.1–42.4%)"."""
    return pct(x) if _missing(lower) else f"{pct(x)} ({ci(lower, upper)})"


def points(x: float | None) -> str:
    """A difference of shares in signed percentage points: 0.031 → "+3.1 pts"."""
    return DASH if _missing(x) else f"{100 * float(x):+.1f} pts"  # type: ignore[arg-type]


def points_ci(x: float | None, lower: float | None, upper: float | None) -> str:
    """A difference with its interval: "+3.1 pts (−1.2 to +7.4)"."""
    if _missing(lower) or _missing(upper):
        return points(x)
    return f"{points(x)} ({100 * float(lower):+.1f} to {100 * float(upper):+.1f})"  # type: ignore[arg-type]


def pvalue(p: float | None) -> str:
    """A p-value: "p < 0.001" or "p = 0.032"."""
    if _missing(p):
        return DASH
    return "p < 0.001" if float(p) < 0.001 else f"p = {float(p):.3f}"  # type: ignore[arg-type]


def num(x: object, digits: int = 2) -> str:
    """An integer as is, a float with `digits` decimals, a dash when missing."""
    if _missing(x):
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def summary_value(key: str, value: object) -> str:
    """A phase summary value: shares (keys naming a share or rate) as percentages."""
    if isinstance(value, float) and any(w in key for w in ("share", "rate")):
        return pct(value)
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return num(value)
