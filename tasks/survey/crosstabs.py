"""Tests of independence between each categorical variable (and its key codes) and each breakdown.

Two tests sit side by side: the classic one on the respondents' counts (Pearson chi-square, or
Fisher when expected counts are small) and the design-based second-order Rao–Scott F test on the
weighted table with sites as clusters (tasks.survey.inference). Each carries its
Benjamini–Hochberg q-value within its family: every test of the wave's table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import polars as pl

from schemas.study_config import Variable
from tasks.frames import as_matrix
from tasks.survey.estimates import (
    ALL,
    encode_keys,
    key_code_table,
    one_per_unit,
    ordered_dictionary,
    site_rollup,
    with_design,
)
from tasks.survey.inference import (
    UNTESTABLE,
    RaoScottTest,
    bh_q_values,
    monte_carlo_se,
    rao_scott_test,
)
from tasks.survey.instrument import CATEGORICAL
from tasks.survey.stats import FISHER_RESAMPLES, AssociationTest, chi_square_test

ASSOCIATION_SCHEMA: dict[str, pl.DataType] = {
    "wave": pl.String(),
    "variable": pl.String(),
    "type": pl.String(),
    "kind": pl.String(),
    "code": pl.String(),
    "breakdown": pl.String(),
    "method": pl.String(),
    "n": pl.Int64(),
    "statistic": pl.Float64(),
    "dof": pl.Int64(),
    "p_value": pl.Float64(),
    "monte_carlo_se": pl.Float64(),
    "q_value": pl.Float64(),
    "cramers_v": pl.Float64(),
    "min_expected": pl.Float64(),
    "small_expected": pl.Boolean(),
    "rs_f": pl.Float64(),
    "rs_df_num": pl.Float64(),
    "rs_df_den": pl.Float64(),
    "rs_p_value": pl.Float64(),
    "rs_q_value": pl.Float64(),
    "rs_mean_deff": pl.Float64(),
    "n_clusters": pl.Int64(),
}
_CHOSEN, _NOT_CHOSEN = "chosen", "not chosen"


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


def _row(
    wave: str,
    variable: str,
    vtype: str,
    kind: str,
    code: str | None,
    breakdown: str,
    test: AssociationTest,
    design: RaoScottTest | None,
) -> dict[str, object]:
    mc = (
        monte_carlo_se(test.p_value, FISHER_RESAMPLES)
        if test.method == "fisher_monte_carlo"
        else float("nan")
    )
    rs = design if design is not None else UNTESTABLE
    return {
        "wave": wave,
        "variable": variable,
        "type": vtype,
        "kind": kind,
        "code": code,
        "breakdown": breakdown,
        "method": test.method,
        "n": test.n,
        "statistic": _clean(test.statistic),
        "dof": test.dof,
        "p_value": _clean(test.p_value),
        "monte_carlo_se": _clean(mc),
        "cramers_v": _clean(test.cramers_v),
        "min_expected": _clean(test.min_expected),
        "small_expected": test.small_expected,
        "rs_f": _clean(rs.statistic),
        "rs_df_num": _clean(rs.df_num),
        "rs_df_den": _clean(rs.df_den),
        "rs_p_value": _clean(rs.p_value),
        "rs_mean_deff": _clean(rs.mean_deff),
        "n_clusters": rs.clusters,
    }


def site_sums(
    answers: pl.DataFrame,
    respondents: pl.DataFrame,
    mapping: pl.DataFrame,
    variables: Mapping[str, Variable],
) -> pl.DataFrame:
    """Σ weight and respondents per (variable, kind, code, breakdown, group, site).

    Single choice and Likert: one row per code chosen. Multiple choice and key codes: the
    "chosen" and "not chosen" columns of each code's (or the key codes') two-column table.
    ``site_id``, ``group`` and ``column`` come as key codes (`encode_keys`, in the order of their
    texts): they only place a row in its test's table, and the per-site rows outnumber the
    answers several times over.
    """
    given = with_design(
        answers.filter(pl.col("type").is_in(list(CATEGORICAL)) & ~pl.col("missing")), respondents
    ).select("variable", "code", "respondent_id", "site_id", "role", "weight")
    places = {
        "site_id": ordered_dictionary(given["site_id"], mapping["site_id"]),
        "group": ordered_dictionary(mapping["group"]),
    }
    given, mapping = encode_keys(given, places), encode_keys(mapping, places)
    multi = [k for k, v in variables.items() if v.type == "multiple_choice"]
    is_multi = pl.col("variable").is_in(multi)
    units = one_per_unit(given, is_multi).drop("respondent_id")
    keys = key_code_table(variables).select(
        "variable", pl.col("member").alias("code"), pl.col("code").alias("key")
    )
    key_chosen = one_per_unit(
        given.join(keys, on=["variable", "code"], maintain_order="left")
        .with_columns(pl.col("key").alias("code"))
        .drop("key"),
        is_multi,
    ).drop("respondent_id")
    given = given.drop("respondent_id")

    def per_site(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
        return site_rollup(
            frame, by, mapping, [pl.col("weight").sum().alias("W"), pl.len().alias("N")]
        )

    base = per_site(units, ["variable"])
    single = per_site(given.filter(~pl.col("variable").is_in(multi)), ["variable", "code"])
    parts = [single.select("variable", pl.lit("code").alias("kind"), "code",
                           pl.col("code").alias("column"), "breakdown", "group", "site_id", "W", "N")]
    for kind, chosen in (
        ("code", given.filter(pl.col("variable").is_in(multi))),
        ("key", key_chosen),
    ):
        yes = per_site(chosen, ["variable", "code"])
        # Every answering respondent of a (variable, code) table's groups and sites.
        everyone = yes.select("variable", "code").unique().join(base, on="variable")
        both = everyone.join(
            yes, on=["variable", "code", "breakdown", "group", "site_id"], how="left", suffix="_c"
        ).with_columns(pl.col("W_c").fill_null(0.0), pl.col("N_c").fill_null(0))
        parts.append(both.select(
            "variable", pl.lit(kind).alias("kind"), "code", pl.lit(_CHOSEN).alias("column"),
            "breakdown", "group", "site_id", pl.col("W_c").alias("W"), pl.col("N_c").alias("N"),
        ))
        parts.append(both.select(
            "variable", pl.lit(kind).alias("kind"), "code", pl.lit(_NOT_CHOSEN).alias("column"),
            "breakdown", "group", "site_id", (pl.col("W") - pl.col("W_c")).alias("W"),
            (pl.col("N") - pl.col("N_c")).alias("N"),
        ))
    # The columns' texts (codes, "chosen", "not chosen") as key codes, part by part.
    columns = ordered_dictionary(single["code"], pl.Series([_CHOSEN, _NOT_CHOSEN]))
    return pl.concat(encode_keys(part, {"column": columns}) for part in parts)


def _positions(values: pl.Series) -> tuple[list[str] | list[int], npt.NDArray[np.int64]]:
    """The sorted distinct values of a column and each row's position among them."""
    if values.dtype.is_integer():
        # Key codes (encode_keys) sort as their texts do.
        codes, inverse = np.unique(values.to_numpy(), return_inverse=True)
        return codes.tolist(), inverse.astype(np.int64)
    distinct = sorted(values.unique().to_list())
    positions = values.replace_strict(distinct, list(range(len(distinct))), return_dtype=pl.Int64)
    return distinct, positions.to_numpy()


