"""Rendering: self-contained HTML, Markdown listing figures by key, escaping, determinism."""

from __future__ import annotations

import re

from tasks.report.content import Report
from tasks.report.render import md_cell, one_line, render_html, render_markdown


def test_html_is_self_contained(report: Report, external: re.Pattern[str]) -> None:
    html = render_html(report)
    assert not external.search(html)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html
    assert html.count('<img src="data:image/svg+xml;base64,') == 1
    assert html.count('<img src="data:image/png;base64,') == 1
    assert "PK" not in html.split("<h2 id=\"figures\">")[1].split("</footer>")[0].split("Provenance")[0]


def test_markdown_lists_figures_by_key(report: Report) -> None:
    md = render_markdown(report)
    assert "- survey.w1.proportions_influence: `runs/r1/survey/w1/p.svg`" in md
    assert "data:image" not in md


def test_text_is_escaped_in_html_and_cells_in_markdown(report: Report) -> None:
    html, md = render_html(report), render_markdown(report)
    assert "constrained by &lt;other&gt; bodies" in html and "<other>" not in html
    assert "quote A|Political context|1" not in md  # pipes in cells are escaped
    assert md_cell("a|b\nc") == "a\\|b c"
    assert one_line(" two\n  lines ") == "two lines"


def test_rendering_is_deterministic(report: Report) -> None:
    assert render_html(report) == render_html(report)
    assert render_markdown(report) == render_markdown(report)
