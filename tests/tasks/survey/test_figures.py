"""Figures: deterministic bytes, sensible PNGs, drawn from exactly the table slice they name."""

from __future__ import annotations

import struct

import polars as pl

from tasks.survey.figures import (
    coverage_figure,
    freetext_figure,
    proportions_data,
    proportions_figure,
)


def _estimates(n: int) -> pl.DataFrame:
    codes = ["1", "2", "3"]
    return pl.DataFrame(
        {
            "wave": "w1",
            "variable": "body",
            "kind": "code",
            "breakdown": "all",
            "group": "all",
            "code": codes,
            "label": [
                "My own organisation, which is a rather long label",
                "National body",
                "Other",
            ],
            "n": [n] * 3,
            "proportion": [0.5, 0.3, 0.2],
            "lower": [0.4, 0.2, 0.1],
            "upper": [0.6, 0.4, 0.3],
            "weighted_proportion": [0.52, 0.28, 0.2],
            "weighted_lower": [0.42, None, 0.1],
            "weighted_upper": [0.62, None, 0.3],
        }
    )


def test_same_data_same_bytes_and_png_size() -> None:
    a = proportions_figure(_estimates(100), "body", "Which body?", "Wave 1")
    b = proportions_figure(_estimates(100), "body", "Which body?", "Wave 1")
    assert a.png == b.png and a.svg == b.svg
    assert a.png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", a.png[16:24])
    assert 500 <= width <= 1500 and 150 <= height <= 1500
    assert b"Date" not in a.svg[:2000] and a.name == "fig_body"
    assert a.data.equals(proportions_data(_estimates(100), "body"))
    assert "n = 100" in a.title
    other = proportions_figure(_estimates(101), "body", "Which body?", "Wave 1")
    assert other.png != a.png


def test_empty_slices_still_draw() -> None:
    fig = proportions_figure(_estimates(5).head(0), "body", "Which body?", "Wave 1")
    assert fig.data.height == 0 and fig.png.startswith(b"\x89PNG")
    coverage = pl.DataFrame(
        schema={
            "wave": pl.String,
            "breakdown": pl.String,
            "group": pl.String,
            "sites": pl.Int64,
            "sites_covered": pl.Int64,
            "sites_share": pl.Float64,
            "roster": pl.Int64,
            "respondents": pl.Int64,
            "response_rate": pl.Float64,
        }
    )
    assert coverage_figure(coverage, "region", "Wave 1").svg.startswith(b"<?xml")


def test_freetext_heatmap_reads_the_role_rows() -> None:
    freq = pl.DataFrame(
        {
            "wave": "w1",
            "dictionary": "ob",
            "variable": "why",
            "category": ["time", "time", "will", "will", "_uncoded", "time"],
            "label": ["Time", "Time", "Will", "Will", "(none)", "Time"],
            "breakdown": ["role", "role", "role", "role", "role", "all"],
            "group": ["gp", "lay", "gp", "lay", "gp", "all"],
            "answers": [10, 4, 10, 4, 10, 14],
            "count": [9, 1, 2, 0, 1, 10],
            "share": [0.9, 0.25, 0.2, 0.0, 0.1, 10 / 14],
            "lower": 0.0,
            "upper": 1.0,
        }
    )
    fig = freetext_figure(freq, "ob", "Why?", "Wave 1", {"gp": "GP", "lay": "Lay"})
    assert fig.data["category"].to_list() == ["time", "time", "will", "will"]
    assert fig.png.startswith(b"\x89PNG") and fig.name == "fig_freetext_ob"
    empty = freetext_figure(freq.head(0), "ob", "Why?", "Wave 1", {})
    assert empty.data.height == 0 and empty.svg.startswith(b"<?xml")
