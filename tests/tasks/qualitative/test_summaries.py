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


def test_agreement_figures_name_unit_statistic_and_coders() -> None:
    pooled = pl.DataFrame({"unit": ["presence", "character", "segment"], "coder_a": ["ann", "ann", None],
                           "coder_b": ["bob", "bob", None], "kappa": [0.88304, None, 0.7], "alpha": [0.9, 0.87777, None]})
    assert summaries.agreement_figures(pooled) == {
        "presence_kappa_ann_bob": 0.883, "presence_alpha_ann_bob": 0.9, "character_alpha_ann_bob": 0.8778,
        "segment_kappa_all_coders": 0.7}


def test_reliability_lines_name_the_coders_the_unit_and_the_interval() -> None:
    pooled = pl.DataFrame({"coders": ["ann vs bob", "ann, bob, cy"], "unit": ["segment", "character"],
                           "n_sources": [4, 5], "n_units": [120, 9000], "agreement": [0.9, None],
                           "kappa_type": ["Cohen", "Fleiss"], "kappa": [0.81234, 0.5], "kappa_low": [0.7, None],
                           "kappa_high": [0.9, None], "alpha": [0.8, None], "alpha_low": [0.69, None],
                           "alpha_high": [0.91, None]})
    assert summaries.reliability_lines(pooled) == [
        "- ann vs bob, segment overlap (4 sources, 120 units): agreement 0.900, Cohen's kappa 0.812 (0.700 to "
        "0.900), Krippendorff's alpha 0.800 (0.690 to 0.910)",
        "- ann, bob, cy, character (5 sources, 9000 units): agreement n/a, Fleiss' kappa 0.500, Krippendorff's "
        "alpha n/a",
    ]


def test_scoping_markdown_without_targets_says_none() -> None:
    ranking = pl.DataFrame({"rank": [1], "area": ["Urgent care"], "n_sites": [0], "n_segments": [0]})
    text = summaries.scoping_markdown(n_sites=0, n_sources=0, n_segments=0, lead=None, ranking=ranking, top=3,
                                      targets="", notes=["a note"])
    assert text.splitlines() == [
        "## Scoping", "0 sites, 0 sources, 0 coded segments (counts from each source's primary coder; lead coder None).",
        "", "### Areas ranked by sites, then segments", "1. Urgent care: 0 sites, 0 segments", "",
        "Target areas (top 3): none.", "- note: a note"]


def test_interval_notes_only_for_comparisons_on_fewer_than_two_sources() -> None:
    rel = pl.DataFrame({"coders": ["a vs b", "a vs b", "a vs c", "b vs c"],
                        "code_id": ["__pooled__", "x", "__pooled__", "__pooled__"], "n_sources": [1, 1, 2, 0]})
    assert summaries.interval_notes(rel) == [
        "reliability of a vs b rests on 1 shared source(s): no bootstrap interval",
        "reliability of b vs c rests on 0 shared source(s): no bootstrap interval",
    ]
