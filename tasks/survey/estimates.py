"""Estimates per variable, code and breakdown group: unweighted (Wilson) and design-based weighted.

Every statistic is computed from sums per (site, role) cell, so the work grows with the number of
cells, not of respondents: a breakdown group is a set of cells, a site is the cluster (PSU).
The weighted formulas are those of the scalar references weighted_proportion and likert_mean in
tests/reference_stats.py (Taylor linearisation, clusters sampled with replacement), written as
polars aggregations instead of one call per estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl
from scipy import stats

from schemas.study_config import Variable
from tasks.survey.instrument import CATEGORICAL, code_table
from tasks.survey.population import MISSING_GROUP

ALL = "all"
BASE_BREAKDOWNS = ("role",)


def z_value(confidence: float) -> float:
    """Two-sided normal critical value."""
    return float(stats.norm.isf((1.0 - confidence) / 2.0))


def breakdown_list(breakdowns: Sequence[str]) -> list[str]:
    """Configured breakdowns with the respondent role always among them, without repeats."""
    return list(dict.fromkeys([*BASE_BREAKDOWNS, *breakdowns]))


def group_mapping(
    respondents: pl.DataFrame, sites: pl.DataFrame, breakdowns: Sequence[str]
) -> pl.DataFrame:
    """(site_id, role) cell -> (breakdown, group) for "all" and each breakdown."""
    cells = (
        respondents.select("site_id", "role", "role_group")
        .unique(maintain_order=True)
        .join(sites, on="site_id", how="left", maintain_order="left")
    )
    unknown = [b for b in breakdowns if b not in cells.columns or b == "site_id"]
    if unknown:
        raise ValueError(
            f"survey.breakdowns {unknown} are neither 'role', 'role_group' nor a site attribute"
        )
    parts = [
        cells.select("site_id", "role", pl.lit(ALL).alias("breakdown"), pl.lit(ALL).alias("group"))
    ]
    parts.extend(
        cells.select(
            "site_id",
            "role",
            pl.lit(b).alias("breakdown"),
            pl.col(b).cast(pl.String).fill_null(MISSING_GROUP).alias("group"),
        )
        for b in breakdowns
    )
    return pl.concat(parts)


def design_factors(
    g: pl.Expr, confidence: float, t_intervals: bool, population_sites: int | None,
    sites: pl.Series,
) -> tuple[pl.Expr, pl.Expr]:
    """Critical value and variance factor per row from its variable's G sites answering.

    The critical value is the normal one, or with ``t_intervals`` Student's t on G - 1 degrees
    of freedom; the factor is G/(G - 1), times 1 - G/N with a finite-population correction
    over the N sites of the site list.
    """
    crit: pl.Expr = pl.lit(z_value(confidence))
    if t_intervals:
        values = sorted({int(v) for v in sites.drop_nulls().to_list() if v > 1})
        table = {v: float(stats.t.isf((1.0 - confidence) / 2.0, v - 1)) for v in values}
        crit = g.cast(pl.Int64).replace_strict(table, default=None, return_dtype=pl.Float64)
    gf = g.cast(pl.Float64)
    factor = gf / (gf - 1)
    if population_sites:
        factor = factor * (1.0 - gf / population_sites).clip(0.0)
    return crit, factor


def wilson_exprs(count: pl.Expr, n: pl.Expr, z: float) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval bounds, clipped to [0, 1]; null when n is 0."""
    p = count / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom
    ok = n > 0
    lower = pl.when(ok).then((centre - half).clip(0.0, 1.0))
    upper = pl.when(ok).then((centre + half).clip(0.0, 1.0))
    return lower, upper


def ordered_dictionary(*values: pl.Series) -> pl.Series:
    """The distinct non-null texts of some columns, sorted: a text's position is its key code."""
    return pl.concat([v.cast(pl.String).rename("text") for v in values]).drop_nulls().unique().sort()


