"""The report's per-proposition joint display: strands side by side, verdict, sensitivity, cases, review."""

from __future__ import annotations

import re

from markupsafe import escape

from tasks.report.content import Report
from tasks.report.joint import Point, joint_figure
from tasks.report.render import render_html, render_markdown

NOTE = 'Checked <b>twice</b>; "partial" at most,\nsee memo 3'


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end, page.index(start))]


def test_html_sets_the_survey_strand_beside_the_case_study_strand(report: Report) -> None:
    page = render_html(report)
    prop = _section(page, '<section class="proposition" id="p-p1_constrained">', '<h2 id="quotes">')
    joint = _section(prop, '<div class="joint">', "<p><strong>Verdict")
    survey, cases = joint.split('<div class="strand">')[1:3]
    assert "<h4>Survey: Which body has most influence?</h4>" in survey
    assert "<svg" in survey and "62.0% (55.0–69.0%)" in survey and "n = 200" in survey
    assert "<h4>Case studies</h4>" in cases and "3 of 4 cases (A, B, C)" in cases
    assert "<h5>Speaking for</h5>" in cases and "The STP meets without [REDACTED] and decides." in cases
    assert "<footer>CCG chair (GP), case A, interview</footer>" in cases
    # Readable attribution only: no internal quote keys such as A|Political context|1.
    assert not re.search(r"\b[A-D]\|[A-Z][a-z]+", page)
    assert "<p><strong>Verdict: agreement.</strong> Sensitivity: stable under case prevalence 1/3" in prop
    assert "Rule: qualitative: cases for 3 of 4" in prop


def test_case_rows_show_each_case_site_estimate_with_n_and_the_test(report: Report) -> None:
    page = render_html(report)
    cases = _section(page, "<h4>Cases: each case&#39;s evidence beside its own sites&#39; survey answers</h4>",
                     "</table>")
    rows = re.findall(r"<tr>(.*?)</tr>", cases, re.S)[1:]
    assert len(rows) == 4
    a = re.findall(r"<td[^>]*>(.*?)</td>", rows[0])
    assert a[:6] == ["A", "supporting", "5", "0", "s1", "w2: n = 12"]
    # 11 of 12 with its 95% Wilson interval (statsmodels: 0.6461–0.9851).
    assert a[6] == "91.7% (64.6–98.5%)"
    assert a[7] == "no" and "higher (chi_square, p = 0.000178)" in a[8]
    d = re.findall(r"<td[^>]*>(.*?)</td>", rows[3])
    assert d[5] == "w2: n = 0" and d[6] == "–" and d[8] == "no respondents at the case&#39;s sites: not tested"


def test_re_review_flag_and_the_note_as_written(report: Report) -> None:
    page, md = render_html(report), render_markdown(report)
    flag = "needs re-review: confirmed as partial agreement, now proposed agreement"
    assert f'<span class="badge flag">{flag}</span>' in page and f"**{flag}**" in md
    # HTML shows the note escaped (the same characters on screen), whitespace kept.
    assert f'<pre class="review-note">{escape(NOTE)}</pre>' in page
    # Markdown carries the note byte for byte in a fenced block.
    assert f"~~~text\n{NOTE}\n~~~" in md
    assert "| dropped_p | confirmed | agreement | – | proposition removed from study.yaml | kept |" in md


def test_convergence_summary_has_sensitivity_and_review_columns(report: Report) -> None:
    conv = report.convergence
    assert conv.columns == ["proposition", "qualitative", "quantitative", "convergence", "sensitivity", "review"]
    assert conv.rows[0][4].startswith("stable under case prevalence 1/3")
    assert conv.rows[0][5] == ("confirmed (needs re-review: confirmed as partial agreement, now proposed "
                               "agreement)")


def test_joint_figure_draws_national_and_case_rows_escaped() -> None:
    svg = joint_figure([Point("all sites, w1", 0.62, 0.55, 0.69), Point("A <1>", 0.9, 0.6, 0.98, case=True),
                        Point("D", None, None, None, case=True)], 0.5, "p1 & co")
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert svg.count("<circle") == 1 and svg.count("<rect") == 1  # D has no estimate: not drawn
    assert "A &lt;1&gt;" in svg and "<title>p1 &amp; co</title>" in svg
    assert 'stroke-dasharray="4 3"' in svg  # the 50% threshold
    # 0.62 on a 0–1 axis 290 px wide starting at 150 px.
    assert 'cx="329.8"' in svg
    assert joint_figure([Point("x", None, None, None)]) == ""


def test_a_side_without_exemplar_quotes_says_so(report: Report) -> None:
    from dataclasses import replace

    view = replace(report.propositions[0], supporting_quotes=[], contradicting="Heroic leadership")
    page = render_html(replace(report, propositions=[view]))
    md = render_markdown(replace(report, propositions=[view]))
    for text in ("No exemplar quote (cases.quotes) carries a supporting code.",
                 "No exemplar quote (cases.quotes) carries a contradicting code."):
        assert text in page and text in md
