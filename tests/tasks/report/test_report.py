"""The study report: numbers from the data, formatted alike in HTML and Markdown, offline-readable."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
import yaml

from schemas.registry import model_for
from schemas.study_config import StudyConfig, load_study_config
from tasks.context import RunContext
from tasks.report.content import Figure, Provenance, Report, build_report, contents
from tasks.report.render import render_html, render_markdown
from tasks.report.steps import report_step
from tasks.triangulation.displays import triangulate
from tasks.triangulation.steps import triangulation_step

SVG = (b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
       b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg" '
       b'xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><rect width="10" height="10"/></svg>')
PNG = b"\x89PNG\r\n\x1a\n-not-a-real-png-"
PROPOSITIONS = [
    {"id": "p1_constrained", "statement": "CCGs are constrained by <other> bodies", "themes": ["Political context"],
     "quantitative": {"variable": "influence", "compare_waves": True}, "expect": "majority"},
]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _tables(tf: ModuleType) -> dict[str, pl.DataFrame]:
    est = {w: pl.DataFrame([tf.estimate(w, "influence", "key", "1", p, lo, hi)])
           for w, p, lo, hi in (("w1", 0.62, 0.55, 0.69), ("w2", 0.667, 0.6, 0.73))}
    change = pl.DataFrame([tf.change("influence", 0.05, 0.01, 0.09, p1=0.62)])
    coverage = pl.DataFrame([{"wave": "w1", "breakdown": "all", "group": "all", "sites": 210, "sites_covered": 166,
                              "sites_share": 166 / 210, "roster": 3800, "respondents": 471,
                              "response_rate": 471 / 3800}])
    ranking = pl.DataFrame([{"rank": 1, "area": "Frail older people", "code_id": "a1", "path": "Areas/Frail",
                             "n_sites": 12, "n_sources": 30, "n_segments": 87, "sites": "S1; S2", "is_target": True}])
    selection = pl.DataFrame([{"site_id": "S1", "in_pool": True, "eligible": True, "selected": True, "pinned": False,
                               "order": 1, "actual_case": "A", "target_areas": "Frail", "quotas": "", "profile": "",
                               "nearest_distance": 0.4, "reason": "most distant from the chosen"}])
    framework = tf.matrix().group_by("case", "theme").agg(pl.col("n_segments").sum())
    presence = pl.DataFrame([{"theme": "Political context", "n_cases": 3, "n_cases_total": 4, "cases": "A; B; C",
                              "n_segments": 10, "n_sources": 7}])
    reliability = pl.DataFrame([{"coder_a": "ann", "coder_b": "bob", "level": "presence", "code_id": "__pooled__",
                                 "path": "(all codes)", "n_sources": 12, "n_units": 240, "both": 50, "first_only": 6,
                                 "second_only": 4, "neither": 180, "agreement": 0.9583, "kappa": 0.8712,
                                 "alpha": 0.8715}])
    props = [tf.proposition(p["id"], p["themes"], **p["quantitative"]) for p in PROPOSITIONS]
    props = [props[0].model_copy(update={"statement": PROPOSITIONS[0]["statement"]})]
    survey = tf.survey_tables([*est["w1"].to_dicts(), *est["w2"].to_dicts()], change.to_dicts())
    tri = triangulate(props, tf.variables(), tf.qual_tables(), survey)
    return {
        "survey.w1.estimates": est["w1"], "survey.w2.estimates": est["w2"], "survey.w2.change": change,
        "survey.w1.coverage": coverage, "scoping.area_ranking": ranking, "cases.selection": selection,
        "cases.framework": framework, "cases.theme_presence": presence, "cases.reliability": reliability,
        "cases.quotes": tf.quotes(), "triangulation.convergence": tri.convergence,
        "triangulation.joint_displays": tri.joint_displays,
    }


@pytest.fixture()
def config(tf: ModuleType, tmp_path: Path) -> StudyConfig:
    """The tiny study's configuration."""
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tf.study_config(PROPOSITIONS)), encoding="utf-8")
    return load_study_config(path)