def encode_keys(frame: pl.DataFrame, dictionaries: Mapping[str, pl.Series]) -> pl.DataFrame:
    """Key columns (those of `dictionaries` the frame has) replaced by their UInt32 key codes.

    Codes keep the texts' sort order, so sorting, grouping and joining on codes puts rows in the
    same order as on the texts (and every sum over them adds the same terms in the same order),
    at a fraction of the cost. A text missing from its dictionary becomes null.
    """
    return frame.with_columns(
        pl.col(c).replace_strict(d, pl.int_range(d.len(), dtype=pl.UInt32, eager=True), default=None)
        for c, d in dictionaries.items()
        if c in frame.columns
    )


def decode_keys(frame: pl.DataFrame, dictionaries: Mapping[str, pl.Series]) -> pl.DataFrame:
    """Key codes (from `encode_keys`) back to their texts."""
    return frame.with_columns(
        pl.col(c).replace_strict(
            pl.int_range(d.len(), dtype=pl.UInt32, eager=True), d, default=None,
            return_dtype=pl.String,
        )
        for c, d in dictionaries.items()
        if c in frame.columns
    )


def site_level_breakdowns(mapping: pl.DataFrame) -> pl.Series:
    """Breakdowns of a (site_id, role) -> (breakdown, group) mapping that put each site in one group.

    The whole sample and every site attribute are such breakdowns; role and role group are not
    (as soon as some site has members of two groups).
    """
    counts = mapping.group_by("breakdown").agg(
        pl.struct("site_id", "group").n_unique().alias("pairs"),
        pl.col("site_id").n_unique().alias("sites"),
    )
    return counts.filter(pl.col("pairs") == pl.col("sites"))["breakdown"]


def site_rollup(
    rows: pl.DataFrame, by: Sequence[str], mapping: pl.DataFrame, aggs: Sequence[pl.Expr]
) -> pl.DataFrame:
    """`aggs` of `rows` (with site_id and role) per `by`, breakdown group and site.

    The same as joining each row to the breakdown groups of its (site, role) cell and aggregating
    per (by, breakdown, group, site) in row order, with the same terms added in the same order
    (so the same bits), without repeating every row once per breakdown: a breakdown that puts
    each site in one group (the whole sample, site attributes) takes each site's aggregates once;
    only the others (role, role group) are joined row by row. Within each (by, breakdown, group),
    sites come in the join's order (that of their first row in the group). Every (site_id, role) of `rows` must be a cell
    of `mapping` (both come from the same respondents).
    """
    site_level = site_level_breakdowns(mapping).implode()
    by_site = mapping.filter(pl.col("breakdown").is_in(site_level))
    by_cell = mapping.filter(~pl.col("breakdown").is_in(site_level))
    parts = []
    if by_site.height:
        groups = by_site.select("site_id", "breakdown", "group").unique(maintain_order=True)
        sums = rows.group_by(*by, "site_id", maintain_order=True).agg(aggs)
        parts.append(sums.join(groups, on="site_id", maintain_order="left"))
    if by_cell.height or not parts:
        parts.append(
            rows.join(by_cell, on=["site_id", "role"], maintain_order="left")
            .group_by(*by, "breakdown", "group", "site_id", maintain_order=True)
            .agg(aggs)
        )
    keys = [*by, "breakdown", "group", "site_id"]
    return pl.concat(p.select(*keys, pl.exclude(keys)) for p in parts)


def one_per_unit(frame: pl.DataFrame, is_multi: pl.Expr) -> pl.DataFrame:
    """Rows with their first row per (variable, respondent_id) only, in row order per variable.

    A single-choice or Likert answer is one row already: only multiple choice (`is_multi`)
    needs the costly distinct; its rows follow the others' (variables never mix, so each
    variable's rows keep their order and every later sum adds the same terms in the same order).
    """
    many = frame.filter(is_multi)
    if not many.height:
        return frame
    return pl.concat([
        frame.filter(~is_multi), many.unique(["variable", "respondent_id"], maintain_order=True)
    ])


def _null_nan(columns: Sequence[str]) -> list[pl.Expr]:
    return [pl.col(c).fill_nan(None) for c in columns]


