"""Figures laid out once: the PNG savefig's tight crop gives, an SVG of the same box and labels."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from tasks.survey import figures
from tasks.survey.figures import _PNG_META, DPI, coverage_figure, freetext_figure

ROOT = Path(__file__).resolve().parents[3]


def _freetext() -> pl.DataFrame:
    labels = ["Lack of time", "Lack of system-wide understanding and a long label", "Complexity"]
    groups = ["gp", "lay", "nurse"]
    rows = [(c, g) for c in labels for g in groups]
    return pl.DataFrame(
        {
            "wave": "w1",
            "dictionary": "ob",
            "variable": "why",
            "category": [c.split()[0].lower() + str(i) for i, (c, _) in enumerate(rows)],
            "label": [c for c, _ in rows],
            "breakdown": "role",
            "group": [g for _, g in rows],
            "answers": [{"gp": 40, "lay": 17, "nurse": 9}[g] for _, g in rows],
            "count": 1,
            "share": [0.88, 0.0, 0.95, 0.22, 0.12, None, 0.61, 0.5, 0.05],
            "lower": 0.0,
            "upper": 1.0,
        }
    )


def _tight(fig: Figure) -> tuple[bytes, bytes]:
    """What savefig(bbox_inches="tight") gives (the old rendering, two layouts per format)."""
    with figures._style():
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI, metadata=_PNG_META, bbox_inches="tight")
        fig.savefig(svg, format="svg", metadata=figures._SVG_META, bbox_inches="tight")
    return png.getvalue(), svg.getvalue()


def _svg_size(svg: bytes) -> tuple[float, float]:
    m = re.search(rb'width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert m is not None
    return float(m.group(1)), float(m.group(2))


def _captured(monkeypatch: pytest.MonkeyPatch, draw: object) -> tuple[list[Figure], tuple[bytes, bytes]]:
    """The Figure a drawing function built, and what it rendered."""
    seen: list[Figure] = []
    render = figures._render

    def keep(fig: Figure) -> tuple[bytes, bytes]:
        seen.append(fig)
        return render(fig)

    monkeypatch.setattr(figures, "_render", keep)
    made = draw()  # type: ignore[operator]
    return seen, (made.png, made.svg)


def test_heatmap_png_is_the_tight_crop_and_svg_has_the_same_box_and_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roles = {"gp": "GP member", "lay": "Lay member", "nurse": "Registered nurse"}
    seen, (png, svg) = _captured(
        monkeypatch, lambda: freetext_figure(_freetext(), "ob", "Obstacles", "Wave 1", roles)
    )
    old_png, old_svg = _tight(seen[0])
    # The same pixels as savefig's own tight crop, from one layout instead of two.
    assert png == old_png
    width, height = struct.unpack(">II", png[16:24])
    assert 600 <= width <= 1400 and 250 <= height <= 700
    new_w, new_h = _svg_size(svg)
    old_w, old_h = _svg_size(old_svg)
    # The box comes from the PNG's text metrics: at most a few points wider than before.
    assert old_w <= new_w <= old_w * 1.02 and old_h <= new_h <= old_h * 1.02
    comments = set(re.findall(rb"<!-- (.*?) -->", svg))
    for text in (b"Lack of time", b"Complexity", b"88%", b"95%", b"\xe2\x80\x93", b"GP member (n=40)",
                 b"Registered nurse", b"(n=9)",
                 b"share of answers; intervals in the table"):
        assert text in comments, text
    assert comments == set(re.findall(rb"<!-- (.*?) -->", old_svg))


def test_bars_keep_the_legend_outside_the_axes(monkeypatch: pytest.MonkeyPatch) -> None:
    coverage = pl.DataFrame(
        {
            "wave": "w1",
            "breakdown": "region",
            "group": ["North", "South and a much longer region name"],
            "sites": [10, 12],
            "sites_covered": [8, 6],
            "sites_share": [0.8, 0.5],
            "roster": [100, 120],
            "respondents": [40, 30],
            "response_rate": [0.4, 0.25],
        }
    )
    seen, (png, svg) = _captured(monkeypatch, lambda: coverage_figure(coverage, "region", "Wave 1"))
    old_png, old_svg = _tight(seen[0])
    assert png == old_png
    comments = set(re.findall(rb"<!-- (.*?) -->", svg))
    assert {b"sites with a respondent", b"members responding", b"Coverage by region (Wave 1)"} <= comments
    assert comments == set(re.findall(rb"<!-- (.*?) -->", old_svg))


def test_render_leaves_global_matplotlib_settings_alone() -> None:
    before = dict(matplotlib.rcParams)
    fig = Figure(figsize=(3, 2), dpi=DPI)
    fig.add_subplot().plot(np.arange(3))
    png, svg = figures._render(fig)
    assert png.startswith(b"\x89PNG") and svg.startswith(b"<?xml")
    assert dict(matplotlib.rcParams) == before


def test_importing_the_survey_steps_does_not_import_matplotlib() -> None:
    code = (
        "import sys, tasks.survey.steps, tasks.survey.figures; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
