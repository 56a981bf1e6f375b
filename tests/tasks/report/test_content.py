"""The report's content: numbers from the data, redacted quotes, sections named after their datasets."""

from __future__ import annotations

from types import ModuleType

import polars as pl

from schemas.datasets import model_for
from schemas.datasets.triangulation import REPORT_CONTENTS
from tasks.report.content import Report, case_tables, contents, figure_views
from tasks.report.render import render_html, render_markdown
from tasks.step import Blob


def test_numbers_from_the_data_appear_formatted_in_both(report: Report) -> None:
    html, md = render_html(report), render_markdown(report)
    for text in (
        "62.0% (55.0–69.0%)",          # wave-1 weighted key estimate with its interval
        "66.7% (60.0–73.0%)",          # wave 2
        "+5.0 pts (+1.0 to +9.0)",     # wave change
        "166 of 210",                  # sites covered
        "12.4%",                       # member response rate
        "Frail older people",          # scoping's top area
        "most distant from the chosen",  # case selection reason
        "0.87",                        # pooled kappa
        "2013-04-01 to 2014-02-28",    # phase dates from study.yaml
        "respondents: 471",            # phase key figure
        "agreement",
        "10 codings in 3 of 4 cases (A, B, C); 3 code(s)",
        "run-42", "0.1.0+abc123def456", "a" * 64,
    ):
        assert text in html, text
        assert text in md, text


def test_quotes_are_the_redacted_ones(report: Report, tf: ModuleType) -> None:
    html, md = render_html(report), render_markdown(report)
    for text in ("The STP meets without [REDACTED] and decides.", "[REDACTED] said the CCG no longer leads."):
        assert text in html and text in md
    shown = {q.text for q in report.quotes}
    assert shown <= set(tf.quotes()["text"].to_list())
    assert all(q.text.count("[REDACTED]") == tf.quotes().filter(pl.col("text") == q.text)["redactions"][0]
               for q in report.quotes)


def test_contents_name_the_datasets_behind_each_section(report: Report) -> None:
    toc = contents(report)
    model_for(REPORT_CONTENTS.name).validate(toc)
    sources = dict(zip(toc["title"].to_list(), toc["sources"].to_list(), strict=True))
    assert toc["section"].to_list()[0] == "phases"
    assert sources["Coverage"] == "survey.w1.coverage, survey.w2.coverage"
    assert sources["Key survey estimates"] == "survey.w1.estimates, survey.w2.estimates"
    assert sources["Areas ranked by sites, then segments"] == "scoping.area_ranking"
    assert sources["Case × theme matrix"] == "cases.framework, cases.theme_presence"
    assert sources["Convergence"] == "triangulation.convergence, triangulation.sensitivity"
    assert sources["Review"] == "triangulation.review"
    assert sources["Selected quotes"] == "cases.quotes"
    assert sources["Figures"] == "survey.w1.coverage_fig, survey.w1.proportions_influence"
    prop = toc.filter(pl.col("section") == "triangulation").row(2, named=True)
    assert prop["sources"] == "triangulation.joint_displays, triangulation.convergence, triangulation.meta_matrix"


def test_matrix_falls_back_to_codings_without_a_framework(
    report_tables: dict[str, pl.DataFrame], tf: ModuleType,
) -> None:
    tables = {k: v for k, v in report_tables.items() if k != "cases.framework"}
    tables["cases.matrix"] = tf.matrix()
    matrix = next(t for t in case_tables(tables) if t.title == "Case × theme matrix")
    assert matrix.sources == "cases.matrix, cases.theme_presence"
    assert matrix.note.startswith("Codings per case and theme")


def test_only_figures_are_embedded(figure_blobs: list[Blob]) -> None:
    views = figure_views(figure_blobs)
    assert [v.caption for v in views] == ["survey.w1.coverage_fig", "survey.w1.proportions_influence"]
    assert views[0].uri.startswith("data:image/png;base64,")


def test_reliability_names_the_coders_and_the_unit(report_tables: dict[str, pl.DataFrame]) -> None:
    table = next(t for t in case_tables(report_tables) if t.title == "Inter-coder reliability (all codes pooled)")
    assert table.columns == ["coders", "unit", "sources", "units", "agreement", "kappa (95% CI)", "alpha (95% CI)"]
    assert table.rows == [
        ["ann vs bob", "source presence", "12", "240", "95.8%", "Cohen: 0.87 (0.79 to 0.93)", "0.87 (0.79 to 0.93)"],
        ["ann vs bob", "character", "12", "90000", "98.9%", "Cohen: 0.90", "0.90"],
        ["ann, bob, cy", "segment overlap", "12", "300", "90.0%", "Fleiss: 0.75 (0.60 to 0.84)", "0.75 (0.61 to 0.85)"],
    ]
    assert "before redaction" in table.note and "2,000 resamples" in table.note
    assert table.sources == "cases.reliability"


def test_selected_quotes_are_attributed_in_the_studys_words(report: Report) -> None:
    # The role label (not the key "chair"), the case and the source type; the theme in brackets.
    assert [q.source for q in report.quotes] == ["CCG chair (GP), case A, interview (Political context)",
                                                 "CCG chair (GP), case A, interview (Alliance leadership)"]