def cell_sums(units: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Count, Σw and Σw² of unit rows (with site_id, role, weight) per `by` and (site, role) cell."""
    return units.group_by(*by, "site_id", "role").agg(
        pl.len().alias("N"),
        pl.col("weight").sum().alias("W"),
        (pl.col("weight") ** 2).sum().alias("W2"),
    )


@dataclass(frozen=True, eq=False)
class GroupTotals:
    """What every proportion of a variable's breakdown group shares, whatever the code."""

    # variable, G_design: sites answering the variable (the design's clusters).
    design: pl.DataFrame
    # variable, breakdown, group, site_id, N, W, W2: units answering per group and site.
    by_site: pl.DataFrame
    # variable, breakdown, group, n, Wt, W2t, SW2, n_clusters: the same per group.
    groups: pl.DataFrame


def group_totals(denom: pl.DataFrame, mapping: pl.DataFrame) -> GroupTotals:
    """Units answering per breakdown group and site, and per group, from the cell sums `denom`.

    Computed once per table of cells and shared by every `proportions` call on them (codes and
    key codes alike).
    """
    keys = ["variable", "breakdown", "group"]
    # Group-by output order is arbitrary, and float sums depend on the order of their terms: the
    # small per-cell frames are sorted once, and every later join and group-by keeps that order,
    # so reruns give identical bits without sorting the (larger) per-group frames.
    # Domain (subpopulation) estimation keeps every site of the design: a group's variance uses
    # the factor G/(G-1) with G = all sites answering the variable, and sites without members of
    # the group contribute zero totals. A group found at one site still gets a standard error.
    design = denom.group_by("variable").agg(pl.col("site_id").n_unique().alias("G_design"))
    by_site = site_rollup(
        denom.sort("variable", "site_id", "role"), ["variable"], mapping,
        [pl.col("N").sum(), pl.col("W").sum(), pl.col("W2").sum()],
    )
    # Per group: units, Σw, Σw², clusters G and Σ_g W_g² over every cluster in the group.
    groups = by_site.group_by(keys, maintain_order=True).agg(
        pl.col("N").sum().alias("n"),
        pl.col("W").sum().alias("Wt"),
        pl.col("W2").sum().alias("W2t"),
        (pl.col("W") ** 2).sum().alias("SW2"),
        pl.len().alias("n_clusters"),
    )
    return GroupTotals(design, by_site, groups)


def proportions(
    denom: pl.DataFrame,
    numer: pl.DataFrame,
    codes: pl.DataFrame,
    mapping: pl.DataFrame,
    confidence: float = 0.95,
    t_intervals: bool = False,
    population_sites: int | None = None,
    totals: GroupTotals | None = None,
) -> pl.DataFrame:
    """Share choosing each code among units answering, per breakdown group, from cell sums.

    denom: variable, site_id, role, N, W, W2 (units answering, their Σw and Σw²);
    numer: variable, code, site_id, role, N, W (units choosing the code); codes: variable, code.
    ``totals``: `group_totals(denom, mapping)` when the caller already has it.
    """
    z = z_value(confidence)
    keys = ["variable", "breakdown", "group"]
    shared = totals if totals is not None else group_totals(denom, mapping)
    design, denom, groups = shared.design, shared.by_site, shared.groups
    numer = site_rollup(
        numer.sort("variable", "code", "site_id", "role"), ["variable", "code"], mapping,
        [pl.col("N").sum().alias("C"), pl.col("W").sum().alias("S")],
    )
    by = [*keys, "code"]
    # Only clusters where someone chose the code get a row: with thousands of small sites a
    # row per (site, code) would dwarf the data. Linearised cluster totals t_g = S_g - p W_g
    # (var = G/(G-1) Σ t_g² / W²) are summed over those clusters; every other cluster has
    # S_g = 0, so together they add p² Σ W_g², from the group's Σ W_g² less the chosen ones'.
    chosen = (
        numer.join(
            denom.select(*keys, "site_id", "W"), on=[*keys, "site_id"], maintain_order="left"
        )
        .join(groups.select(*keys, "Wt"), on=keys, maintain_order="left")
        .with_columns((pl.col("S").sum().over(by) / pl.col("Wt")).alias("p"))
        .group_by(by, maintain_order=True)
        .agg(
            pl.col("C").sum().alias("count"),
            pl.col("p").first(),
            ((pl.col("S") - pl.col("p") * pl.col("W")) ** 2).sum().alias("T2_chosen"),
            (pl.col("W") ** 2).sum().alias("SW2_chosen"),
            pl.len().alias("G_chosen"),
        )
    )
    out = (
        groups.join(codes.select("variable", "code"), on="variable", maintain_order="left")
        .join(chosen, on=by, how="left", maintain_order="left")
        .with_columns(
            pl.col("count").fill_null(0),
            pl.col("p").fill_null(0.0),
            pl.col("T2_chosen").fill_null(0.0),
            pl.col("SW2_chosen").fill_null(0.0),
            pl.col("G_chosen").fill_null(0),
        )
    )
    rest = (
        pl.when(pl.col("n_clusters") > pl.col("G_chosen"))
        .then((pl.col("SW2") - pl.col("SW2_chosen")).clip(0.0))
        .otherwise(0.0)
    )
    out = out.with_columns(
        pl.col("p").alias("weighted_proportion"),
        (pl.col("T2_chosen") + pl.col("p") ** 2 * rest).alias("T2"),
        pl.col("Wt").alias("W"),
        pl.col("W2t").alias("W2"),
    )
    out = out.join(design, on="variable", how="left", maintain_order="left")
    g = pl.col("G_design").cast(pl.Float64)
    n = pl.col("n").cast(pl.Float64)
    p = pl.col("weighted_proportion")
    crit, factor = design_factors(
        pl.col("G_design"), confidence, t_intervals, population_sites, design["G_design"]
    )
    se = pl.when(g > 1).then((factor * pl.col("T2")).sqrt() / pl.col("W"))
    lower, upper = wilson_exprs(pl.col("count").cast(pl.Float64), n, z)
    out = out.with_columns(
        (pl.col("count") / n).alias("proportion"),
        lower.alias("lower"),
        upper.alias("upper"),
        se.alias("weighted_se"),
    ).with_columns(
        (p - crit * pl.col("weighted_se")).clip(0.0, 1.0).alias("weighted_lower"),
        (p + crit * pl.col("weighted_se")).clip(0.0, 1.0).alias("weighted_upper"),
        pl.when(p * (1 - p) > 0)
        .then(pl.col("weighted_se") ** 2 / (p * (1 - p) / n))
        .alias("design_effect"),
        (pl.col("W") ** 2 / pl.col("W2")).alias("effective_n"),
    )
    # The statistics columns of ESTIMATE_COLUMNS, in their order, after the grouping keys.
    stats = ESTIMATE_COLUMNS[ESTIMATE_COLUMNS.index("n") :]
    return (
        out.select(*by, *stats)
        .with_columns(pl.col("n_clusters").cast(pl.Int64))
        .with_columns(_null_nan(["proportion", "weighted_proportion", "weighted_se", "design_effect"]))
    )


def with_design(frame: pl.DataFrame, respondents: pl.DataFrame) -> pl.DataFrame:
    """Rows keyed by respondent_id with their site, role and weight (joined unless carried)."""
    if {"site_id", "role", "weight"} <= set(frame.columns):
        return frame
    resp = respondents.select("respondent_id", "site_id", "role", "weight")
    return frame.join(resp, on="respondent_id", maintain_order="left")


def key_code_table(variables: Mapping[str, Variable]) -> pl.DataFrame:
    """One row per key code (`member`) of each variable, with the combined key code and label."""
    rows = [
        (
            key,
            var.type,
            code,
            ",".join(var.key_codes),
            "key: " + " / ".join(var.labels[c] for c in var.key_codes),
            i,
        )
        for i, (key, var) in enumerate(variables.items())
        if var.type in CATEGORICAL and var.key_codes
        for code in var.key_codes
    ]
    return pl.DataFrame(
        rows,
        schema={
            "variable": pl.String,
            "type": pl.String,
            "member": pl.String,
            "code": pl.String,
            "label": pl.String,
            "variable_order": pl.Int64,
        },
        orient="row",
    )


ESTIMATE_COLUMNS = [
    "wave",
    "variable",
    "type",
    "kind",
    "code",
    "label",
    "breakdown",
    "group",
    "n",
    "count",
    "proportion",
    "lower",
    "upper",
    "weighted_proportion",
    "weighted_se",
    "weighted_lower",
    "weighted_upper",
    "design_effect",
    "effective_n",
    "n_clusters",
]
ESTIMATE_SCHEMA: dict[str, pl.DataType] = {
    c: pl.Int64() if c in ("n", "count", "n_clusters") else pl.String() if i < 8 else pl.Float64()
    for i, c in enumerate(ESTIMATE_COLUMNS)
}


def estimate_table(
    answers: pl.DataFrame,
    respondents: pl.DataFrame,
    mapping: pl.DataFrame,
    variables: Mapping[str, Variable],
    breakdowns: Sequence[str],
    wave: str,
    confidence: float = 0.95,
    t_intervals: bool = False,
    population_sites: int | None = None,
) -> pl.DataFrame:
    """Proportions of every code (and of the key codes together) of the categorical variables.

    ``t_intervals`` and ``population_sites`` (finite-population correction): `design_factors`.
    """
    given = with_design(
        answers.filter(pl.col("type").is_in(list(CATEGORICAL)) & ~pl.col("missing")), respondents
    ).select("variable", "code", "respondent_id", "site_id", "role", "weight")
    codes = code_table(variables).with_columns(pl.lit("code").alias("kind"))
    keys = key_code_table(variables)
    # The cell frames are keyed by key codes instead of texts (see encode_keys); the estimates
    # are decoded back to texts as they come out of `proportions`.
    dictionaries = {
        "variable": ordered_dictionary(given["variable"], pl.Series(list(variables), dtype=pl.String)),
        "code": ordered_dictionary(given["code"], codes["code"], keys["code"], keys["member"]),
        "site_id": ordered_dictionary(given["site_id"], mapping["site_id"]),
        "role": ordered_dictionary(given["role"], mapping["role"]),
        "breakdown": ordered_dictionary(mapping["breakdown"]),
        "group": ordered_dictionary(mapping["group"]),
    }
    given = encode_keys(given, dictionaries)
    cell_mapping = encode_keys(mapping, dictionaries)
    chosen = cell_sums(given, ["variable", "code"]).sort("variable", "code", "site_id", "role")
    # A single-choice or Likert answer is one code per unit, so its units are the chosen rows;
    # multiple choice needs the distinct respondents who chose anything.
    multi = encode_keys(
        pl.DataFrame(
            {"variable": [k for k, v in variables.items() if v.type == "multiple_choice"]},
            schema={"variable": pl.String},
        ),
        dictionaries,
    )["variable"]
    single = (
        chosen.filter(~pl.col("variable").is_in(multi.implode()))
        .group_by("variable", "site_id", "role")
        .agg(pl.col("N", "W", "W2").sum())
    )
    several = cell_sums(
        given.filter(pl.col("variable").is_in(multi.implode())).unique(
            ["variable", "respondent_id"], maintain_order=True
        ),
        ["variable"],
    )
    units = pl.concat([single, several])
    key_chosen = cell_sums(
        given.join(
            encode_keys(
                keys.select(
                    "variable", pl.col("member").alias("code"), pl.col("code").alias("key")
                ),
                {**dictionaries, "key": dictionaries["code"]},
            ),
            on=["variable", "code"],
            maintain_order="left",
        )
        .pipe(one_per_unit, pl.col("variable").is_in(multi.implode()))
        .with_columns(pl.col("key").alias("code")),
        ["variable", "code"],
    )
    key_codes = (
        keys.select("variable", "type", "code", "label", "variable_order")
        .unique(subset="variable")
        .with_columns(
            pl.lit("key").alias("kind"), pl.lit(10**6, dtype=pl.Int64).alias("code_order")
        )
    )
    totals = group_totals(units, cell_mapping)
    parts = []
    for kind, table, picks in (("code", codes, chosen), ("key", key_codes, key_chosen)):
        if table.height == 0:
            continue
        est = decode_keys(
            proportions(
                units, picks, encode_keys(table.select("variable", "code"), dictionaries),
                cell_mapping, confidence, t_intervals, population_sites, totals,
            ),
            dictionaries,
        )
        # Every code appears for the whole sample, even of an item nobody answered (n = 0).
        base = table.select("variable", "code").with_columns(
            pl.lit(ALL).alias("breakdown"), pl.lit(ALL).alias("group")
        )
        est = base.join(
            est, on=["variable", "code", "breakdown", "group"], how="full", coalesce=True
        )
        est = est.with_columns(
            pl.col("n").fill_null(0),
            pl.col("count").fill_null(0),
            pl.col("n_clusters").fill_null(0),
        )
        parts.append(
            est.join(
                table.select("variable", "type", "code", "label", "variable_order", "code_order"),
                on=["variable", "code"],
            ).with_columns(pl.lit(kind).alias("kind"))
        )
    if not parts:
        return pl.DataFrame(schema=ESTIMATE_SCHEMA)
    order = {b: i for i, b in enumerate([ALL, *breakdowns])}
    return (
        pl.concat(parts, how="diagonal_relaxed")
        .with_columns(
            pl.lit(wave).alias("wave"),
            pl.col("breakdown").replace_strict(order, return_dtype=pl.Int64).alias("_b"),
        )
        .sort("variable_order", "kind", "code_order", "_b", "group")
        .select(ESTIMATE_COLUMNS)
    )


MEAN_COLUMNS = [
    "wave",
    "variable",
    "type",
    "breakdown",
    "group",
    "n",
    "mean",
    "sd",
    "se",
    "lower",
    "upper",
    "weighted_mean",
    "weighted_se",
    "weighted_lower",
    "weighted_upper",
    "design_effect",
    "n_clusters",
]


def mean_table(
    answers: pl.DataFrame,
    respondents: pl.DataFrame,
    mapping: pl.DataFrame,
    variables: Mapping[str, Variable],
    breakdowns: Sequence[str],
    wave: str,
    confidence: float = 0.95,
    t_intervals: bool = False,
    population_sites: int | None = None,
) -> pl.DataFrame:
    """Means of Likert scores and numeric answers: unweighted (normal interval) and weighted."""
    z = z_value(confidence)
    scored = [k for k, v in variables.items() if v.type in ("likert", "numeric")]
    units = with_design(
        answers.filter(pl.col("variable").is_in(scored) & pl.col("value").is_not_null()),
        respondents,
    ).select("variable", "respondent_id", "value", "site_id", "role", "weight")
    # Cells keyed by key codes (see encode_keys), decoded once the per-group sums are made.
    dictionaries = {
        "variable": ordered_dictionary(units["variable"]),
        "site_id": ordered_dictionary(units["site_id"], mapping["site_id"]),
        "role": ordered_dictionary(units["role"], mapping["role"]),
        "breakdown": ordered_dictionary(mapping["breakdown"]),
        "group": ordered_dictionary(mapping["group"]),
    }
    units = encode_keys(units, dictionaries)
    # Centre on each variable's overall mean before summing squares: no cancellation in the sums.
    units = units.with_columns(
        (pl.col("value") - pl.col("value").mean().over("variable")).alias("d")
    )
    keys = ["variable", "breakdown", "group"]
    # Subpopulation variance, as for proportions: G counts every site answering the variable.
    design = units.group_by("variable").agg(pl.col("site_id").n_unique().alias("G_design"))
    w, d = pl.col("weight"), pl.col("d")
    cells = (
        units.group_by("variable", "site_id", "role")
        .agg(
            pl.len().alias("N"),
            w.sum().alias("W"),
            (w * d).sum().alias("WD"),
            (w * d * d).sum().alias("WD2"),
            d.sum().alias("D"),
            (d * d).sum().alias("D2"),
            pl.col("value").sub(d).first().alias("c"),
        )
        .sort("variable", "site_id", "role")
    )
    cells = site_rollup(
        cells, ["variable"], encode_keys(mapping, dictionaries),
        [pl.col("N", "W", "WD", "WD2", "D", "D2").sum(), pl.col("c").first()],
    )
    cells = cells.with_columns(
        (pl.col("WD").sum().over(keys) / pl.col("W").sum().over(keys)).alias("md")
    )
    out = cells.group_by(keys).agg(
        pl.col("N").sum().alias("n"),
        pl.col("W").sum(),
        pl.col("WD").sum(),
        pl.col("WD2").sum(),
        pl.col("D").sum(),
        pl.col("D2").sum(),
        pl.col("c").first(),
        pl.col("md").first(),
        ((pl.col("WD") - pl.col("md") * pl.col("W")) ** 2).sum().alias("T2"),
        pl.len().alias("n_clusters"),
    )
    design = decode_keys(design, dictionaries)
    out = decode_keys(out, dictionaries).join(design, on="variable", how="left", maintain_order="left")
    n = pl.col("n").cast(pl.Float64)
    g = pl.col("G_design").cast(pl.Float64)
    md = pl.col("md")
    var_u = pl.when(n > 1).then((pl.col("D2") - pl.col("D") ** 2 / n) / (n - 1))
    crit, factor = design_factors(
        pl.col("G_design"), confidence, t_intervals, population_sites, design["G_design"]
    )
    se_w = pl.when(g > 1).then((factor * pl.col("T2")).sqrt() / pl.col("W"))
    element = (pl.col("WD2") - 2 * md * pl.col("WD") + md * md * pl.col("W")) / pl.col("W")
    out = (
        out.with_columns(
            (pl.col("c") + pl.col("D") / n).alias("mean"),
            var_u.clip(0.0).sqrt().alias("sd"),
            (pl.col("c") + md).alias("weighted_mean"),
            se_w.alias("weighted_se"),
            element.alias("_element"),
        )
        .with_columns(
            (pl.col("sd") / n.sqrt()).alias("se"),
        )
        .with_columns(
            (pl.col("mean") - z * pl.col("se")).alias("lower"),
            (pl.col("mean") + z * pl.col("se")).alias("upper"),
            (pl.col("weighted_mean") - crit * pl.col("weighted_se")).alias("weighted_lower"),
            (pl.col("weighted_mean") + crit * pl.col("weighted_se")).alias("weighted_upper"),
            pl.when(pl.col("_element") > 1e-12 * (1 + pl.col("c").abs()) ** 2)
            .then(pl.col("weighted_se") ** 2 / (pl.col("_element") / n))
            .alias("design_effect"),
        )
    )
    types = {k: variables[k].type for k in scored}
    order = {k: i for i, k in enumerate(scored)}
    b_order = {b: i for i, b in enumerate([ALL, *breakdowns])}
    base = pl.DataFrame({"variable": scored}, schema={"variable": pl.String}).with_columns(
        pl.lit(ALL).alias("breakdown"), pl.lit(ALL).alias("group")
    )
    out = base.join(out, on=keys, how="full", coalesce=True).with_columns(
        pl.col("n").fill_null(0), pl.col("n_clusters").fill_null(0).cast(pl.Int64)
    )
    return (
        out.with_columns(
            pl.lit(wave).alias("wave"),
            pl.col("variable").replace_strict(types, return_dtype=pl.String).alias("type"),
            pl.col("variable").replace_strict(order, return_dtype=pl.Int64).alias("_v"),
            pl.col("breakdown").replace_strict(b_order, return_dtype=pl.Int64).alias("_b"),
        )
        .sort("_v", "_b", "group")
        .select(MEAN_COLUMNS)
        .with_columns(_null_nan(MEAN_COLUMNS[6:16]))
    )