def _design_test(sums: pl.DataFrame, population_sites: int | None) -> RaoScottTest:
    """The Rao–Scott test of one table from its per-site sums (site × group × column)."""
    sites, s = _positions(sums["site_id"])
    groups, g = _positions(sums["group"])
    columns, c = _positions(sums["column"])
    tables = np.zeros((len(sites), len(groups), len(columns)))
    # Unbuffered and in row order: the same sums as adding the rows one by one.
    np.add.at(tables, (s, g, c), sums["W"].to_numpy())
    # With a finite-population correction every site was drawn with fraction g/N.
    fraction = None if not population_sites else np.full(len(sites), len(sites) / population_sites)
    return rao_scott_test(tables, int(sums["N"].sum()), sampling_fraction=fraction)


def association_table(
    estimates: pl.DataFrame,
    wave: str,
    sums: pl.DataFrame | None = None,
    population_sites: int | None = None,
) -> pl.DataFrame:
    """Chi-square (Fisher when expected counts are small) and Cramér's V from the estimates' counts.

    Single choice and Likert: groups × codes. Multiple choice (codes are not exclusive): one
    groups × (chosen, not chosen) table per code. Key codes (kind "key"): groups × (any key
    code chosen, none). With ``sums`` (from `site_sums`), each test also gets the design-based
    Rao–Scott F test (with a finite-population correction over ``population_sites`` when
    given); q-values are Benjamini–Hochberg over every test of the table.
    """
    cells = estimates.filter(pl.col("breakdown") != ALL)
    if sums is not None:
        # Each test places its rows by site, group and column: as key codes (`site_sums` gives
        # them so), encoded here once for all tests when given as texts.
        texts = [c for c in ("site_id", "group", "column") if sums[c].dtype == pl.String]
        sums = encode_keys(sums, {c: ordered_dictionary(sums[c]) for c in texts})
    by_table: dict[tuple[object, ...], pl.DataFrame] = {}
    single_sums: dict[tuple[object, ...], pl.DataFrame] = {}
    if sums is not None:
        # A single-choice or Likert variable is tested as one table of all its codes, every
        # other (multiple-choice code, key codes) as a table of its own: each row of the sums
        # goes to the one test that reads it. A test reads only where its rows go (site, group,
        # column) and the sums: the parts leave out the texts that name the test (at national
        # scale, the parts with them took 4 GiB for 1.4 GiB of sums).
        multi = cells.filter(pl.col("type") == "multiple_choice")["variable"].unique()
        whole = (pl.col("kind") == "code") & ~pl.col("variable").is_in(multi.implode())
        needed = ["site_id", "group", "column", "W", "N"]
        table_keys = ["variable", "kind", "code", "breakdown"]
        by_table = sums.filter(~whole).select(*table_keys, *needed).partition_by(
            table_keys, as_dict=True, include_key=False
        )
        single_sums = sums.filter(whole).select("variable", "breakdown", *needed).partition_by(
            ["variable", "breakdown"], as_dict=True, include_key=False
        )
    rows: list[dict[str, object]] = []
    # One test per (variable, breakdown): a handful of small tables, not a loop over respondents.
    for (variable, kind, breakdown), part in cells.partition_by(
        ["variable", "kind", "breakdown"], as_dict=True, maintain_order=True
    ).items():
        vtype = part["type"][0]
        if vtype == "multiple_choice" or kind == "key":
            for (code,), sub in part.partition_by(
                ["code"], as_dict=True, maintain_order=True
            ).items():
                sub = sub.sort("group")
                count = sub["count"].to_numpy()
                table = np.column_stack([count, sub["n"].to_numpy() - count])
                own = by_table.get((variable, kind, code, breakdown))
                rows.append(
                    _row(wave, str(variable), vtype, str(kind), str(code), str(breakdown),
                         chi_square_test(table), None if own is None else _design_test(own, population_sites))
                )
        else:
            wide = part.pivot(
                on="code", index="group", values="count", aggregate_function="sum"
            ).sort("group")
            table = as_matrix(wide.drop("group").fill_null(0))
            own = single_sums.get((variable, breakdown))
            rows.append(
                _row(wave, str(variable), vtype, "code", None, str(breakdown),
                     chi_square_test(table), None if own is None else _design_test(own, population_sites))
            )
    out = pl.DataFrame(
        rows, schema={k: v for k, v in ASSOCIATION_SCHEMA.items() if "q_value" not in k}
    )
    q = bh_q_values(out["p_value"].cast(pl.Float64).fill_null(float("nan")).to_numpy())
    rs_q = bh_q_values(out["rs_p_value"].cast(pl.Float64).fill_null(float("nan")).to_numpy())
    return out.with_columns(
        pl.Series("q_value", q).fill_nan(None), pl.Series("rs_q_value", rs_q).fill_nan(None)
    ).select(list(ASSOCIATION_SCHEMA))
