"""Render a `Report` as self-contained HTML (inline CSS, figures as data: URIs) and Markdown."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from tasks.report.content import Report


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, line breaks flattened."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def one_line(value: object) -> str:
    """Text on one line (for Markdown block quotes)."""
    return " ".join(str(value).split())


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tasks.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_cell
    env.filters["oneline"] = one_line
    return env


def render_html(report: Report) -> str:
    """The report as one HTML page that needs nothing else to display."""
    return _environment().get_template("report.html.j2").render(r=report)


def render_markdown(report: Report) -> str:
    """The report as Markdown (figures listed by their store key, not embedded)."""
    return _environment().get_template("report.md.j2").render(r=report)
