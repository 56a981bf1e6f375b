"""Weights: raking respondents to roster margins, trimming, and the margins check table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from schemas.study_config import WeightingConfig
from tasks.survey.inference import weight_diagnostics
from tasks.survey.population import MISSING_GROUP
from tasks.survey.stats import kish_design_effect, rake_weights

MARGINS_SCHEMA: dict[str, pl.DataType] = {
    "margin": pl.String(),
    "category": pl.String(),
    "population": pl.Float64(),
    "population_share": pl.Float64(),
    "respondents": pl.Int64(),
    "sample_share": pl.Float64(),
    "weighted_total": pl.Float64(),
    "weighted_share": pl.Float64(),
}


@dataclass(frozen=True, eq=False)
class Weights:
    """One weight per respondent (aligned with the input) and how the raking went."""

    weights: pl.Series
    margins: pl.DataFrame
    design_effect: float
    converged: bool
    iterations: int
    trim_rounds: int
    within_trim_bounds: bool
    population: float
    roster_left_out: int
    notes: tuple[str, ...] = field(default=())


def _categories(frame: pl.DataFrame, margins: Sequence[str]) -> pl.DataFrame:
    return frame.select(
        [pl.col(m).cast(pl.String).fill_null(MISSING_GROUP).alias(m) for m in margins]
    )


def _uniform(n: int, population: int, notes: tuple[str, ...]) -> Weights:
    """Equal weights summing to the roster size (or 1 each without a roster)."""
    w = np.full(n, population / n) if population and n else np.ones(n)
    return Weights(
        weights=pl.Series("weight", w, dtype=pl.Float64),
        margins=pl.DataFrame(schema=MARGINS_SCHEMA),
        design_effect=kish_design_effect(w),
        converged=True,
        iterations=0,
        trim_rounds=0,
        within_trim_bounds=True,
        population=float(population),
        roster_left_out=0,
        notes=notes,
    )


def rake_to_roster(
    respondents: pl.DataFrame, roster: pl.DataFrame, weighting: WeightingConfig
) -> Weights:
    """Rake respondents to the roster's counts on each margin column (present in both frames).

    Roster members in a category no respondent falls in cannot be represented by anyone, so
    they are left out of the targets (and counted); the margins then still share one total.
    """
    margins = list(dict.fromkeys(weighting.margins))
    unknown = [m for m in margins if m not in respondents.columns or m not in roster.columns]
    if unknown:
        raise ValueError(
            f"weighting.margins {unknown} are neither 'role', 'role_group' nor a site attribute"
        )
    n = respondents.height
    if n == 0 or not margins:
        # No margins (or nobody to weight): each respondent stands for an equal share.
        return _uniform(n, roster.height, ())
    sample = _categories(respondents, margins)
    population = _categories(roster, margins)
    present = pl.all_horizontal([pl.col(m).is_in(sample[m].unique().implode()) for m in margins])
    targets_frame = population.filter(present)
    left_out = population.height - targets_frame.height
    notes: list[str] = []
    if left_out:
        notes.append(
            f"weights: {left_out} roster member(s) in margin categories without any respondent "
            "were left out of the raking targets"
        )
    if targets_frame.height == 0:
        raise ValueError("weights: no roster member shares a margin category with any respondent")
    totals = {m: dict(targets_frame.group_by(m).len().sort(m).iter_rows()) for m in margins}
    trim = (weighting.trim.lower, weighting.trim.upper) if weighting.trim else None
    try:
        result = rake_weights(sample, totals, max_iter=weighting.max_iter, trim=trim)
    except ValueError as exc:
        # E.g. respondents in a category the roster does not list: no target to rake them to.
        return _uniform(
            n, roster.height, (*notes, f"weights: raking impossible ({exc}); equal weights used")
        )
    if not result.converged:
        notes.append(
            f"weights: raking did not converge in {result.iterations} sweeps "
            f"(largest relative margin error {result.max_relative_error:.2g})"
        )
    if not result.within_trim_bounds:
        notes.append("weights: the trimming bounds cannot be met together with the margins")
    weights = pl.Series("weight", np.asarray(result.weights, dtype=np.float64))
    pop_total = float(targets_frame.height)
    table = margins_table(sample.with_columns(weights), targets_frame, margins)
    return Weights(
        weights=weights,
        margins=table,
        design_effect=result.design_effect,
        converged=result.converged,
        iterations=result.iterations,
        trim_rounds=result.trim_rounds,
        within_trim_bounds=result.within_trim_bounds,
        population=pop_total,
        roster_left_out=left_out,
        notes=tuple(notes),
    )


def margins_table(
    sample: pl.DataFrame, population: pl.DataFrame, margins: Sequence[str]
) -> pl.DataFrame:
    """Per margin and category: population and respondents, raw and weighted shares."""
    parts = []
    total_w = sample["weight"].sum()
    for m in margins:
        pop = population.group_by(m).len("population")
        # maintain_order: the weight sums then add up in row order, the same bits every run (a
        # parallel group-by sums a large sample's partitions in whatever order they finish).
        got = sample.group_by(m, maintain_order=True).agg(
            pl.len().alias("respondents"), pl.col("weight").sum().alias("weighted_total")
        )
        parts.append(
            pop.join(got, on=m, how="full", coalesce=True).select(
                pl.lit(m).alias("margin"),
                pl.col(m).alias("category"),
                pl.col("population").fill_null(0).cast(pl.Float64),
                pl.col("respondents").fill_null(0).cast(pl.Int64),
                pl.col("weighted_total").fill_null(0.0),
            )
        )
    table = pl.concat(parts).with_columns(
        (pl.col("population") / pl.col("population").sum().over("margin")).alias(
            "population_share"
        ),
        (pl.col("respondents") / pl.col("respondents").sum().over("margin")).alias("sample_share"),
        (pl.col("weighted_total") / total_w).alias("weighted_share"),
    )
    order = {m: i for i, m in enumerate(margins)}
    return (
        table.with_columns(
            pl.col("margin").replace_strict(order, return_dtype=pl.Int64).alias("_m")
        )
        .sort("_m", "category")
        .select(list(MARGINS_SCHEMA))
    )


def weight_summary(weights: npt.ArrayLike, wave: str) -> pl.DataFrame:
    """One row: the weights' range, max/min ratio, mean, CV, Kish design effect and effective n."""
    d = weight_diagnostics(weights)
    return pl.DataFrame(
        {
            "wave": [wave],
            "respondents": [d.n],
            "total": [d.total],
            "minimum": [d.minimum],
            "maximum": [d.maximum],
            "ratio": [d.ratio],
            "mean": [d.mean],
            "cv": [d.cv],
            "design_effect": [d.design_effect],
            "effective_n": [d.effective_n],
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
