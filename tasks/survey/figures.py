"""Survey figures: each drawn from a slice of a published table, as deterministic PNG and SVG bytes.

matplotlib is imported when the first figure is drawn, not when the survey steps are imported:
it costs about half a second that every run's start-up would otherwise pay.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from schemas.study_config import StudyConfig
from tasks.survey.coverage import COVERAGE_COLUMNS
from tasks.survey.estimates import ALL, breakdown_list
from tasks.survey.freetext import UNCODED

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# No timestamps or version strings in the files: the same data gives byte-identical figures.
_PNG_META = {"Software": None}
_SVG_META = {"Date": None, "Creator": None}
DPI = 100
# fmt: off
_COLORS = ("#1b6ca8", "#e07b39", "#3a9a5b", "#b33c3c", "#7d5ba6", "#8c6d31", "#d16ba5", "#6b6b6b",
           "#17becf", "#bcbd22")
# fmt: on


def _style() -> AbstractContextManager[None]:
    """Fixed font and SVG id salt for every figure (SVG ids are otherwise random)."""
    import matplotlib

    return matplotlib.rc_context(
        {"svg.hashsalt": "studyflow-survey", "font.family": "DejaVu Sans", "font.size": 9}
    )


@dataclass(frozen=True, eq=False)
class SurveyFigure:
    """A figure's name (dataset suffix), its data slice and its PNG and SVG renderings."""

    name: str
    title: str
    data: pl.DataFrame
    png: bytes
    svg: bytes