@pytest.fixture()
def report(tf: ModuleType, config: StudyConfig) -> Report:
    """The report of the tiny study."""
    phases = [{"phase": "scoping", "status": "completed", "run_id": "r1", "summary": {"sites": 15, "segments": 420}},
              {"phase": "survey_w1", "status": "inherited", "run_id": "r0",
               "summary": {"respondents": 471, "member_response_rate": 0.124}}]
    figures = [Figure("survey.w1.proportions_influence", "image/svg+xml", SVG, "runs/r1/survey/w1/p.svg"),
               Figure("survey.w1.coverage", "image/png", PNG, "runs/r1/survey/w1/coverage.png"),
               Figure("cases.project", "application/zip", b"PK", "runs/r1/cases/project.qdpx")]
    prov = Provenance("run-42", "0.1.0+abc123def456", "c" * 64, (("sites", "sites.csv", "a" * 64),))
    return build_report(config, phases, _tables(tf), figures, prov, {"scoping": 2}, {"scoping": (6, 1234)})


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


def test_html_is_self_contained(report: Report) -> None:
    html = render_html(report)
    assert not EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html
    assert html.count('<img src="data:image/svg+xml;base64,') == 1
    assert html.count('<img src="data:image/png;base64,') == 1
    assert "PK" not in html.split("<h2 id=\"figures\">")[1].split("</footer>")[0].split("Provenance")[0]


def test_markdown_lists_figures_by_key(report: Report) -> None:
    md = render_markdown(report)
    assert "- survey.w1.proportions_influence: `runs/r1/survey/w1/p.svg`" in md
    assert "data:image" not in md


def test_quotes_are_the_redacted_ones(report: Report, tf: ModuleType) -> None:
    html, md = render_html(report), render_markdown(report)
    for text in ("The STP meets without [REDACTED] and decides.", "[REDACTED] said the CCG no longer leads."):
        assert text in html and text in md
    shown = {q.text for q in report.quotes}
    assert shown <= set(tf.quotes()["text"].to_list())
    assert all(q.text.count("[REDACTED]") == tf.quotes().filter(pl.col("text") == q.text)["redactions"][0]
               for q in report.quotes)


def test_text_is_escaped_in_html_and_cells_in_markdown(report: Report) -> None:
    html, md = render_html(report), render_markdown(report)
    assert "constrained by &lt;other&gt; bodies" in html and "<other>" not in html
    assert "quote A|Political context|1" not in md  # pipes in cells are escaped


def test_rendering_is_deterministic(report: Report, tf: ModuleType, config: StudyConfig) -> None:
    assert render_html(report) == render_html(report)
    toc = contents(report)
    model_for("report.contents").validate(toc)
    assert toc["section"].to_list()[0] == "phases"


def test_report_step_publishes_html_md_and_contents(tmp_path: Path, tf: ModuleType) -> None:
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(tf.study_config(PROPOSITIONS)), encoding="utf-8")
    ctx = RunContext(store_url=str(tmp_path / "store"), run_id="run-7", config_path=str(config))
    tables = _tables(tf)
    upstream = {
        name: ctx.write_table(name, tables[name], "survey_w1")
        for name in ("survey.w1.estimates", "survey.w2.estimates", "survey.w2.change", "survey.w1.coverage")
    }
    for name, frame in (("cases.codebook", tf.codebook()), ("cases.matrix", tf.matrix()), ("cases.quotes", tf.quotes())):
        upstream[name] = ctx.write_table(name, frame, "case_studies")
    upstream["survey.w1.proportions_influence"] = ctx.write_bytes(
        "survey.w1.proportions_influence", SVG, "svg", "image/svg+xml", "survey_w1")
    joint = triangulation_step(ctx, upstream)
    phases = [{"phase": p, "status": "completed", "run_id": "run-7", "summary": {}} for p in ("scoping", "survey_w1")]
    phases.append({"phase": "triangulation", "status": "skipped", "run_id": "run-7", "summary": {}})
    result = report_step(ctx, {**upstream, **joint.by_dataset()}, phases)
    out = result.by_dataset()
    assert set(out) == {"report.html", "report.md", "report.contents"}
    assert {o.phase for o in result.outputs} == {"triangulation"}
    assert out["report.html"].media_type.startswith("text/html")
    html = ctx.store().get(out["report.html"].key).decode("utf-8")
    md = ctx.store().get(out["report.md"].key).decode("utf-8")
    assert not EXTERNAL.search(html)
    assert "62.0% (55.0–69.0%)" in html and "62.0% (55.0–69.0%)" in md
    assert "data:image/svg+xml;base64," in html
    assert "| Triangulation | not stated | completed |" in md
    assert "propositions: 1" in md
    again = report_step(ctx, {**upstream, **joint.by_dataset()}, phases)
    assert again.by_dataset()["report.html"].sha256 == out["report.html"].sha256
