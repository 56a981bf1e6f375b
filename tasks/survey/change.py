"""Change between waves: differences in proportions (later minus earlier) with intervals and tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from tasks.survey.estimates import ALL, z_value
from tasks.survey.inference import bh_q_values

CHANGE_COLUMNS = [
    "wave",
    "previous_wave",
    "variable",
    "type",
    "kind",
    "code",
    "label",
    "breakdown",
    "group",
    "n1",
    "proportion1",
    "n2",
    "proportion2",
    "difference",
    "lower",
    "upper",
    "statistic",
    "p_value",
    "weighted_proportion1",
    "weighted_proportion2",
    "weighted_difference",
    "weighted_lower",
    "weighted_upper",
    "weighted_p_value",
    "q_value",
    "significant",
]


def _two_sided(z: pl.Series) -> pl.Series:
    values = z.to_numpy().astype(np.float64)
    return pl.Series(2.0 * stats.norm.sf(np.abs(values))).fill_nan(None)


def change_table(
    earlier: pl.DataFrame,
    later: pl.DataFrame,
    *,
    wave: str,
    previous_wave: str,
    breakdowns: Sequence[str] = (ALL, "role"),
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Join two waves' estimates on variable, code and group; test each difference.

    Unweighted: Wald interval (unpooled SE) and pooled two-proportion z-test, as
    stats.two_proportion_test. Weighted: independent design-based estimates, SE = √(se1² + se2²),
    as weighted_difference in tests/reference_stats.py. A change is `significant` when the
    design-based p-value is below alpha (the unweighted one when no design-based SE exists);
    `q_value` is that p-value's Benjamini–Hochberg q-value over every change of the table.
    """
    z = z_value(confidence)
    keys = ["variable", "type", "kind", "code", "breakdown", "group"]
    cols = ["n", "count", "proportion", "weighted_proportion", "weighted_se"]
    a = earlier.filter(pl.col("breakdown").is_in(list(breakdowns))).select(*keys, *cols)
    b = (
        later.filter(pl.col("breakdown").is_in(list(breakdowns)))
        .select(*keys, "label", *cols)
        .with_row_index("_order")
    )
    joined = (
        a.join(b, on=keys, suffix="2")
        .rename(
            {
                "n": "n1",
                "count": "x1",
                "proportion": "proportion1",
                "weighted_proportion": "weighted_proportion1",
                "weighted_se": "se1",
                "count2": "x2",
                "weighted_se2": "se2",
            }
        )
        .filter((pl.col("n1") > 0) & (pl.col("n2") > 0))
    )
    n1, n2 = pl.col("n1").cast(pl.Float64), pl.col("n2").cast(pl.Float64)
    p1, p2 = pl.col("x1") / n1, pl.col("x2") / n2
    pooled = (pl.col("x1") + pl.col("x2")) / (n1 + n2)
    pooled_var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    se = (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2).sqrt()
    wse = (pl.col("se1") ** 2 + pl.col("se2") ** 2).sqrt()
    wdiff = pl.col("weighted_proportion2") - pl.col("weighted_proportion1")
    out = joined.with_columns(
        (p2 - p1).alias("difference"),
        (p2 - p1 - z * se).alias("lower"),
        (p2 - p1 + z * se).alias("upper"),
        pl.when(pooled_var > 0).then((p2 - p1) / pooled_var.sqrt()).alias("statistic"),
        wdiff.alias("weighted_difference"),
        (wdiff - z * wse).alias("weighted_lower"),
        (wdiff + z * wse).alias("weighted_upper"),
        pl.when(wse > 0).then(wdiff / wse).alias("_wz"),
    )
    out = out.with_columns(
        _two_sided(out["statistic"]).alias("p_value"),
        _two_sided(out["_wz"]).alias("weighted_p_value"),
    )
    tested = pl.coalesce(pl.col("weighted_p_value"), pl.col("p_value"))
    # Benjamini–Hochberg over every change of the table (the family), on the p-value that
    # decides `significant`; `significant` itself stays the per-test p < alpha.
    q = bh_q_values(out.select(tested.cast(pl.Float64).fill_null(float("nan"))).to_series().to_numpy())
    out = out.with_columns(
        pl.Series("q_value", q, dtype=pl.Float64).fill_nan(None),
        tested
        .lt(alpha)
        .fill_null(False)
        .alias("significant"),
        pl.lit(wave).alias("wave"),
        pl.lit(previous_wave).alias("previous_wave"),
    )
    # The later wave's estimate order (variable, kind, code, breakdown, group) is kept.
    return out.sort("_order").select(CHANGE_COLUMNS)