def _wrap(text: str, width: int = 38) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _render(fig: Figure) -> tuple[bytes, bytes]:
    """PNG and SVG of the figure cropped to its tight box, laid out once.

    `savefig(bbox_inches="tight")` lays the figure out again for each format before drawing it.
    Here one layout pass (no rasterising) gives the tight box that savefig would compute, and each
    format is drawn once into that box: the same PNG pixels, one layout pass fewer per figure.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with _style():
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw_without_rendering()
        box = fig.get_tightbbox(renderer).padded(matplotlib.rcParams["savefig.pad_inches"])
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=fig.dpi, metadata=_PNG_META, bbox_inches=box)
        fig.savefig(svg, format="svg", dpi=fig.dpi, metadata=_SVG_META, bbox_inches=box)
    return png.getvalue(), svg.getvalue()


def _bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[
        tuple[str, Sequence[float | None], Sequence[float | None], Sequence[float | None]]
    ],
    xlabel: str,
    *,
    symmetric: bool = False,
) -> tuple[bytes, bytes]:
    """Horizontal grouped bars (one group per category, one bar per series) with interval whiskers."""
    from matplotlib.figure import Figure

    with _style():
        k = max(len(series), 1)
        height = max(2.5, 0.28 * len(categories) * k + 1.5)
        fig = Figure(figsize=(8.0, min(height, 30.0)), dpi=DPI)
        ax = fig.add_subplot()
        y = np.arange(len(categories), dtype=float)
        bar = 0.8 / k
        for i, (name, values, lower, upper) in enumerate(series):
            v = np.array([np.nan if x is None else x for x in values], dtype=float)
            lo = np.array([np.nan if x is None else x for x in lower], dtype=float)
            hi = np.array([np.nan if x is None else x for x in upper], dtype=float)
            err = np.vstack([np.where(np.isnan(lo), 0, v - lo), np.where(np.isnan(hi), 0, hi - v)])
            pos = y - 0.4 + bar * (i + 0.5)
            ax.barh(
                pos,
                np.nan_to_num(v),
                height=bar * 0.9,
                color=_COLORS[i % len(_COLORS)],
                label=name,
                xerr=np.nan_to_num(np.clip(err, 0, None)),
                capsize=2,
                error_kw={"elinewidth": 0.8},
            )
        ax.set_yticks(y, [_wrap(c) for c in categories])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(_wrap(title, 70))
        if symmetric:
            ax.axvline(0.0, color="black", linewidth=0.8)
        else:
            ax.set_xlim(0.0, 1.0)
        if len(series) > 1:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(axis="x", linewidth=0.3)
        return _render(fig)


def proportions_data(estimates: pl.DataFrame, variable: str) -> pl.DataFrame:
    """The whole-sample proportions of each code of one variable."""
    return estimates.filter(
        (pl.col("variable") == variable) & (pl.col("kind") == "code") & (pl.col("breakdown") == ALL)
    ).select(
        "wave",
        "variable",
        "code",
        "label",
        "n",
        "proportion",
        "lower",
        "upper",
        "weighted_proportion",
        "weighted_lower",
        "weighted_upper",
    )


def proportions_figure(
    estimates: pl.DataFrame, variable: str, question: str, wave_label: str
) -> SurveyFigure:
    """Weighted share choosing each code, with design-based 95% intervals."""
    data = proportions_data(estimates, variable)
    n = int(data["n"].fill_null(0).max() or 0) if data.height else 0  # type: ignore[arg-type]
    title = f"{question} ({wave_label}, n = {n})"
    png, svg = _bars(
        title,
        data["label"].to_list(),
        [
            (
                "weighted",
                data["weighted_proportion"].to_list(),
                data["weighted_lower"].to_list(),
                data["weighted_upper"].to_list(),
            )
        ],
        "share of respondents (weighted, 95% CI)",
    )
    return SurveyFigure(f"fig_{variable}", title, data, png, svg)


def freetext_data(
    frequencies: pl.DataFrame, dictionary: str, breakdown: str = "role"
) -> pl.DataFrame:
    """Category shares (uncoded left out) per group of one breakdown."""
    return frequencies.filter(
        (pl.col("dictionary") == dictionary)
        & (pl.col("breakdown") == breakdown)
        & (pl.col("category") != UNCODED)
    ).select(
        "wave",
        "dictionary",
        "category",
        "label",
        "group",
        "answers",
        "count",
        "share",
        "lower",
        "upper",
    )


def _heatmap(
    title: str, rows: Sequence[str], columns: Sequence[str], values: np.ndarray, note: str
) -> tuple[bytes, bytes]:
    """Shares as an annotated heatmap (rows × columns): compact where grouped bars would not be."""
    from matplotlib.figure import Figure

    with _style():
        fig = Figure(
            figsize=(max(5.0, 1.0 * len(columns) + 3.5), max(2.5, 0.42 * len(rows) + 2.0)), dpi=DPI
        )
        ax = fig.add_subplot()
        if values.size == 0:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no answers", ha="center", va="center")
            ax.set_title(_wrap(title, 70))
            return _render(fig)
        image = ax.imshow(np.nan_to_num(values), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            text = "–" if np.isnan(v) else f"{100 * v:.0f}%"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > 0.6 else "black",
            )
        ax.set_xticks(np.arange(len(columns)), [_wrap(c, 16) for c in columns], fontsize=7)
        ax.set_yticks(np.arange(len(rows)), [_wrap(r) for r in rows])
        ax.set_title(_wrap(title, 70))
        ax.set_xlabel(note, fontsize=7)
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
        return _render(fig)


def freetext_figure(
    frequencies: pl.DataFrame,
    dictionary: str,
    question: str,
    wave_label: str,
    group_labels: dict[str, str],
) -> SurveyFigure:
    """Share of each role's answers falling in each category (multi-label, so rows need not add up)."""
    data = freetext_data(frequencies, dictionary)
    categories = data["label"].unique(maintain_order=True).to_list()
    groups = data["group"].unique(maintain_order=True).to_list()
    cell = {(r["label"], r["group"]): r["share"] for r in data.iter_rows(named=True)}
    values = np.array(
        [
            [np.nan if cell.get((c, g)) is None else cell[(c, g)] for g in groups]
            for c in categories
        ],
        dtype=float,
    ).reshape(len(categories), len(groups))
    answers = dict(zip(data["group"].to_list(), data["answers"].to_list(), strict=True))
    columns = [f"{group_labels.get(str(g), str(g))} (n={answers[g]})" for g in groups]
    title = f"{question}: categories by respondent role ({wave_label})"
    png, svg = _heatmap(
        title, categories, columns, values, "share of answers; intervals in the table"
    )
    return SurveyFigure(f"fig_freetext_{dictionary}", title, data, png, svg)


