"""A wave's human summary: key figures for the manifest, markdown for the phase artifact."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import polars as pl

from schemas.study_config import StudyConfig

# The store keys named in the markdown are the catalog's: the runner writes a step's outputs and
# quarantined rows there for the run that executes the step (pure functions of the names).
from tasks.storage.catalog import dataset_key, quarantine_key
from tasks.survey.estimates import ALL

Summary = dict[str, float | int | str]


def _finite(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _pct(value: object) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "–"


def key_estimates(estimates: pl.DataFrame) -> pl.DataFrame:
    """Whole-sample shares of each variable's key codes."""
    return estimates.filter((pl.col("kind") == "key") & (pl.col("breakdown") == ALL))


def wave_summary(
    wave: str,
    rows_in: int,
    respondents: pl.DataFrame,
    removed: pl.DataFrame,
    coverage: pl.DataFrame,
    estimates: pl.DataFrame,
    change: pl.DataFrame | None,
    design_effect: float,
) -> Summary:
    """Key figures for the manifest: counts in and out, coverage, headline shares."""
    overall = coverage.filter(pl.col("breakdown") == ALL).row(0, named=True)
    summary: Summary = {
        "wave": wave,
        "rows_in": rows_in,
        "respondents": respondents.height,
        "removed": removed.height,
        "sites": overall["sites"],
        "sites_covered": overall["sites_covered"],
        "sites_covered_share": _finite(overall["sites_share"]) or 0.0,
        "roster": overall["roster"],
        "member_response_rate": _finite(overall["response_rate"]) or 0.0,
        "straightlined": int(respondents["straightlined"].sum()),
        "partial": int(respondents["partial"].sum()),
    }
    if not math.isnan(design_effect):
        summary["weight_design_effect"] = design_effect
    for row in key_estimates(estimates).iter_rows(named=True):
        if row["weighted_proportion"] is not None:
            summary[f"key_share.{row['variable']}"] = row["weighted_proportion"]
    if change is not None:
        summary["significant_changes"] = int(change["significant"].sum())
    return summary


def key_estimate_rows(estimates: pl.DataFrame) -> list[dict[str, float | int | str | None]]:
    """Rows of the phase's table artifact: the key shares, unweighted and weighted."""
    return [
        {
            "variable": r["variable"],
            "answer": r["label"],
            "n": r["n"],
            "share": r["proportion"],
            "weighted_share": r["weighted_proportion"],
            "weighted_lower": r["weighted_lower"],
            "weighted_upper": r["weighted_upper"],
        }
        for r in key_estimates(estimates).iter_rows(named=True)
    ]


def _overview(cfg: StudyConfig, wave: str, summary: Mapping[str, object]) -> list[str]:
    w = cfg.survey.waves[wave]
    return [
        f"## {w.label}" + ("" if str(w.year) in w.label else f" ({w.year})"),
        "",
        f"- Rows read: {summary['rows_in']}; kept: {summary['respondents']}; removed: {summary['removed']} "
        f"(rows in = kept + removed).",
        f"- Sites with at least one respondent: {summary['sites_covered']} of {summary['sites']} "
        f"({_pct(summary['sites_covered_share'])}); members responding: {summary['respondents']} of "
        f"{summary['roster']} ({_pct(summary['member_response_rate'])}).",
        f"- Partial responses kept: {summary['partial']}; straight-lining flagged: {summary['straightlined']}.",
    ]


def _cleaning(cleaning: pl.DataFrame, removed: pl.DataFrame) -> list[str]:
    lines = [
        "",
        "### Cleaning",
        "",
        "| step | in | removed | out | flagged |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s['step']} | {s['rows_in']} | {s['removed']} | {s['rows_out']} | {s['flagged']} |"
        for s in cleaning.iter_rows(named=True)
    ]
    reasons = removed.group_by("reason").len().sort("reason")
    if reasons.height:
        lines += [
            "",
            "Removed by reason: " + ", ".join(f"{r} {n}" for r, n in reasons.iter_rows()) + ".",
        ]
    return lines


def _coverage(coverage: pl.DataFrame) -> list[str]:
    groups = coverage.filter(pl.col("breakdown") != ALL)
    if not groups.height:
        return []
    lines = [
        "",
        "### Coverage",
        "",
        "| breakdown | group | sites covered | members responding |",
        "|---|---|---:|---:|",
    ]
    return lines + [
        f"| {r['breakdown']} | {r['group']} | {r['sites_covered']}/{r['sites']} "
        f"({_pct(r['sites_share'])}) | {r['respondents']}/{r['roster']} "
        f"({_pct(r['response_rate'])}) |"
        for r in groups.iter_rows(named=True)
    ]


def _estimates(estimates: pl.DataFrame) -> list[str]:
    keyed = key_estimates(estimates)
    if not keyed.height:
        return []
    lines = [
        "",
        "### Key estimates (95% CI)",
        "",
        "| variable | answer | weighted | CI (design-based) | unweighted | CI (Wilson) | n |",
        "|---|---|---:|---|---:|---|---:|",
    ]
    return lines + [
        f"| {r['variable']} | {r['label']} | {_pct(r['weighted_proportion'])} | "
        f"{_pct(r['weighted_lower'])}–{_pct(r['weighted_upper'])} | {_pct(r['proportion'])} | "
        f"{_pct(r['lower'])}–{_pct(r['upper'])} | {r['n']} |"
        for r in keyed.iter_rows(named=True)
    ]


def _change(change: pl.DataFrame, shown_at_most: int = 20) -> list[str]:
    sig = change.filter(pl.col("significant") & (pl.col("breakdown") == ALL))
    lines = [
        "",
        f"### Change since the previous wave: {sig.height} significant whole-sample change(s)",
    ]
    shown = sig.head(shown_at_most)
    lines += [
        f"- {r['variable']} / {r['label']}: {100 * r['weighted_difference']:+.1f} pp"
        for r in shown.iter_rows(named=True)
        if r["weighted_difference"] is not None
    ]
    if sig.height > shown.height:
        lines.append(f"- … and {sig.height - shown.height} more (see the change table)")
    return lines


def wave_markdown(
    cfg: StudyConfig,
    wave: str,
    summary: Mapping[str, object],
    cleaning: pl.DataFrame,
    removed: pl.DataFrame,
    coverage: pl.DataFrame,
    estimates: pl.DataFrame,
    change: pl.DataFrame | None,
) -> str:
    """A short human summary: cleaning, coverage, headline estimates, change."""
    lines = _overview(cfg, wave, summary) + _cleaning(cleaning, removed)
    lines += _coverage(coverage) + _estimates(estimates)
    if change is not None:
        lines += _change(change)
    return "\n".join(lines)


def quarantine_note(run_id: str, dataset: str, table: str, rows: int) -> str:
    """Where the rows of an input table left out were put (`dataset` names the quarantine file)."""
    return f"{rows} row(s) of the {table} table quarantined: `{quarantine_key(run_id, dataset)}`"


def figures_markdown(run_id: str, figures: Sequence[tuple[str, str]]) -> str:
    """The figures section: each figure's title and keys, from (dataset name, title) pairs."""
    if not figures:
        return ""
    lines = [
        f"- {title}: `{dataset_key(run_id, name, 'png')}` (SVG: `{dataset_key(run_id, name, 'svg')}`)"
        for name, title in figures
    ]
    return "### Figures\n\n" + "\n".join(lines)


def missing_change_note(previous_wave: str) -> str:
    """Why a later wave has no change table."""
    return f"no estimates of wave {previous_wave!r} upstream: the change table was not built"
