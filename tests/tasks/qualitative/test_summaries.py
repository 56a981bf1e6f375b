"""The qualitative phases' markdown pieces and key figures."""

from __future__ import annotations

import polars as pl

from tasks.qualitative import summaries


def test_bullets_show_floats_to_three_decimals_and_missing_as_na() -> None:
    frame = pl.DataFrame({"set": [f"s{i}" for i in range(12)], "mean": [0.12345, None] + [1.0] * 10})
    lines = summaries.bullets(frame, "- {set}: {mean}").splitlines()
    assert lines[:2] == ["- s0: 0.123", "- s1: n/a"] and len(lines) == 10


def test_double_coding_note_below_the_minimum_only() -> None:
    assert summaries.double_coding_notes(3, 20, 0.15) == []
    assert summaries.double_coding_notes(2, 20, 0.15) == ["only 10.0% of sources are double-coded (minimum 15%)"]
    assert summaries.double_coding_notes(0, 0, 0.1) == ["only 0.0% of sources are double-coded (minimum 10%)"]


def test_agreement_figures_name_level_statistic_and_coder() -> None:
    pooled = pl.DataFrame({"level": ["presence", "character"], "coder_b": ["coder_b", "coder_b"],
                           "kappa": [0.88304, None], "alpha": [0.9, 0.87777]})
    assert summaries.agreement_figures(pooled) == {
        "presence_kappa_coder_b": 0.883, "presence_alpha_coder_b": 0.9, "character_alpha_coder_b": 0.8778}


def test_scoping_markdown_without_targets_says_none() -> None:
    ranking = pl.DataFrame({"rank": [1], "area": ["Urgent care"], "n_sites": [0], "n_segments": [0]})
    text = summaries.scoping_markdown(n_sites=0, n_sources=0, n_segments=0, lead=None, ranking=ranking, top=3,
                                      targets="", notes=["a note"])
    assert text.splitlines() == [
        "## Scoping", "0 sites, 0 sources, 0 coded segments (counts from each source's primary coder; lead coder None).",
        "", "### Areas ranked by sites, then segments", "1. Urgent care: 0 sites, 0 segments", "",
        "Target areas (top 3): none.", "- note: a note"]
