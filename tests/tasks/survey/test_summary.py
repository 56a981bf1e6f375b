"""The wave's summary: key figures, markdown sections and the keys it names."""

from __future__ import annotations

import math

import polars as pl

from tasks.survey.summary import (
    figures_markdown,
    key_estimate_rows,
    missing_change_note,
    quarantine_note,
    wave_summary,
)

COVERAGE = pl.DataFrame(
    {"breakdown": ["all"], "group": ["all"], "sites": [4], "sites_covered": [0], "sites_share": [0.0],
     "roster": [10], "respondents": [0], "response_rate": [float("nan")]}
)
ESTIMATES = pl.DataFrame(
    {"variable": ["q", "q"], "kind": ["key", "code"], "breakdown": ["all", "all"], "label": ["yes", "1"],
     "n": [0, 0], "proportion": [None, None], "weighted_proportion": [None, None],
     "weighted_lower": [None, None], "weighted_upper": [None, None]},
    schema_overrides={c: pl.Float64 for c in ("proportion", "weighted_proportion", "weighted_lower", "weighted_upper")},
)
RESPONDENTS = pl.DataFrame(schema={"straightlined": pl.Boolean, "partial": pl.Boolean})


def test_an_empty_wave_still_has_every_count() -> None:
    removed = pl.DataFrame({"reason": ["a", "b"]})
    s = wave_summary("w1", 2, RESPONDENTS, removed, COVERAGE, ESTIMATES, None, math.nan)
    assert s == {
        "wave": "w1", "rows_in": 2, "respondents": 0, "removed": 2, "sites": 4, "sites_covered": 0,
        "sites_covered_share": 0.0, "roster": 10, "member_response_rate": 0.0, "straightlined": 0,
        "partial": 0,
    }
    # The key share of an item nobody answered is listed in the table, not as a key figure.
    assert [r["variable"] for r in key_estimate_rows(ESTIMATES)] == ["q"]


def test_change_counts_significant_changes() -> None:
    change = pl.DataFrame({"significant": [True, False, True]})
    s = wave_summary("w2", 0, RESPONDENTS, RESPONDENTS, COVERAGE, ESTIMATES, change, 1.25)
    assert s["significant_changes"] == 2 and s["weight_design_effect"] == 1.25


def test_notes_and_figure_lines_name_the_catalog_keys() -> None:
    assert quarantine_note("R1", "survey.w1.roster", "roster", 3) == (
        "3 row(s) of the roster table quarantined: `quarantine/R1/survey/w1/roster.parquet`"
    )
    assert figures_markdown("R1", []) == ""
    assert figures_markdown("R1", [("survey.w1.fig_x", "X")]) == (
        "### Figures\n\n- X: `runs/R1/survey/w1/fig_x.png` (SVG: `runs/R1/survey/w1/fig_x.svg`)"
    )
    assert missing_change_note("w1") == "no estimates of wave 'w1' upstream: the change table was not built"