def coverage_data(coverage: pl.DataFrame, breakdown: str) -> pl.DataFrame:
    """Coverage rows of one breakdown."""
    return coverage.filter(pl.col("breakdown") == breakdown).select(COVERAGE_COLUMNS)


def coverage_figure(coverage: pl.DataFrame, breakdown: str, wave_label: str) -> SurveyFigure:
    """Share of sites with a respondent and of members responding, per group of a breakdown."""
    data = coverage_data(coverage, breakdown)
    groups = data["group"].to_list()
    none = [None] * len(groups)
    title = f"Coverage by {breakdown} ({wave_label})"
    png, svg = _bars(
        title,
        groups,
        [
            ("sites with a respondent", data["sites_share"].to_list(), none, none),
            ("members responding", data["response_rate"].to_list(), none, none),
        ],
        "share",
    )
    return SurveyFigure("fig_coverage", title, data, png, svg)


def change_data(change: pl.DataFrame) -> pl.DataFrame:
    """Whole-sample changes: of the key-code shares when variables declare key codes, else per code."""
    overall = change.filter(pl.col("breakdown") == ALL)
    keyed = overall.filter(pl.col("kind") == "key")
    picked = keyed if keyed.height else overall
    return picked.select(
        "wave",
        "previous_wave",
        "variable",
        "kind",
        "code",
        "label",
        "weighted_difference",
        "weighted_lower",
        "weighted_upper",
        "significant",
    )


def change_figure(change: pl.DataFrame, wave_label: str, previous_label: str) -> SurveyFigure:
    """Weighted change in proportions with 95% intervals, one bar per variable (and code)."""
    data = change_data(change)
    labels = [
        f"{v}: {lab}"
        for v, lab in zip(data["variable"].to_list(), data["label"].to_list(), strict=True)
    ]
    title = f"Change from {previous_label} to {wave_label} (weighted, 95% CI)"
    png, svg = _bars(
        title,
        labels,
        [
            (
                "change",
                data["weighted_difference"].to_list(),
                data["weighted_lower"].to_list(),
                data["weighted_upper"].to_list(),
            )
        ],
        "difference in share (later minus earlier)",
        symmetric=True,
    )
    return SurveyFigure("fig_change", title, data, png, svg)


def coverage_breakdown(cfg: StudyConfig, wave: str) -> str:
    """The breakdown coverage is drawn by: the first one that is a site attribute, else role."""
    attributes = {*cfg.sites.attributes, *cfg.survey.waves[wave].site_attributes}
    site_breakdowns = [b for b in breakdown_list(cfg.survey.breakdowns) if b in attributes]
    return (site_breakdowns or ["role"])[0]


def wave_figures(
    cfg: StudyConfig,
    wave: str,
    estimates: pl.DataFrame,
    coverage: pl.DataFrame,
    freetext: pl.DataFrame | None,
    change: pl.DataFrame | None,
) -> list[SurveyFigure]:
    """Key-code variables' proportions, free text by role, coverage, and change (later waves)."""
    survey = cfg.survey
    label = survey.waves[wave].label
    figures = [
        proportions_figure(estimates, k, v.question, label)
        for k, v in survey.variables.items()
        if wave in v.waves and v.type == "single_choice" and v.key_codes
    ]
    if freetext is not None:
        role_labels = {k: r.label for k, r in cfg.roles.items()}
        drawn = set(freetext["variable"].to_list())
        figures.extend(
            freetext_figure(freetext, fkey, survey.variables[d.variable].question, label, role_labels)
            for fkey, d in survey.freetext.items()
            if d.variable in drawn
        )
    figures.append(coverage_figure(coverage, coverage_breakdown(cfg, wave), label))
    if change is not None:
        previous = change["previous_wave"][0] if change.height else None
        prev_label = survey.waves[previous].label if previous in survey.waves else "previous wave"
        figures.append(change_figure(change, label, prev_label))
    return figures
