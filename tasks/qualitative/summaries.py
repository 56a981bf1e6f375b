"""The qualitative phases' human summaries: markdown and key figures from the published tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl


def bullets(frame: pl.DataFrame, template: str, limit: int = 10) -> str:
    """The first rows of a frame, one line each (floats to 3 decimals, missing as n/a)."""
    def shown(value: object) -> object:
        return f"{value:.3f}" if isinstance(value, float) else ("n/a" if value is None else value)

    rows = frame.head(limit).iter_rows(named=True)
    return "\n".join(template.format(**{k: shown(v) for k, v in row.items()}) for row in rows)


def _note_lines(notes: Sequence[str]) -> list[str]:
    return [f"- note: {n}" for n in notes]


def scoping_markdown(
    *, n_sites: int, n_sources: int, n_segments: int, lead: str | None, ranking: pl.DataFrame, top: int,
    targets: str, notes: Sequence[str],
) -> str:
    """The scoping phase's markdown: counts, ranked areas, target areas and notes."""
    return "\n".join([
        "## Scoping",
        f"{n_sites} sites, {n_sources} sources, {n_segments} coded segments "
        f"(counts from each source's primary coder; lead coder {lead}).",
        "",
        "### Areas ranked by sites, then segments",
        bullets(ranking, "{rank}. {area}: {n_sites} sites, {n_segments} segments"),
        "",
        f"Target areas (top {top}): {targets or 'none'}.",
        *_note_lines(notes),
    ])


def double_coding_notes(double_coded: int, n_sources: int, share_min: float) -> list[str]:
    """A note when fewer sources than the study asks for are double-coded."""
    share = double_coded / n_sources if n_sources else 0.0
    if share < share_min:
        return [f"only {share:.1%} of sources are double-coded (minimum {share_min:.0%})"]
    return []


def _comparison_key(row: Mapping[str, object]) -> str:
    if row["coder_a"] is not None and row["coder_b"] is not None:
        return f"{row['coder_a']}_{row['coder_b']}"
    return "all_coders"


def interval_notes(reliability: pl.DataFrame) -> list[str]:
    """A note per comparison resting on fewer than two sources (no bootstrap interval)."""
    few = reliability.filter((pl.col("code_id") == "__pooled__") & (pl.col("n_sources") < 2)).unique(
        "coders", maintain_order=True)
    return [f"reliability of {r['coders']} rests on {r['n_sources']} shared source(s): no bootstrap interval"
            for r in few.iter_rows(named=True)]


def agreement_figures(pooled: pl.DataFrame) -> dict[str, float]:
    """Pooled kappa and alpha per unit and comparison, e.g. character_kappa_coder_a_coder_b."""
    figures: dict[str, float] = {}
    for row in pooled.iter_rows(named=True):
        for stat in ("kappa", "alpha"):
            if row[stat] is not None:
                figures[f"{row['unit']}_{stat}_{_comparison_key(row)}"] = round(float(row[stat]), 4)
    return figures


def interval(value: float | None, low: float | None, high: float | None) -> str:
    """A statistic with its bootstrap interval, 3 decimals ("0.878 (0.801 to 0.930)"); n/a when undefined."""
    if value is None:
        return "n/a"
    if low is None or high is None:
        return f"{value:.3f}"
    return f"{value:.3f} ({low:.3f} to {high:.3f})"


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


UNIT_NAMES = {"presence": "source presence", "segment": "segment overlap", "character": "character"}


def reliability_lines(pooled: pl.DataFrame) -> list[str]:
    """One line per comparison and unit: who is compared, on what unit, and the pooled statistics."""
    lines = []
    for r in pooled.iter_rows(named=True):
        lines.append(
            f"- {r['coders']}, {UNIT_NAMES.get(r['unit'], r['unit'])} ({r['n_sources']} sources, {r['n_units']} units): "
            f"agreement {'n/a' if r['agreement'] is None else format(r['agreement'], '.3f')}, "
            f"{_possessive(r['kappa_type'])} kappa {interval(r['kappa'], r['kappa_low'], r['kappa_high'])}, "
            f"Krippendorff's alpha {interval(r['alpha'], r['alpha_low'], r['alpha_high'])}"
        )
    return lines


def case_markdown(
    *, picked: Mapping[str, float | int | str], sets: pl.DataFrame, n_cases: int, n_sources: int, n_segments: int,
    lead: str | None, presence: pl.DataFrame, double_coded: int, pooled: pl.DataFrame, n_quotes: int,
    notes: Sequence[str],
) -> str:
    """The case-study phase's markdown: selection, counts, themes, reliability, quotes, notes."""
    return "\n".join([
        "## Case studies",
        f"Selected cases: {picked.get('selected_sites', '')} ({picked.get('selection_search', '')}).",
        bullets(sets, "- {set}: mean distance {mean_distance}, min {min_distance}, quotas met {quota_share}"),
        "",
        f"{n_cases} cases, {n_sources} sources, {n_segments} coded segments; "
        f"matrices use each source's primary coder (lead coder {lead}).",
        "",
        "### Themes by number of cases",
        bullets(presence, "- {theme}: {n_cases} of {n_cases_total} cases, {n_segments} segments"),
        "",
        f"### Inter-coder reliability ({double_coded} double-coded sources; all codes pooled, "
        "95% bootstrap intervals over sources, on the text as coded)",
        *reliability_lines(pooled),
        "",
        f"{n_quotes} redacted quotes; coded project written back as .qdpx.",
        *_note_lines(notes),
    ])
