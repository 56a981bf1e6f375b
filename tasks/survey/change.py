"""Change between waves: differences in proportions (later minus earlier) with intervals and tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from scipy import stats

from schemas.study_config import Variable
from tasks.survey.estimates import ALL, key_code_table, z_value
from tasks.survey.inference import bh_q_values
from tasks.survey.instrument import CATEGORICAL

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
    "panel_n",
    "panel_difference",
    "panel_statistic",
    "panel_p_value",
    "overlap_se",
    "overlap_p_value",
]
PANEL_COLUMNS = CHANGE_COLUMNS[CHANGE_COLUMNS.index("panel_n") :]


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
    panel: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Join two waves' estimates on variable, code and group; test each difference.

    Unweighted: Wald interval (unpooled SE) and pooled two-proportion z-test, as
    stats.two_proportion_test. Weighted: independent design-based estimates, SE = √(se1² + se2²),
    as weighted_difference in tests/reference_stats.py. A change is `significant` when the
    design-based p-value is below alpha (the unweighted one when no design-based SE exists);
    `q_value` is that p-value's Benjamini–Hochberg q-value over every change of the table.
    With ``panel`` (from `panel_counts`), the whole-sample rows also carry the panel columns
    (`with_panel`); otherwise those are null.
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
    return with_panel(out.sort("_order"), panel).select(CHANGE_COLUMNS)


def _chosen_members(
    answers: pl.DataFrame, respondents: pl.DataFrame, variables: Mapping[str, Variable]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Members answering each item, and (variable, kind, code, member) for every choice made."""
    given = answers.filter(pl.col("type").is_in(list(CATEGORICAL)) & ~pl.col("missing")).join(
        respondents.select("respondent_id", "member_id").filter(pl.col("member_id").is_not_null()),
        on="respondent_id",
    )
    units = given.select("variable", "member_id").unique()
    codes = given.select("variable", pl.lit("code").alias("kind"), "code", "member_id").unique()
    keys = key_code_table(variables).select(
        "variable", pl.col("member").alias("code"), pl.col("code").alias("key")
    )
    key_rows = (
        given.join(keys, on=["variable", "code"])
        .select("variable", pl.lit("key").alias("kind"), pl.col("key").alias("code"), "member_id")
        .unique()
    )
    return units, pl.concat([codes, key_rows])


def panel_counts(
    earlier_answers: pl.DataFrame,
    earlier_respondents: pl.DataFrame,
    later_answers: pl.DataFrame,
    later_respondents: pl.DataFrame,
    variables: Mapping[str, Variable],
) -> pl.DataFrame:
    """Per (variable, kind, code): members answering in both waves (m), matched by pseudonym,
    and how many chose the code in both (both), the first only (first) and the second only
    (second). A member submitting twice in one wave counts once."""
    units1, chosen1 = _chosen_members(earlier_answers, earlier_respondents, variables)
    units2, chosen2 = _chosen_members(later_answers, later_respondents, variables)
    overlap = units1.join(units2, on=["variable", "member_id"])
    m = overlap.group_by("variable").agg(pl.len().alias("m"))
    keys = ["variable", "kind", "code"]
    in1 = chosen1.join(overlap, on=["variable", "member_id"]).with_columns(pl.lit(1).alias("y1"))
    in2 = chosen2.join(overlap, on=["variable", "member_id"]).with_columns(pl.lit(1).alias("y2"))
    pairs = in1.join(in2, on=[*keys, "member_id"], how="full", coalesce=True)
    return (
        pairs.group_by(keys)
        .agg(
            (pl.col("y1").is_not_null() & pl.col("y2").is_not_null()).sum().alias("both"),
            (pl.col("y1").is_not_null() & pl.col("y2").is_null()).sum().alias("first"),
            (pl.col("y1").is_null() & pl.col("y2").is_not_null()).sum().alias("second"),
        )
        .join(m, on="variable")
        .with_columns(pl.col("both", "first", "second", "m").cast(pl.Int64))
    )


def with_panel(change: pl.DataFrame, panel: pl.DataFrame | None) -> pl.DataFrame:
    """The panel columns of the whole-sample rows (null elsewhere, and without a panel).

    panel_difference = (second − first)/m is the change among members answering both waves;
    panel_statistic and panel_p_value are McNemar's test of it, (first − second)²/(first +
    second) on 1 df. overlap_se is the SE of the unweighted difference p2 − p1 of the two
    cross-sections counting the overlap's covariance (partially overlapping samples):
    p1(1−p1)/n1 + p2(1−p2)/n2 − 2·m·s12/(n1·n2), s12 the overlap's covariance of the two
    answers (denominator m); overlap_p_value is its two-sided normal p-value.
    """
    if panel is None or panel.is_empty():
        return change.with_columns(
            pl.lit(0, dtype=pl.Int64).alias("panel_n"),
            *[pl.lit(None, dtype=pl.Float64).alias(c) for c in PANEL_COLUMNS[1:]],
        )
    keys = ["variable", "kind", "code"]
    whole = (pl.col("breakdown") == ALL) & (pl.col("group") == ALL)
    joined = change.join(
        panel.with_columns(pl.lit(ALL).alias("breakdown"), pl.lit(ALL).alias("group")),
        on=[*keys, "breakdown", "group"],
        how="left",
        maintain_order="left",
    )
    m = pl.col("m").cast(pl.Float64)
    b, c = pl.col("first").cast(pl.Float64), pl.col("second").cast(pl.Float64)
    mcnemar = (b - c) ** 2 / (b + c)
    n1, n2 = pl.col("n1").cast(pl.Float64), pl.col("n2").cast(pl.Float64)
    p1, p2 = pl.col("proportion1"), pl.col("proportion2")
    q1 = (pl.col("both") + pl.col("first")) / m
    q2 = (pl.col("both") + pl.col("second")) / m
    s12 = pl.col("both") / m - q1 * q2
    var = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2 - 2 * m * s12 / (n1 * n2)
    has = whole & (pl.col("m").fill_null(0) > 0)
    out = joined.with_columns(
        pl.when(has).then(pl.col("m")).otherwise(0).cast(pl.Int64).alias("panel_n"),
        pl.when(has).then((c - b) / m).alias("panel_difference"),
        pl.when(has & (b + c > 0)).then(mcnemar).alias("panel_statistic"),
        pl.when(has & (var > 0)).then(var.sqrt()).alias("overlap_se"),
    )
    statistic = out["panel_statistic"].to_numpy().astype(np.float64)
    z = (out["difference"] / out["overlap_se"]).to_numpy().astype(np.float64)
    return out.with_columns(
        pl.Series("panel_p_value", stats.chi2.sf(statistic, 1)).fill_nan(None),
        pl.Series("overlap_p_value", 2.0 * stats.norm.sf(np.abs(z))).fill_nan(None),
    )
